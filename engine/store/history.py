"""What the record of applied schema changes says about a form's tables now.

Every applied change is a row of ``schema_changes`` with its plan. Replaying
those plans tells which fields are retired (removed from the form, their
columns and data kept), so a field coming back under its key is restored
and ``purge_field`` knows what to drop.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from engine.definitions.model import FieldDef
from engine.store.models import SchemaChange


@dataclass(frozen=True)
class RetiredField:
    """A field removed from its form whose columns (or tables) still hold its data."""

    table: str
    field: FieldDef
    columns: tuple[str, ...]
    tables: tuple[str, ...]


def replay(plans: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, RetiredField]]:
    """Retired fields by table and key, after the given plans in the order applied."""
    retired: dict[str, dict[str, RetiredField]] = {}
    for plan in plans:
        for step in plan.get("steps", ()):
            kind, table = step.get("kind"), step.get("table", "")
            if kind == "retire_field":
                field = FieldDef.from_dict(step["field"])
                retired.setdefault(table, {})[field.key] = RetiredField(
                    table, field, tuple(step.get("columns", ())), tuple(step.get("tables", ()))
                )
            elif kind in ("restore_field", "add_field", "purge_field"):
                field_key = (
                    step["field"]["key"]
                    if isinstance(step.get("field"), Mapping)
                    else step.get("field")
                )
                retired.get(table, {}).pop(str(field_key), None)
            elif kind == "rename_table" and table in retired:
                retired[step["new_table"]] = retired.pop(table)
    return {table: fields for table, fields in retired.items() if fields}


def retired_fields(
    connection: sa.Connection, app: str, form: str
) -> dict[str, dict[str, RetiredField]]:
    """The retired fields of ``app``'s form ``form`` (its main and child tables)."""
    query = (
        sa.select(SchemaChange.plan)
        .where(SchemaChange.app == app, SchemaChange.form == form)
        .order_by(SchemaChange.id)
    )
    return replay(row.plan for row in connection.execute(query))
