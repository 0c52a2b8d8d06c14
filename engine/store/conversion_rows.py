"""Converting stored rows through the field types, one value at a time.

The row-level half of a type change (the step itself, ``ConvertField``, is
in ``conversion``): reading a table in batches, converting one row's value
with the new field type, and examining every row before anything runs —
which rows cannot be converted, which would change on the way (a number
rounded to fewer decimals, a date-time cut to its day), and whether the
converted values of a unique field would collide.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from engine.core.i18n import Label
from engine.definitions.model import FieldDef
from engine.fields.base import ConversionError, FieldType, FieldValueError

BATCH_SIZE = 1000


@dataclass(frozen=True)
class RowFailure:
    """A row whose value cannot become a value of the new type (or would
    change on the way: ``to`` then holds the new stored columns), and why."""

    id: int
    value: Any  # the stored column values, JSON-ready
    reason: Label
    to: Any = None


@dataclass
class Examination:
    """What converting every row would do: the rows it cannot convert, the
    rows whose value it would change, and (for a unique field) how many
    converted values more than one row would hold."""

    failures: list[RowFailure] = field(default_factory=list)
    changed: list[RowFailure] = field(default_factory=list)
    collisions: int = 0


def json_ready(value: Any) -> Any:
    """A stored value as JSON can hold it (for backups and plan records)."""
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, Mapping):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    return value


def reading_table(name: str, columns: list[sa.Column[Any]]) -> sa.Table:
    """A throwaway Core table with the columns to read or write (typed, so
    values come back as the field type expects them)."""
    return sa.Table(
        name,
        sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True),
        *(sa.Column(c.name, c.type) for c in columns),
    )


def rows_of(
    connection: sa.Connection, table: str, columns: list[sa.Column[Any]]
) -> Iterator[list[Mapping[str, Any]]]:
    """The ``id`` and ``columns`` of every row of ``table``, in batches by id."""
    source = reading_table(table, columns)
    last = 0
    while True:
        query = sa.select(source).where(source.c.id > last).order_by(source.c.id).limit(BATCH_SIZE)
        batch: list[Mapping[str, Any]] = [dict(row._mapping) for row in connection.execute(query)]
        if not batch:
            return
        yield batch
        last = int(batch[-1]["id"])


def fits(column: sa.Column[Any], stored: Any) -> bool:
    """Whether a stored value fits the column (a text within its length)."""
    length = getattr(column.type, "length", None)
    return not (isinstance(stored, str) and isinstance(length, int) and len(stored) > length)


def convert_row(
    row: Mapping[str, Any],
    source: tuple[FieldType, FieldDef],
    target: tuple[FieldType, FieldDef, list[sa.Column[Any]]],
) -> tuple[dict[str, Any], Label | None]:
    """The new stored columns for one row, and what the conversion loses of
    its value (``None``: nothing); ``ConversionError`` when it cannot be."""
    old_type, old_field = source
    new_type, new_field, new_columns = target
    value = old_type.from_db(old_field, row)
    try:
        converted = new_type.convert(new_field, value, old_type, old_field)
    except ConversionError:
        raise
    except (FieldValueError, ValueError, TypeError, ArithmeticError) as exc:
        raise ConversionError(Label(f"无法转换：{exc}", f"cannot be converted: {exc}")) from None
    stored = new_type.to_db(new_field, converted)
    for column in new_columns:
        if not fits(column, stored.get(str(column.name))):
            raise ConversionError(
                Label(
                    f"超出新的长度限制 {getattr(column.type, 'length', '')}",
                    f"longer than the new limit of {getattr(column.type, 'length', '')}",
                )
            )
    loss = new_type.conversion_loss(new_field, converted, value, old_type, old_field)
    return stored, loss


def stored_values(row: Mapping[str, Any], columns: list[sa.Column[Any]]) -> dict[str, Any]:
    """A row's values of ``columns``, JSON-ready (what a backup keeps)."""
    return {str(c.name): json_ready(row[str(c.name)]) for c in columns}


def examine_rows(
    connection: sa.Connection,
    table: str,
    source: tuple[FieldType, FieldDef],
    target: tuple[FieldType, FieldDef],
) -> Examination:
    """Convert every row of ``table`` from ``source`` to ``target`` without
    writing anything, and say what that would do (see ``Examination``)."""
    old_type, old_field = source
    new_type, new_field = target
    old_columns = old_type.columns(old_field)
    new_columns = new_type.columns(new_field)
    found = Examination()
    # A unique field's converted values, to find those rounding makes collide.
    seen: set[Any] = set()
    for batch in rows_of(connection, table, old_columns):
        for row in batch:
            try:
                stored, loss = convert_row(row, source, (new_type, new_field, new_columns))
            except ConversionError as exc:
                found.failures.append(
                    RowFailure(int(row["id"]), stored_values(row, old_columns), exc.message)
                )
                continue
            if loss is not None:
                found.changed.append(
                    RowFailure(
                        int(row["id"]), stored_values(row, old_columns), loss, json_ready(stored)
                    )
                )
            key = stored.get(new_field.key)
            if new_field.unique and key is not None:
                if key in seen:
                    found.collisions += 1
                seen.add(key)
    return found
