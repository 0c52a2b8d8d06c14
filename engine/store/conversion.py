"""Carrying values over a type change, row by row, through the field types.

Used twice: when a schema change is planned (to count, before anything runs,
the rows that cannot be converted) and when it is applied (to convert them).
The database never converts a value itself: the new field type does, from
the value the old type reads, so text ``"12.5"`` becomes ``Decimal("12.5")``
exactly as an import would make it.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from engine.core.i18n import Label
from engine.definitions.model import FieldDef
from engine.fields.base import ConversionError, FieldType, FieldValueError

BATCH_SIZE = 1000


@dataclass(frozen=True)
class RowFailure:
    """A row whose value cannot become a value of the new type, and why."""

    id: int
    value: Any  # the stored column values, JSON-ready
    reason: Label


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
        name, sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True),
        *(sa.Column(c.name, c.type) for c in columns),
    )


def rows_of(
    connection: sa.Connection, table: str, columns: list[sa.Column[Any]]
) -> Iterator[list[Mapping[str, Any]]]:
    """The ``id`` and ``columns`` of every row of ``table``, in batches by id."""
    source = reading_table(table, columns)
    last = 0
    while True:
        query = (
            sa.select(source).where(source.c.id > last).order_by(source.c.id).limit(BATCH_SIZE)
        )
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
) -> dict[str, Any]:
    """The new stored columns for one row; ``ConversionError`` when it cannot be."""
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
    return stored


def find_unconvertible(
    connection: sa.Connection,
    table: str,
    source: tuple[FieldType, FieldDef],
    target: tuple[FieldType, FieldDef],
) -> list[RowFailure]:
    """Every row of ``table`` whose value of ``source`` cannot become a value of ``target``."""
    old_type, old_field = source
    new_type, new_field = target
    old_columns = old_type.columns(old_field)
    new_columns = new_type.columns(new_field)
    failures: list[RowFailure] = []
    for batch in rows_of(connection, table, old_columns):
        for row in batch:
            try:
                convert_row(row, source, (new_type, new_field, new_columns))
            except ConversionError as exc:
                stored = {str(c.name): json_ready(row[str(c.name)]) for c in old_columns}
                failures.append(RowFailure(int(row["id"]), stored, exc.message))
    return failures
