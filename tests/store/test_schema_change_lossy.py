"""Conversions that change values say so, on SQLite and PostgreSQL.

Lowering a number's precision, or turning text into a number with fewer
decimals than the text holds, rounds values: the plan counts those rows and
names them with an example, publishing is refused until the rounding is
accepted, and the originals are kept in the change's backup. A plan that
empties values of a required or unique field, or adds a required field to
rows that have no value for it, says so; rounding that would make a unique
field's values collide blocks the change.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from engine.core.errors import ConflictError
from engine.definitions.model import FormDef
from engine.fields import FIELD_TYPES
from engine.store.database import Database
from engine.store.models import SchemaChange
from engine.store.schema_change import (
    BACKUP_KEY,
    SchemaPlan,
    apply_schema_change,
    plan_schema_change,
)
from engine.store.tables import form_tables

from .forms import form, read_values

NAME = {"key": "name", "type": "text", "label": {"zh": "名称", "en": "Name"}}
PRICE = {"key": "price", "type": "number", "label": {"zh": "价格", "en": "Price"}}
WHOLE_PRICE = {**PRICE, "precision": 0}


def item(*fields: dict[str, Any]) -> FormDef:
    return form("item", list(fields), label={"zh": "商品", "en": "Item"})


def start(database: Database, version: FormDef, rows: list[dict[str, Any]]) -> Database:
    apply_schema_change(database, plan_schema_change(None, version, FIELD_TYPES, database))
    with database.transaction() as connection:
        connection.execute(sa.insert(form_tables(version, FIELD_TYPES).main), rows)
    return database


def plan(database: Database, old: FormDef, new: FormDef) -> SchemaPlan:
    return plan_schema_change(old, new, FIELD_TYPES, database)


def last_backup(database: Database) -> dict[str, Any]:
    with database.engine.connect() as connection:
        backup = connection.execute(
            sa.select(SchemaChange.backup).order_by(SchemaChange.id.desc()).limit(1)
        ).scalar_one()
    assert backup is not None
    return dict(backup[BACKUP_KEY])


PRICES = [{"name": "a", "price": "10.49"}, {"name": "b", "price": "10.5"},
          {"name": "c", "price": "7"}, {"name": "d", "price": None}]  # fmt: skip


@pytest.fixture
def priced(database: Database) -> Database:
    """Form ``item`` with a price of two decimals: 10.49, 10.50, 7.00 and none."""
    return start(database, item(NAME, PRICE), PRICES)


def test_lowering_the_precision_counts_the_rows_it_rounds(priced: Database) -> None:
    lowered = plan(priced, item(NAME, PRICE), item(NAME, WHOLE_PRICE))
    assert lowered.changed == {"price": [1, 2]}
    assert lowered.unconvertible == {}
    english = lowered.describe("en")
    assert "every row converts" not in english
    assert (
        "; 2 rows would change value (id 1, 2; id 1: rounded from 10.49 to 10; "
        "id 2: rounded from 10.5 to 11): publishing is refused unless the change is accepted "
        "(their original values are backed up)"
    ) in english
    assert (
        "；2 行的值会被改变（id：1, 2；id 1：由 10.49 舍入为 10；id 2：由 10.5 舍入为 11），"
        "除非确认接受改变（原值会备份），否则拒绝发布"
    ) in lowered.describe("zh")
    assert lowered.to_dict()["steps"][0]["changed_ids"] == [1, 2]


def test_rounding_is_refused_until_accepted_and_changes_nothing(priced: Database) -> None:
    lowered = plan(priced, item(NAME, PRICE), item(NAME, WHOLE_PRICE))
    with pytest.raises(ConflictError) as refused:
        apply_schema_change(priced, lowered)
    assert refused.value.details == {
        "table": "crm_item", "field": "price", "ids": [1, 2], "count": 2, "kind": "changed",
    }  # fmt: skip
    assert "rounded from 10.49 to 10" in str(refused.value)
    # accepting that values are emptied is not accepting that they are rounded
    with pytest.raises(ConflictError):
        apply_schema_change(priced, lowered, accept_nulling=True)
    assert read_values(priced, item(NAME, PRICE), "price") == {
        1: Decimal("10.49"), 2: Decimal("10.50"), 3: Decimal("7.00"), 4: None,
    }  # fmt: skip


def test_accepted_rounding_keeps_the_original_values_in_the_backup(priced: Database) -> None:
    lowered = plan(priced, item(NAME, PRICE), item(NAME, WHOLE_PRICE))
    applied = apply_schema_change(priced, lowered, accept_rounding=True)
    assert (applied.rows_rounded, applied.rows_nulled) == (2, 0)
    assert read_values(priced, item(NAME, WHOLE_PRICE), "price") == {
        1: Decimal(10), 2: Decimal(11), 3: Decimal(7), 4: None,
    }  # fmt: skip
    saved = last_backup(priced)["fields"]["crm_item.price"]
    assert (saved["type"], saved["to_type"], saved["rows"]) == ("number", "number", [])
    assert [(row["id"], row["value"], row["to"]) for row in saved["changed"]] == [
        (1, {"price": "10.49"}, {"price": "10"}),
        (2, {"price": "10.50"}, {"price": "11"}),
    ]
    assert saved["changed"][0]["reason"]["en"] == "rounded from 10.49 to 10"


def test_raising_the_precision_changes_no_value(database: Database) -> None:
    start(database, item(NAME, WHOLE_PRICE), [{"name": "a", "price": "10"}])
    raised = plan(database, item(NAME, WHOLE_PRICE), item(NAME, PRICE))
    assert raised.changed == {}
    assert "every row converts" in raised.describe("en")
    apply_schema_change(database, raised)
    assert read_values(database, item(NAME, PRICE), "price") == {1: Decimal("10.00")}


def test_text_to_number_counts_the_rounding_of_extra_decimals(database: Database) -> None:
    text = {**PRICE, "type": "text"}
    start(database, item(NAME, text), [
        {"name": "a", "price": "1.005"}, {"name": "b", "price": "12.5"},
        {"name": "c", "price": "1,000"}, {"name": "d", "price": "abc"},
    ])  # fmt: skip
    to_number = plan(database, item(NAME, text), item(NAME, PRICE))
    assert to_number.changed == {"price": [1]}
    assert to_number.unconvertible == {"price": [4]}
    assert "id 1: rounded from 1.005 to 1.01" in to_number.describe("en")
    with pytest.raises(ConflictError):
        apply_schema_change(database, to_number, accept_nulling=True)
    applied = apply_schema_change(database, to_number, accept_nulling=True, accept_rounding=True)
    assert (applied.rows_nulled, applied.rows_rounded) == (1, 1)
    assert read_values(database, item(NAME, PRICE), "price") == {
        1: Decimal("1.01"), 2: Decimal("12.50"), 3: Decimal("1000.00"), 4: None,
    }  # fmt: skip
    saved = last_backup(database)["fields"]["crm_item.price"]
    assert [(r["id"], r["value"]) for r in saved["rows"]] == [(4, {"price": "abc"})]
    assert [(r["id"], r["value"]) for r in saved["changed"]] == [(1, {"price": "1.005"})]


def test_rows_written_after_the_plan_are_checked_again_when_it_runs(database: Database) -> None:
    start(database, item(NAME, PRICE), [{"name": "a", "price": "3"}])
    lowered = plan(database, item(NAME, PRICE), item(NAME, WHOLE_PRICE))
    assert lowered.changed == {} and "every row converts" in lowered.describe("en")
    with database.transaction() as connection:
        table = form_tables(item(NAME, PRICE), FIELD_TYPES).main
        connection.execute(sa.insert(table), [{"name": "late", "price": Decimal("3.33")}])
    with pytest.raises(ConflictError) as refused:
        apply_schema_change(database, lowered)
    assert refused.value.details["ids"] == [2]
    assert read_values(database, item(NAME, PRICE), "price") == {1: Decimal("3.00"), 2: Decimal("3.33")}


def test_a_date_time_cut_to_its_day_is_a_change(database: Database) -> None:
    when = {"key": "when", "type": "datetime", "label": {"zh": "时间", "en": "When"}}
    # Stored in UTC; the deployment's zone (Asia/Shanghai) is 8 hours ahead.
    start(database, item(NAME, when), [
        {"name": "a", "when": dt.datetime(2026, 3, 1, 6, 30)},
        {"name": "b", "when": dt.datetime(2026, 3, 1, 16, 0)},
    ])  # fmt: skip
    to_date = plan(database, item(NAME, when), item(NAME, {**when, "type": "date"}))
    assert to_date.changed == {"when": [1]}
    assert "id 1: the time 14:30 is dropped" in to_date.describe("en")


def test_rounding_that_makes_unique_values_collide_blocks_the_change(database: Database) -> None:
    code = {"key": "code", "type": "number", "label": {"zh": "编码", "en": "Code"}, "unique": True}
    start(database, item(NAME, code), [{"name": "a", "code": "10.2"}, {"name": "b", "code": "10.4"},
                                       {"name": "c", "code": "11"}])  # fmt: skip
    lowered = plan(database, item(NAME, code), item(NAME, {**code, "precision": 0}))
    assert [p.en for p in lowered.problems] == [
        "“Code” (code) is unique, but after the conversion 1 value(s) would repeat "
        "another row's: it cannot be published"
    ]
    assert "it cannot be published" in lowered.describe("en")
    with pytest.raises(ConflictError):
        apply_schema_change(database, lowered, accept_rounding=True)
    assert read_values(database, item(NAME, code), "code")[1] == Decimal("10.20")


@pytest.mark.parametrize(
    ("flag", "english", "chinese"),
    [
        ("required", "“Price” (price) is required: those rows would be left without a required "
         "value", "字段「价格」(price)是必填的，置空后这些行将缺少必填值"),
        ("unique", "“Price” (price) is unique: those rows would lose the value that tells them "
         "apart", "字段「价格」(price)是唯一的，置空后这些行不再有用于识别的值"),
    ],
)  # fmt: skip
def test_a_plan_that_empties_a_required_or_unique_field_says_so(
    database: Database, flag: str, english: str, chinese: str
) -> None:
    text = {**PRICE, "type": "text"}
    start(database, item(NAME, text), [{"name": "a", "price": "12"}, {"name": "b", "price": "x"}])
    emptying = plan(database, item(NAME, text), item(NAME, {**PRICE, flag: True}))
    assert emptying.unconvertible == {"price": [2]}
    assert english in emptying.describe("en")
    assert chinese in emptying.describe("zh")


def test_a_required_field_added_to_rows_says_they_have_no_value(priced: Database) -> None:
    stock = {"key": "stock", "type": "number", "label": {"zh": "库存", "en": "Stock"}}
    required = plan(priced, item(NAME, PRICE), item(NAME, PRICE, {**stock, "required": True}))
    assert (
        "Add field “Stock” (stock): new column stock in crm_item; it is required, but the 4 "
        "existing row(s) will have no value in it (to be filled in at their next edit)"
    ) in required.describe("en")
    assert "该字段必填，但现有 4 行在该字段中没有值" in required.describe("zh")
    optional = plan(priced, item(NAME, PRICE), item(NAME, PRICE, stock))
    assert optional.describe("en").endswith("new column stock in crm_item")
