"""Every registered field type goes through the same round trips (STYLE: parametrize over registries)."""

from __future__ import annotations

import random
from typing import Any

import pytest
import sqlalchemy as sa
from jsonschema import Draft202012Validator, FormatChecker

from engine.definitions.model import FieldDef
from engine.expr.types import parse_type
from engine.fields import FIELD_TYPES, OPERATORS, FieldType

from .field_samples import NOT_IN_COLUMNS, SAMPLE_IDS, SAMPLES, build_table

pytestmark = pytest.mark.filterwarnings("ignore:Dialect sqlite.*Decimal")

# Types whose export is for people only (file names), not read back by import.
EXPORT_FOR_PEOPLE = {"attachment", "image", "signature", "lookup"}


def ftype(field: FieldDef) -> FieldType:
    return FIELD_TYPES.get(field.type)


def demo_value(field: FieldDef, seed: int = 7) -> Any:
    return ftype(field).coerce(field, ftype(field).fake(field, random.Random(seed)))


def test_every_registered_type_has_a_sample() -> None:
    assert {f.type for f in SAMPLES} == set(FIELD_TYPES.keys())


def test_the_design_types_are_all_registered() -> None:
    design = ["text", "textarea", "rich_text", "number", "money", "percent", "date", "datetime", "time", "boolean", "select", "multiselect", "rating", "phone", "email", "url", "address", "location", "member", "department", "attachment", "image", "signature", "serial", "relation", "lookup", "subform", "formula", "rollup", "section", "divider", "note"]
    assert sorted(design) == sorted(FIELD_TYPES.keys())


@pytest.mark.parametrize("field", SAMPLES, ids=SAMPLE_IDS)
def test_fake_is_deterministic_and_valid(field: FieldDef) -> None:
    kind = ftype(field)
    first = kind.fake(field, random.Random(42))
    assert first == kind.fake(field, random.Random(42))
    value = kind.coerce(field, first)
    if value is None:
        assert kind.layout or not kind.stored or first is None
        return
    assert kind.validate(field, value) == []
    assert kind.coerce(field, value) == value, "coerce is idempotent on values"


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("field", SAMPLES, ids=SAMPLE_IDS)
def test_to_db_from_db(field: FieldDef, seed: int) -> None:
    kind = ftype(field)
    value = demo_value(field, seed)
    stored = kind.to_db(field, value)
    assert set(stored) <= set(kind.column_names(field))
    if kind.storage_for(field) in NOT_IN_COLUMNS:
        assert stored == {}
        assert kind.from_db(field, {field.key: value}) == value
    else:
        assert kind.from_db(field, stored) == value
    assert kind.from_db(field, kind.to_db(field, None)) is None


@pytest.mark.parametrize("field", SAMPLES, ids=SAMPLE_IDS)
def test_export_import_round_trip(field: FieldDef) -> None:
    kind = ftype(field)
    value = demo_value(field)
    for locale in ("zh", "en"):
        assert isinstance(kind.display(field, value, locale), str)
        assert kind.display(field, None, locale) == ""
        cell = kind.export_value(field, value, locale)
        assert cell is None or isinstance(cell, str | int | float | bool) or hasattr(cell, "isoformat") \
            or type(cell).__name__ == "Decimal"
        if field.type not in EXPORT_FOR_PEOPLE and kind.stored:
            assert kind.coerce(field, kind.import_value(field, cell)) == value, locale


@pytest.mark.parametrize("field", SAMPLES, ids=SAMPLE_IDS)
def test_json_schema_describes_the_json_value(field: FieldDef) -> None:
    kind = ftype(field)
    schema = kind.json_schema(field)
    Draft202012Validator.check_schema(schema)
    validator = Draft202012Validator(schema, format_checker=FormatChecker())
    value = demo_value(field)
    if value is not None:
        validator.validate(kind.json_value(field, value))
        # The API takes back what it gives.
        assert kind.coerce(field, kind.json_value(field, value)) == value


@pytest.mark.parametrize("kind", FIELD_TYPES.all(), ids=FIELD_TYPES.keys())
def test_settings_schema_is_a_json_schema(kind: FieldType) -> None:
    Draft202012Validator.check_schema(dict(kind.settings_schema))
    assert kind.settings_schema["type"] == "object"


@pytest.mark.parametrize("field", SAMPLES, ids=SAMPLE_IDS)
def test_sample_settings_are_valid(field: FieldDef) -> None:
    kind = ftype(field)
    Draft202012Validator(dict(kind.settings_schema)).validate(dict(field.settings))
    assert kind.check_settings(field) == []


@pytest.mark.parametrize("field", SAMPLES, ids=SAMPLE_IDS)
def test_formula_side(field: FieldDef) -> None:
    kind = ftype(field)
    parse_type(kind.formula_type_for(field))
    kind.formula_value(field, demo_value(field))
    assert kind.formula_value(field, None) in (None, [])


@pytest.mark.parametrize("field", SAMPLES, ids=SAMPLE_IDS)
def test_operators_are_registered(field: FieldDef) -> None:
    kind = ftype(field)
    assert set(kind.operators_for(field)) <= set(OPERATORS.keys())
    assert set(kind.operators_for(field)) <= set(kind.operators) or kind.key in ("formula", "rollup")
    if kind.stored and not kind.layout:
        assert "is_blank" in kind.operators_for(field)


@pytest.mark.parametrize("field", SAMPLES, ids=SAMPLE_IDS)
def test_kinds_are_consistent(field: FieldDef) -> None:
    kind = ftype(field)
    assert kind.storage_for(field) in ("column", "child_table", "link_table", "none")
    if kind.layout or kind.key == "lookup":
        assert not kind.stored and kind.storage_for(field) == "none" and kind.columns(field) == []
    if kind.key in ("formula", "rollup", "serial", "lookup"):
        assert kind.computed
    if kind.storage_for(field) == "column" and kind.stored:
        assert kind.columns(field)
        assert all(c.name == field.key or c.name.startswith(field.key + "_") for c in kind.columns(field))


def test_columns_create_and_round_trip_in_the_database(engine: sa.Engine) -> None:
    fields = [f for f in SAMPLES if ftype(f).stored]
    metadata, table, extra = build_table(fields)
    metadata.create_all(engine)
    values = {f.key: demo_value(f, 3) for f in fields}
    row: dict[str, Any] = {"id": 1}
    for f in fields:
        row.update(ftype(f).to_db(f, values[f.key]))
    with engine.begin() as connection:
        connection.execute(metadata.tables["users"].insert(), [{"id": i, "name": f"u{i}"} for i in range(1, 11)])
        connection.execute(metadata.tables["departments"].insert(), [{"id": i, "name": f"d{i}"} for i in range(1, 11)])
        connection.execute(table.insert(), [row])
        for f in fields:
            kind = ftype(f)
            for link in extra:
                if link.name == f"{table.name}__{f.key}" and f.type == "relation":
                    connection.execute(link.insert(), kind.link_rows(f, 1, values[f.key]))  # type: ignore[attr-defined]
                if link.name == f"{table.name}__{f.key}" and f.type == "subform":
                    connection.execute(link.insert(), kind.child_rows(f, 1, values[f.key]))  # type: ignore[attr-defined]
    with engine.connect() as connection:
        read = dict(connection.execute(sa.select(table)).mappings().one())
        for f in fields:
            kind = ftype(f)
            storage = kind.storage_for(f)
            if storage == "column":
                assert kind.from_db(f, read) == values[f.key], f.key
            elif storage == "link_table":
                link = metadata.tables[f"{table.name}__{f.key}"]
                rows = connection.execute(sa.select(link).order_by(link.c.position)).mappings().all()
                assert [r["target_id"] for r in rows] == values[f.key]
            elif storage == "child_table":
                child = metadata.tables[f"{table.name}__{f.key}"]
                rows = [dict(r) for r in connection.execute(sa.select(child)).mappings()]
                got = kind.from_child_rows(f, rows)  # type: ignore[attr-defined]
                assert [{k: v for k, v in r.items() if k != "id"} for r in got] == values[f.key]


def test_child_rows_cascade_with_the_parent(engine: sa.Engine) -> None:
    items = next(f for f in SAMPLES if f.type == "subform")
    products = next(f for f in SAMPLES if f.key == "products")
    metadata, table, extra = build_table([items, products])
    metadata.create_all(engine)
    assert {t.name for t in extra} == {"app_thing__items", "app_thing__products"}
    with engine.begin() as connection:
        connection.execute(table.insert(), [{"id": 1}])
        connection.execute(extra[0].insert(), ftype(items).child_rows(items, 1, demo_value(items)))  # type: ignore[attr-defined]
        connection.execute(extra[1].insert(), ftype(products).link_rows(products, 1, [3, 4]))  # type: ignore[attr-defined]
        connection.execute(table.delete())
        for link in extra:
            assert connection.execute(sa.select(sa.func.count()).select_from(link)).scalar() == 0
