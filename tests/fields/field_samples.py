"""Sample fields for every registered field type (imported by the tests of tests/fields)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from engine.definitions.model import FieldDef
from engine.fields import FIELD_TYPES

OPTIONS = [
    {"key": "lead", "label": {"zh": "线索", "en": "Lead"}, "color": "blue"},
    {"key": "won", "label": {"zh": "赢单", "en": "Won"}},
    {"key": "lost", "label": {"zh": "输单", "en": "Lost"}},
]


def field(key: str, type_: str, **settings: Any) -> FieldDef:
    return FieldDef.from_dict({"key": key, "type": type_, "label": {"zh": key, "en": key}, **settings})


# At least one field of every type; some types several times, for their variants.
SAMPLES: list[FieldDef] = [
    field("name", "text", max_length=100),
    field("code", "text", pattern=r"[A-Z]{2}\d{4}", max_length=6),
    field("notes", "textarea"),
    field("body", "rich_text"),
    field("quantity", "number", precision=0, min=1),
    field("weight", "number", precision=3),
    field("amount", "money"),
    field("price_usd", "money", currency="USD", precision=4),
    field("discount", "percent", min=0, max=1),
    field("stars", "rating", max=5),
    field("signed_on", "date", min="2020-01-01"),
    field("visited_at", "datetime"),
    field("opens_at", "time"),
    field("active", "boolean"),
    field("stage", "select", options=OPTIONS),
    field("source", "select", options=OPTIONS, allow_other=True),
    field("tags", "multiselect", options=OPTIONS, max_items=3),
    field("mobile", "phone"),
    field("intl_phone", "phone", region="any"),
    field("email", "email"),
    field("website", "url"),
    field("address", "address"),
    field("region", "address", level="city"),
    field("spot", "location"),
    field("owner", "member"),
    field("helpers", "member", multiple=True),
    field("dept", "department"),
    field("depts", "department", multiple=True),
    field("files", "attachment", accept=["pdf", "docx", "xlsx", "jpg"]),
    field("photos", "image"),
    field("sign", "signature"),
    field("number", "serial", prefix="HT", date_format="yyyyMMdd", reset="daily", digits=4),
    field("customer", "relation", target="customer"),
    field("products", "relation", target="product", multiple=True),
    field("customer_industry", "lookup", relation="customer", field="industry"),
    FieldDef.from_dict({
        "key": "items", "type": "subform", "label": "明细", "min_rows": 1,
        "fields": [
            {"key": "product", "type": "relation", "target": "product", "label": "产品"},
            {"key": "quantity", "type": "number", "precision": 0, "min": 1, "label": "数量",
             "required": True},
            {"key": "unit_price", "type": "money", "label": "单价"},
            {"key": "shipped_on", "type": "date", "label": "发货日期"},
            {"key": "subtotal", "type": "formula", "formula": "quantity * unit_price",
             "result_type": "money", "label": "小计"},
        ],
    }),
    field("total", "formula", formula="amount * (1 - discount)", result_type="money"),
    field("summary", "formula", formula='CONCAT(name, "-", stage)'),
    field("due", "formula", formula="DATEADD(signed_on, 30)", result_type="date"),
    field("line_total", "rollup", source="items", field="subtotal", aggregate="sum", result_type="money"),
    field("line_count", "rollup", source="items", aggregate="count"),
    field("group1", "section"),
    field("line", "divider"),
    field("hint", "note", text={"zh": "请填写完整", "en": "Fill in everything"}),
]

SAMPLE_IDS = [f"{f.type}:{f.key}" for f in SAMPLES]

# Types whose value leaves the main table (assembled by the store) or has no value.
NOT_IN_COLUMNS = {"link_table", "child_table", "none"}


def samples_of(*types: str) -> list[FieldDef]:
    return [f for f in SAMPLES if f.type in types]


def sample(key: str) -> FieldDef:
    return next(f for f in SAMPLES if f.key == key)


def org_metadata() -> sa.MetaData:
    """The tables member/department columns point at (the store owns the real ones)."""
    metadata = sa.MetaData()
    sa.Table("users", metadata, sa.Column("id", sa.Integer, primary_key=True), sa.Column("name", sa.String(50)))
    sa.Table("departments", metadata, sa.Column("id", sa.Integer, primary_key=True),
             sa.Column("name", sa.String(50)))
    return metadata


def build_table(fields: list[FieldDef], name: str = "app_thing") -> tuple[sa.MetaData, sa.Table, list[sa.Table]]:
    """A form table with ``id`` and every stored column of ``fields``, plus their extra tables."""
    metadata = org_metadata()
    columns: list[sa.Column[Any]] = [sa.Column("id", sa.Integer, primary_key=True)]
    for f in fields:
        columns.extend(FIELD_TYPES.get(f.type).columns(f))
    table = sa.Table(name, metadata, *columns)
    extra: list[sa.Table] = []
    for f in fields:
        extra.extend(FIELD_TYPES.get(f.type).tables(f, name, metadata))
    return metadata, table, extra
