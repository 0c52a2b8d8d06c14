"""Small form definitions the store tests build tables from."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from engine.definitions.model import FormDef
from engine.fields import FIELD_TYPES
from engine.store.database import Database
from engine.store.tables import form_tables

# Settings a type cannot do without, for a form that has a field of every type.
REQUIRED_SETTINGS: dict[str, dict[str, Any]] = {
    "select": {"options": [{"key": "a", "label": "A"}, {"key": "b", "label": "B"}]},
    "multiselect": {"options": [{"key": "a", "label": "A"}, {"key": "b", "label": "B"}]},
    "relation": {"target": "sample"},
    "lookup": {"relation": "f_relation", "field": "f_text"},
    "subform": {
        "fields": [
            {"key": "item", "type": "text", "label": "Item"},
            {"key": "qty", "type": "number", "label": "Qty"},
            {"key": "product", "type": "relation", "target": "sample", "label": "Product"},
        ]
    },
    "formula": {"formula": "1 + 1", "result_type": "number"},
    "rollup": {"source": "f_subform", "field": "qty", "aggregate": "sum"},
    "serial": {"prefix": "S"},
    "note": {"text": "A note"},
}


def every_type_form() -> FormDef:
    """Form ``sample`` of app ``t`` with one field ``f_<type>`` of each registered type."""
    fields = [
        {
            "key": f"f_{ftype.key}",
            "type": ftype.key,
            "label": ftype.label.as_dict(),
            **REQUIRED_SETTINGS.get(ftype.key, {}),
        }
        for ftype in FIELD_TYPES
    ]
    fields.append(
        {
            "key": "f_links",
            "type": "relation",
            "target": "sample",
            "multiple": True,
            "label": "Links",
        }
    )
    return FormDef.from_dict({"key": "sample", "label": "Sample", "fields": fields}, app="t")


def form(key: str, fields: list[dict[str, Any]], **extra: Any) -> FormDef:
    """A form of app ``crm`` from field mappings."""
    return FormDef.from_dict(
        {"key": key, "label": key.title(), "fields": fields, **extra}, app="crm"
    )


def read_values(database: Database, version: FormDef, key: str) -> dict[int, Any]:
    """The field's values as its type reads them back, by id."""
    table = form_tables(version, FIELD_TYPES).main
    field = version.get_field(key)
    ftype = FIELD_TYPES.get(field.type)
    with database.engine.connect() as connection:
        rows = connection.execute(sa.select(table).order_by(table.c.id)).all()
    return {row.id: ftype.from_db(field, row._mapping) for row in rows}
