"""What holds a record back from being deleted: every relation that points at it.

A relation with ``on_delete: restrict`` (the default) blocks the delete while
any record holds the id, in its column or in a multi relation's link table;
the refusal names every form and field and how many records of each, not just
the first one found. ``on_delete: set_null`` lets go: a column is cleared by
its foreign key, a multi relation's links to the record are removed here (a
link table has no foreign key to the target).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.core.errors import ConflictError
from engine.core.i18n import Label
from engine.definitions.model import FieldDef, FormDef

if TYPE_CHECKING:
    from engine.records.service import RecordService


@dataclass(frozen=True)
class Blocker:
    """``count`` records of ``form`` point at the record through ``field``."""

    form: FormDef
    field: FieldDef
    count: int
    first: int


def _pointing(service: RecordService, target: str) -> list[tuple[FormDef, FieldDef, sa.Table, str]]:
    """(form, relation, table holding the ids, how) for every relation at ``target``."""
    found = []
    for other in service.app.forms:
        compiled, tables = service.form(other.key)
        for f in compiled.relations:
            if f.setting("target") != target:
                continue
            how = compiled.storage[f.key]
            table = tables.main if how == "column" else tables.field_tables(f.key)[0]
            found.append((other, f, table, how))
    return found


def release_or_refuse(service: RecordService, conn: Connection, form: FormDef, record_id: int) -> None:
    """Remove ``set_null`` links to the record, and refuse the delete (a
    ConflictError naming every blocker) while ``restrict`` relations hold it."""
    blockers: list[Blocker] = []
    for other, f, table, how in _pointing(service, form.key):
        if how == "link_table":
            source, held = table.c.source_id, table.c.target_id == record_id
        else:
            source, held = table.c.id, table.c[f.key] == record_id
        if f.setting("on_delete") == "set_null":
            if how == "link_table":
                conn.execute(table.delete().where(held))
            continue
        count, first = conn.execute(
            sa.select(sa.func.count(sa.distinct(source)), sa.func.min(source)).where(held)
        ).one()
        if count:
            blockers.append(Blocker(other, f, int(count), int(first)))
    if blockers:
        raise _refusal(form, record_id, blockers)


def _refusal(form: FormDef, record_id: int, blockers: list[Blocker]) -> ConflictError:
    zh = "、".join(f"{b.form.label.zh}的“{b.field.label.zh}”{b.count} 条（如 #{b.first}）" for b in blockers)
    en = "; ".join(
        f"{b.count} {b.form.label.en} record{'s' if b.count != 1 else ''} through {b.field.label.en}"
        f" (e.g. #{b.first})" for b in blockers
    )
    return ConflictError(
        Label(f"{form.label.zh} #{record_id} 仍被引用，不能删除：{zh}",
              f"{form.label.en} #{record_id} is still referenced by {en}; it cannot be deleted"),
        details={"blockers": [
            {"form": b.form.key, "field": b.field.key, "count": b.count, "first": b.first}
            for b in blockers
        ]},
    )
