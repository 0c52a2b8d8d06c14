"""Carrying values over a type change, row by row, through the field types.

Used twice: when a schema change is planned (to count, before anything runs,
the rows that cannot be converted and those the conversion would change, such
as a number rounded to fewer decimals) and when it is applied (to convert
them: emptied and changed values need the caller's acceptance, and their
originals go into the change's backup). The row-level work is in
``conversion_rows``.
The database never converts a value itself: the new field type does, from
the value the old type reads, so text ``"12.5"`` becomes ``Decimal("12.5")``
exactly as an import would make it. ``ConvertField`` is the schema-change
step that does it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import sqlalchemy as sa

from engine.core.errors import ConflictError
from engine.core.i18n import Label, Message
from engine.definitions.model import FieldDef
from engine.fields.base import ConversionError
from engine.store.conversion_rows import (
    RowFailure,
    convert_row,
    json_ready,
    reading_table,
    rows_of,
    stored_values,
)
from engine.store.database import identifier
from engine.store.row_ids import TABLE_OPTIONS, rebuilding
from engine.store.schema_steps import Runner, Step, field_to_dict, named

# How many row ids a plan sentence names before "...".
IDS_SHOWN = 10
# How many failing or changed rows a plan record keeps (the count is always complete).
FAILURES_KEPT = 1000
# How many changed rows a plan sentence shows as examples ("id 1: rounded from 10.49 to 10").
EXAMPLES_SHOWN = 3


def shown_ids(rows: list[RowFailure]) -> str:
    ids = ", ".join(str(r.id) for r in rows[:IDS_SHOWN])
    return ids + (", ..." if len(rows) > IDS_SHOWN else "")


def row_count(n: int) -> str:
    return "1 row" if n == 1 else f"{n} rows"


@dataclass(kw_only=True)
class ConvertField(Step):
    """A type change (or a settings change that changes the column, such as a
    shorter ``max_length`` or fewer decimals): the values are converted row by
    row by the new field type into new columns, which then replace the old ones.

    ``current`` is the field as the table holds it when the step runs (after
    any rename); ``source`` and ``source_table`` are as it was when planned,
    for counting. ``failures`` is what the count found (``None``: not
    counted): rows that cannot be converted and would be emptied; ``changed``
    the rows whose value the conversion would round or cut; ``collisions``
    how many converted values of a unique field more than one row would hold.
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
    changed: list[RowFailure] | None = None
    collisions: int = 0

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
        if not self.failures and not self.changed and not self.collisions:
            return Message("；所有行都能转换", "; every row converts").format().text(locale)
        parts = [self.emptied_sentence(), self.changed_sentence(), self.collision_sentence()]
        return "".join(p.text(locale) for p in parts if p is not None)

    def emptied_sentence(self) -> Label | None:
        failures = self.failures or []
        if not failures:
            return None
        sentence = Message(
            "；{n} 行无法转换（id：{ids}），除非确认将其置空（原值会备份），否则拒绝发布",
            "; {rows} cannot be converted (id {ids}): publishing is refused unless "
            "they may be emptied (their values are backed up)",
        ).format(n=len(failures), rows=row_count(len(failures)), ids=shown_ids(failures))
        flags = self.emptied_flags()
        return sentence if flags is None else Label(sentence.zh + flags.zh, sentence.en + flags.en)

    def emptied_flags(self) -> Label | None:
        """What emptying means for a required or unique field, said plainly."""
        field = named(self.target, "zh"), named(self.target, "en")
        if self.target.required:
            return Label(
                f"；字段{field[0]}是必填的，置空后这些行将缺少必填值",
                f"; {field[1]} is required: those rows would be left without a required value",
            )
        if self.target.unique:
            return Label(
                f"；字段{field[0]}是唯一的，置空后这些行不再有用于识别的值",
                f"; {field[1]} is unique: those rows would lose the value that tells them apart",
            )
        return None

    def changed_sentence(self) -> Label | None:
        changed = self.changed or []
        if not changed:
            return None
        examples = changed[:EXAMPLES_SHOWN]
        return Message(
            "；{n} 行的值会被改变（id：{ids}；{examples}），除非确认接受改变（原值会备份），否则拒绝发布",
            "; {rows} would change value (id {ids}; {examples_en}): publishing is refused "
            "unless the change is accepted (their original values are backed up)",
        ).format(
            n=len(changed),
            rows=row_count(len(changed)),
            ids=shown_ids(changed),
            examples="；".join(f"id {r.id}：{r.reason.zh}" for r in examples),
            examples_en="; ".join(f"id {r.id}: {r.reason.en}" for r in examples),
        )

    def collision_sentence(self) -> Label | None:
        problem = self.blocking
        return None if problem is None else Label(f"；{problem.zh}", f"; {problem.en}")

    @property
    def blocking(self) -> Label | None:
        if not self.collisions:
            return None
        return Message(
            "字段{field_zh}是唯一的，但转换后有 {n} 个值与其他行重复：无法发布",
            "{field_en} is unique, but after the conversion {n} value(s) would repeat "
            "another row's: it cannot be published",
        ).format(
            field_zh=named(self.target, "zh"), field_en=named(self.target, "en"), n=self.collisions
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
        changed: list[RowFailure] = []
        for batch in rows_of(run.connection, self.table, old_columns):
            values = []
            for row in batch:
                try:
                    stored, loss = convert_row(
                        row, (old_type, self.current), (new_type, self.target, new_columns)
                    )
                except ConversionError as exc:
                    original = stored_values(row, old_columns)
                    failures.append(RowFailure(int(row["id"]), original, exc.message))
                    stored, loss = {}, None
                if loss is not None:
                    original = stored_values(row, old_columns)
                    changed.append(RowFailure(int(row["id"]), original, loss, json_ready(stored)))
                values.append(
                    {"row_id": row["id"], **{f"v_{temp[k]}": stored.get(k) for k in temp}}
                )
            run.connection.execute(update, values)
        if failures:
            self.refuse_or_back_up(run, failures)
        if changed:
            self.refuse_or_back_up_changed(run, changed)
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

    def backup_entry(self, run: Runner) -> dict[str, Any]:
        """This field's part of the change's backup (made on first use)."""
        fields = run.backup.setdefault("fields", {})
        return fields.setdefault(  # type: ignore[no-any-return]
            f"{self.table}.{self.target.key}",
            {
                "table": self.table,
                "field": self.target.key,
                "type": self.current.type,
                "to_type": self.target.type,
                "rows": [],
                "changed": [],
            },
        )

    def refuse_or_back_up(self, run: Runner, failures: list[RowFailure]) -> None:
        if not run.accept_nulling:
            raise unconvertible_error(self, failures)
        run.nulled += len(failures)
        self.backup_entry(run)["rows"] = [
            {"id": f.id, "value": f.value, "reason": f.reason.as_dict()} for f in failures
        ]

    def refuse_or_back_up_changed(self, run: Runner, changed: list[RowFailure]) -> None:
        if not run.accept_rounding:
            raise changed_error(self, changed)
        run.rounded += len(changed)
        self.backup_entry(run)["changed"] = [
            {"id": c.id, "value": c.value, "to": c.to, "reason": c.reason.as_dict()}
            for c in changed
        ]

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
        if self.changed is not None:
            data["changed"] = len(self.changed)
            data["changed_ids"] = [c.id for c in self.changed[:FAILURES_KEPT]]
        if self.collisions:
            data["collisions"] = self.collisions
        return data


def unconvertible_error(step: ConvertField, failures: list[RowFailure]) -> ConflictError:
    return refused(
        step,
        failures,
        "行无法转换（id：{ids}）；未做任何变更。确认将这些值置空（原值会备份）后再发布",
        "cannot be converted (id {ids}); nothing was changed. Publish again accepting that "
        "they are emptied (their values are backed up)",
    )


def changed_error(step: ConvertField, changed: list[RowFailure]) -> ConflictError:
    first = changed[0]
    return refused(
        step,
        changed,
        f"行的值会被改变（id：{{ids}}；id {first.id}：{first.reason.zh}）；未做任何变更。"
        "确认接受改变（原值会备份）后再发布",
        f"would change value (id {{ids}}; id {first.id}: {first.reason.en}); nothing was "
        "changed. Publish again accepting the change (the original values are backed up)",
        kind="changed",
    )


def refused(
    step: ConvertField, rows: list[RowFailure], zh: str, en: str, **details: Any
) -> ConflictError:
    """Why a conversion will not run: ``rows`` (of ``step``) it would empty or change."""
    ids = [r.id for r in rows]
    field, shown = step.target.key, shown_ids(rows)
    return ConflictError(
        Label(
            f"字段 {field} 有 {len(ids)} " + zh.format(ids=shown),
            f"{len(ids)} row(s) of field {field} " + en.format(ids=shown),
        ),
        details={
            "table": step.table, "field": field, "ids": ids[:FAILURES_KEPT], "count": len(ids),
            **details,
        },
    )
