"""Carrying values over a type change, row by row, through the field types.

Used twice: when a schema change is planned (to count, before anything runs,
the rows that cannot be converted) and when it is applied (to convert them).
The database never converts a value itself: the new field type does, from
the value the old type reads, so text ``"12.5"`` becomes ``Decimal("12.5")``
exactly as an import would make it. ``ConvertField`` is the schema-change
step that does it.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import sqlalchemy as sa

from engine.core.errors import ConflictError
from engine.core.i18n import Label, Message
from engine.definitions.model import FieldDef
from engine.fields.base import ConversionError, FieldType, FieldValueError
from engine.store.database import identifier
from engine.store.row_ids import TABLE_OPTIONS, rebuilding
from engine.store.schema_steps import Runner, Step, field_to_dict, named

BATCH_SIZE = 1000
# How many failing row ids a plan sentence names before "...".
IDS_SHOWN = 10
# How many failing rows a plan record keeps (the count is always complete).
FAILURES_KEPT = 1000


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


@dataclass(kw_only=True)
class ConvertField(Step):
    """A type change (or a settings change that changes the column, such as a
    shorter ``max_length``): the values are converted row by row by the new
    field type into new columns, which then replace the old ones.

    ``current`` is the field as the table holds it when the step runs (after
    any rename); ``source`` and ``source_table`` are as it was when planned,
    for counting. ``failures`` is what the count found (``None``: not counted).
    """

    kind: ClassVar[str] = "convert_field"
    current: FieldDef
    target: FieldDef
    source: FieldDef
    source_table: str
    labels: tuple[Label, Label]
    reason: str = "type"  # "type" or "settings"
    foreign_key: tuple[str, str] | None = None  # (target table, ON DELETE)
    failures: list[RowFailure] | None = None

    def describe(self, locale: str = "en") -> str:
        old_type, new_type = (lbl.text(locale) for lbl in self.labels)
        if self.reason == "type":
            head = Message(
                "字段{field}的类型由「{old}」改为「{new}」，逐行转换",
                "Change field {field} from {old} to {new}, converting row by row",
            )
        else:
            head = Message(
                "字段{field}的设置改变了列定义，逐行转换",
                "Field {field}: its settings change the column, converting row by row",
            )
        text = head.format(field=named(self.target, locale), old=old_type, new=new_type).text(
            locale
        )
        return f"{text}{self.count_sentence(locale)}"

    def count_sentence(self, locale: str) -> str:
        if self.failures is None:
            return (
                Message("（未检查现有数据）", " (existing rows not checked)").format().text(locale)
            )
        if not self.failures:
            return Message("；所有行都能转换", "; every row converts").format().text(locale)
        ids = ", ".join(str(f.id) for f in self.failures[:IDS_SHOWN])
        if len(self.failures) > IDS_SHOWN:
            ids += ", ..."
        rows = "1 row" if len(self.failures) == 1 else f"{len(self.failures)} rows"
        return (
            Message(
                "；{n} 行无法转换（id：{ids}），除非确认将其置空（原值会备份），否则拒绝发布",
                "; {rows} cannot be converted (id {ids}): publishing is refused unless "
                "they may be emptied (their values are backed up)",
            )
            .format(n=len(self.failures), rows=rows, ids=ids)
            .text(locale)
        )

    def apply(self, run: Runner) -> None:
        old_type = run.field_types.get(self.current.type)
        new_type = run.field_types.get(self.target.type)
        old_columns = old_type.columns(self.current)
        new_columns = new_type.columns(self.target)
        temp = {str(c.name): identifier(str(c.name), prefix="_qq_new") for c in new_columns}
        for column in new_columns:
            run.operations.add_column(
                self.table, sa.Column(temp[str(column.name)], column.type, nullable=True)
            )
        writer = reading_table(
            self.table, [sa.Column(temp[str(c.name)], c.type) for c in new_columns]
        )
        update = (
            sa.update(writer)
            .where(writer.c.id == sa.bindparam("row_id"))
            .values({name: sa.bindparam(f"v_{name}") for name in temp.values()})
        )
        failures: list[RowFailure] = []
        for batch in rows_of(run.connection, self.table, old_columns):
            values = []
            for row in batch:
                try:
                    stored = convert_row(
                        row, (old_type, self.current), (new_type, self.target, new_columns)
                    )
                except ConversionError as exc:
                    original = {str(c.name): json_ready(row[str(c.name)]) for c in old_columns}
                    failures.append(RowFailure(int(row["id"]), original, exc.message))
                    stored = {}
                values.append(
                    {"row_id": row["id"], **{f"v_{temp[k]}": stored.get(k) for k in temp}}
                )
            run.connection.execute(update, values)
        if failures:
            self.refuse_or_back_up(run, failures)
        # One rebuild on SQLite (plain ALTERs on PostgreSQL). The foreign key is
        # declared between the drop and the rename: after the rename alembic's
        # batch would lose it, before the drop its name would still be taken.
        with rebuilding(run.connection, self.table), run.operations.batch_alter_table(
                self.table, table_kwargs=TABLE_OPTIONS) as batch_op:
            for column in old_columns:
                batch_op.drop_column(str(column.name))
            for name, target, remote, ondelete in self.foreign_keys(new_columns):
                batch_op.create_foreign_key(
                    identifier(self.table, name, prefix="fk"),
                    target,
                    [temp[name]],
                    [remote],
                    ondelete=ondelete,
                )
            for name, temporary in temp.items():
                batch_op.alter_column(temporary, new_column_name=name)

    def foreign_keys(self, columns: list[sa.Column[Any]]) -> list[tuple[str, str, str, str | None]]:
        """(column, target table, target column, ON DELETE) of each foreign key
        the new columns need: a relation's, and those the field type declares."""
        keys: list[tuple[str, str, str, str | None]] = []
        if self.foreign_key is not None:
            keys.append((self.target.key, self.foreign_key[0], "id", self.foreign_key[1]))
        for column in columns:
            for key in column.foreign_keys:
                target, remote = key.target_fullname.rsplit(".", 1)
                keys.append((str(column.name), target, remote, key.ondelete))
        return keys

    def refuse_or_back_up(self, run: Runner, failures: list[RowFailure]) -> None:
        if not run.accept_nulling:
            raise unconvertible_error(self, failures)
        run.nulled += len(failures)
        run.backup.setdefault("fields", {})[f"{self.table}.{self.target.key}"] = {
            "table": self.table,
            "field": self.target.key,
            "type": self.current.type,
            "to_type": self.target.type,
            "rows": [
                {"id": f.id, "value": f.value, "reason": f.reason.as_dict()} for f in failures
            ],
        }

    def to_dict(self) -> dict[str, Any]:
        data = {
            **super().to_dict(),
            "field": field_to_dict(self.target),
            "from": field_to_dict(self.current),
            "reason": self.reason,
        }
        if self.failures is not None:
            data["unconvertible"] = len(self.failures)
            data["unconvertible_ids"] = [f.id for f in self.failures[:FAILURES_KEPT]]
        return data


def unconvertible_error(step: ConvertField, failures: list[RowFailure]) -> ConflictError:
    ids = [f.id for f in failures]
    shown = ", ".join(str(i) for i in ids[:IDS_SHOWN]) + (", ..." if len(ids) > IDS_SHOWN else "")
    return ConflictError(
        Label(
            f"字段 {step.target.key} 有 {len(ids)} 行无法转换（id：{shown}）；未做任何变更。"
            "确认将这些值置空（原值会备份）后再发布",
            f"{len(ids)} row(s) of field {step.target.key} cannot be converted (id {shown}); "
            "nothing was changed. Publish again accepting that they are emptied "
            "(their values are backed up)",
        ),
        details={
            "table": step.table,
            "field": step.target.key,
            "ids": ids[:FAILURES_KEPT],
            "count": len(ids),
        },
    )
