"""Linked defaults, relation paths in subform rows, composite uniqueness,
date rollups and rules that follow recomputation — on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from engine.core.clock import FixedClock
from engine.core.errors import ValidationError
from engine.core.i18n import label
from engine.definitions.model import AppDef, FormDef
from engine.fields import FIELD_TYPES
from engine.records import RecordService
from engine.store.database import Database
from engine.store.tables import create_form_tables

PRODUCT: dict[str, Any] = {
    "key": "product", "label": {"zh": "产品", "en": "Product"}, "title_field": "name",
    "fields": [
        {"key": "name", "type": "text", "label": "名称", "required": True},
        {"key": "price", "type": "money", "label": "价格"},
    ],
}
ORDER: dict[str, Any] = {
    "key": "order", "label": {"zh": "订单", "en": "Order"},
    "fields": [
        {"key": "product", "type": "relation", "target": "product", "label": "产品"},
        {"key": "price", "type": "money", "label": "价格",
         "default_link": {"form": "product", "match": {"id": "product"}, "field": "price"}},
        {"key": "lines", "type": "subform", "label": "明细", "fields": [
            {"key": "item", "type": "relation", "target": "product", "label": "产品"},
            {"key": "qty", "type": "number", "label": "数量", "precision": 0},
            {"key": "unit", "type": "money", "label": "单价",
             "default_link": {"form": "product", "match": {"id": "item"}, "field": "price"}},
            {"key": "label", "type": "formula", "label": "说明", "result_type": "text",
             "formula": 'CONCAT(qty, " x ", item.name)'},
        ]},
    ],
}
PLAN: dict[str, Any] = {
    "key": "plan", "label": {"zh": "回款计划", "en": "Payment plan"},
    "fields": [
        {"key": "contract_no", "type": "text", "label": {"zh": "合同号", "en": "Contract"}},
        {"key": "installment", "type": "number", "label": {"zh": "期数", "en": "Installment"}, "precision": 0},
        {"key": "amount", "type": "money", "label": "金额"},
        {"key": "received", "type": "rollup", "label": "已收", "source": "receipt.plan",
         "field": "amount", "aggregate": "sum", "result_type": "money"},
        {"key": "last_paid_at", "type": "rollup", "label": "最近收款", "source": "receipt.plan",
         "field": "paid_at", "aggregate": "max", "result_type": "datetime"},
        {"key": "status", "type": "select", "label": "状态", "default": "pending", "options": [
            {"key": "pending", "label": "待收"}, {"key": "paid", "label": "已收"}]},
    ],
    "indexes": [{"fields": ["contract_no", "installment"], "unique": True}],
    "rules": [{"key": "paid_when_received", "when": "received >= amount and amount > 0",
               "actions": [{"type": "set_value", "fields": ["status"], "formula": '"paid"'}]}],
}
RECEIPT: dict[str, Any] = {
    "key": "receipt", "label": {"zh": "收款", "en": "Receipt"},
    "fields": [
        {"key": "plan", "type": "relation", "target": "plan", "label": "计划"},
        {"key": "amount", "type": "money", "label": "金额"},
        {"key": "paid_at", "type": "datetime", "label": "时间"},
    ],
}


@pytest.fixture
def service(database: Database) -> RecordService:
    forms = tuple(FormDef.from_dict(f, app="shop") for f in (PRODUCT, ORDER, PLAN, RECEIPT))
    app = AppDef(key="shop", label=label("Shop"), forms=forms)
    create_form_tables(database, app, FIELD_TYPES)
    return RecordService(database, app, field_types=FIELD_TYPES,
                         clock=FixedClock(dt.datetime(2024, 5, 1, 9, 0)))


def test_linked_defaults_fill_only_what_is_left_out(service: RecordService) -> None:
    pen = service.create("product", {"name": "Pen", "price": "3.50"})
    ink = service.create("product", {"name": "Ink", "price": "12.00"})
    order = service.create("order", {"product": pen["id"], "lines": [
        {"item": pen["id"], "qty": 2}, {"item": ink["id"], "qty": 1, "unit": "10.00"}]})
    assert order["price"] == Decimal("3.50")
    assert [line["unit"] for line in order["lines"]] == [Decimal("3.50"), Decimal("10.00")]
    assert [line["label"] for line in order["lines"]] == ["2 x Pen", "1 x Ink"]
    given = service.create("order", {"product": pen["id"], "price": "1.00"})
    assert given["price"] == Decimal("1.00")
    none = service.create("order", {})
    assert none["price"] is None
    added = service.update("order", order["id"], {"lines": [
        *order["lines"], {"item": ink["id"], "qty": 3}]}, version=order["version"])
    assert [line["unit"] for line in added["lines"]] == [Decimal("3.50"), Decimal("10.00"), Decimal("12.00")]


def test_the_live_form_shows_linked_defaults(service: RecordService) -> None:
    pen = service.create("product", {"name": "Pen", "price": "3.50"})
    state = service.evaluate("order", {"product": pen["id"], "lines": [{"item": pen["id"], "qty": 4}]})
    assert state.values["price"] == Decimal("3.50")
    assert state.values["lines"][0]["label"] == "4 x Pen"


def test_composite_unique_index_is_a_field_error(service: RecordService) -> None:
    service.create("plan", {"contract_no": "C-1", "installment": 1, "amount": 100})
    service.create("plan", {"contract_no": "C-1", "installment": 2, "amount": 100})
    with pytest.raises(ValidationError) as caught:
        service.create("plan", {"contract_no": "C-1", "installment": 1, "amount": 5})
    assert caught.value.as_dict("en")["details"] == {
        "contract_no": ["Another record has the same Contract, Installment"]}


def test_date_rollups_and_rules_follow_the_children(service: RecordService) -> None:
    plan = service.create("plan", {"contract_no": "C-9", "installment": 1, "amount": 100})
    assert plan["received"] == Decimal("0") and plan["last_paid_at"] is None
    service.create("receipt", {"plan": plan["id"], "amount": 40, "paid_at": "2024-05-01 10:00"})
    service.create("receipt", {"plan": plan["id"], "amount": 60, "paid_at": "2024-05-03 08:30"})
    after = service.get("plan", plan["id"])
    assert after["received"] == Decimal("100.00")
    assert after["last_paid_at"] == dt.datetime(2024, 5, 3, 0, 30, tzinfo=dt.UTC)  # 08:30 in Shanghai
    assert after["status"] == "paid"  # a set_value rule re-run by the recomputation
