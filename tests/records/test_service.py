"""RecordService: the one write path, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from engine.core.clock import FixedClock
from engine.core.errors import ConflictError, NotFoundError, ValidationError
from engine.core.i18n import label
from engine.definitions.model import AppDef, FormDef
from engine.fields import FIELD_TYPES
from engine.records import (
    RECORD_CREATED,
    RECORD_UPDATED,
    Actor,
    RecordService,
    evaluate_form,
)
from engine.records.batch import RowsInvalid
from engine.store.database import Database
from engine.store.tables import create_form_tables

CUSTOMER: dict[str, Any] = {
    "key": "customer", "label": {"zh": "客户", "en": "Customer"}, "title_field": "name",
    "fields": [
        {"key": "name", "type": "text", "label": {"zh": "名称", "en": "Name"}, "required": True,
         "unique": True, "max_length": 50},
        {"key": "industry", "type": "select", "label": "行业", "options": [
            {"key": "retail", "label": {"zh": "零售", "en": "Retail"}},
            {"key": "tech", "label": {"zh": "科技", "en": "Technology"}}]},
        {"key": "level", "type": "select", "label": "等级", "default": "b", "options": [
            {"key": "a", "label": "A"}, {"key": "b", "label": "B"}]},
    ],
}
CONTRACT: dict[str, Any] = {
    "key": "contract", "label": {"zh": "合同", "en": "Contract"}, "title_field": "code",
    "fields": [
        {"key": "code", "type": "serial", "label": "编号", "prefix": "HT", "date_format": "yyyyMM",
         "digits": 3, "reset": "monthly"},
        {"key": "customer", "type": "relation", "target": "customer", "label": "客户", "required": True},
        {"key": "amount", "type": "money", "label": {"zh": "金额", "en": "Amount"}, "required": True, "min": 0},
        {"key": "signed_on", "type": "date", "label": "签约日期", "default_formula": "TODAY()"},
        {"key": "received", "type": "rollup", "label": "已回款", "source": "payment.contract",
         "field": "amount", "aggregate": "sum"},
        {"key": "outstanding", "type": "formula", "label": "未回款", "formula": "amount - received",
         "result_type": "money"},
        {"key": "customer_industry", "type": "lookup", "label": "行业", "relation": "customer",
         "field": "industry"},
        {"key": "headline", "type": "formula", "label": "标题", "result_type": "text",
         "formula": 'CONCAT(customer.name, " / ", code)'},
    ],
}
PAYMENT: dict[str, Any] = {
    "key": "payment", "label": {"zh": "回款", "en": "Payment"},
    "fields": [
        {"key": "contract", "type": "relation", "target": "contract", "label": "合同", "required": True},
        {"key": "amount", "type": "money", "label": "金额", "required": True},
    ],
}
QUOTE: dict[str, Any] = {
    "key": "quote", "label": {"zh": "报价", "en": "Quote"},
    "fields": [
        {"key": "title", "type": "text", "label": "标题", "required": True},
        {"key": "stage", "type": "select", "label": "阶段", "default": "draft", "options": [
            {"key": "draft", "label": "草稿"}, {"key": "sent", "label": "已发送"}, {"key": "lost", "label": "输单"}]},
        {"key": "probability", "type": "percent", "label": "可能性"},
        {"key": "items", "type": "subform", "label": {"zh": "明细", "en": "Items"}, "fields": [
            {"key": "product", "type": "text", "label": "产品", "required": True},
            {"key": "quantity", "type": "number", "label": "数量", "precision": 0, "min": 1},
            {"key": "unit_price", "type": "money", "label": "单价"},
            {"key": "discount", "type": "percent", "label": "折扣"},
            {"key": "subtotal", "type": "formula", "label": "小计", "result_type": "money",
             "formula": "quantity * unit_price * (1 - discount)"},
        ]},
        {"key": "total", "type": "rollup", "label": "合计", "source": "items", "field": "subtotal",
         "aggregate": "sum"},
        {"key": "discount_reason", "type": "textarea", "label": "折扣原因", "hidden": True},
        {"key": "valid_until", "type": "date", "label": "有效期"},
    ],
    "rules": [
        {"key": "big_discount", "when": "MAX(items.discount) > 0.2",
         "actions": [{"type": "show", "fields": ["discount_reason"]},
                     {"type": "required", "fields": ["discount_reason"]}]},
        {"key": "lost_means_zero", "when": 'stage = "lost"',
         "actions": [{"type": "set_value", "fields": ["probability"], "formula": "0"},
                     {"type": "readonly", "fields": ["title"]}]},
        {"key": "not_expired", "when": "NOT(ISBLANK(valid_until)) and valid_until < TODAY()",
         "actions": [{"type": "error", "message": {"zh": "有效期已过", "en": "The quote has expired"}}]},
    ],
}


def make_app() -> AppDef:
    forms = tuple(FormDef.from_dict(f, app="crm") for f in (CUSTOMER, CONTRACT, PAYMENT, QUOTE))
    return AppDef(key="crm", label=label("CRM"), forms=forms)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(dt.datetime(2024, 3, 15, 10, 0))


@pytest.fixture
def service(database: Database, clock: FixedClock) -> RecordService:
    app = make_app()
    create_form_tables(database, app, FIELD_TYPES)
    with database.transaction() as conn:
        conn.execute(sa.text("INSERT INTO users (id, login, name, active, locale, created_at) "
                             "VALUES (7, 'li', 'Li Lei', true, 'zh', :now)"), {"now": clock.now()})
    return RecordService(database, app, field_types=FIELD_TYPES, clock=clock)


ALICE = Actor(user_id=7, source="web", ip="127.0.0.1")


def field_errors(caught: pytest.ExceptionInfo[ValidationError], locale: str = "en") -> dict[str, list[str]]:
    return caught.value.as_dict(locale)["details"]  # type: ignore[no-any-return]


def test_create_coerces_defaults_and_reads_back(service: RecordService) -> None:
    record = service.create("customer", {"name": "Acme", "industry": "零售"}, actor=ALICE)
    assert record["name"] == "Acme" and record["industry"] == "retail"
    assert record["level"] == "b"  # fixed default
    assert record["version"] == 1 and record["owner"] == 7 and record["created_by"] == 7
    assert record["created_at"] == dt.datetime(2024, 3, 15, 2, 0, tzinfo=dt.UTC)
    assert service.get("customer", record["id"]) == record


def test_all_errors_per_field_in_both_languages(service: RecordService) -> None:
    with pytest.raises(ValidationError) as caught:
        service.create("contract", {"customer": 999, "amount": "abc", "amout": 1, "code": "X"})
    en = field_errors(caught)
    assert en["amount"] == ['"abc" is not a number']
    assert en["amout"] == ["Unknown field amout — did you mean amount?"]
    assert en["customer"] == ["Customer #999 does not exist"]
    assert en["code"] == ["This field is computed and cannot be written"]
    zh = field_errors(caught, "zh")
    assert zh["customer"] == ["客户 #999 不存在"]
    assert "4 problem(s)" in caught.value.text("en")


def test_required_and_unique(service: RecordService) -> None:
    service.create("customer", {"name": "Acme"})
    with pytest.raises(ValidationError) as caught:
        service.create("customer", {"name": "Acme"})
    assert field_errors(caught)["name"] == ["Another record already has this value"]
    with pytest.raises(ValidationError) as caught:
        service.create("customer", {"industry": "tech"})
    assert field_errors(caught)["name"] == ["Required"]
    assert field_errors(caught, "zh")["name"] == ["必填"]


def test_formulas_lookups_serials_and_formula_defaults(service: RecordService) -> None:
    customer = service.create("customer", {"name": "Acme", "industry": "tech"})
    first = service.create("contract", {"customer": customer["id"], "amount": "1,000.50"})
    second = service.create("contract", {"customer": customer["id"], "amount": 20})
    assert first["code"] == "HT202403-001" and second["code"] == "HT202403-002"
    assert first["signed_on"] == dt.date(2024, 3, 15)  # TODAY() from the injected clock
    assert first["received"] == Decimal("0") and first["outstanding"] == Decimal("1000.50")
    assert first["customer_industry"] == "tech"
    assert first["headline"] == "Acme / HT202403-001"


def test_serial_numbers_reset_by_period(service: RecordService, clock: FixedClock) -> None:
    customer = service.create("customer", {"name": "Acme"})
    assert service.create("contract", {"customer": customer["id"], "amount": 1})["code"] == "HT202403-001"
    clock.set(dt.datetime(2024, 4, 1, 9, 0))
    assert service.create("contract", {"customer": customer["id"], "amount": 1})["code"] == "HT202404-001"


def test_serial_numbers_are_unique_under_concurrency(service: RecordService) -> None:
    customer = service.create("customer", {"name": "Acme"})
    codes: list[str] = []
    failures: list[BaseException] = []

    def worker() -> None:
        try:
            for _ in range(5):
                codes.append(service.create("contract", {"customer": customer["id"], "amount": 1})["code"])
        except BaseException as exc:  # pragma: no cover - reported below
            failures.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert sorted(codes) == [f"HT202403-{n:03d}" for n in range(1, 21)]


def test_rollups_on_the_parent_follow_the_children(service: RecordService) -> None:
    customer = service.create("customer", {"name": "Acme"})
    contract = service.create("contract", {"customer": customer["id"], "amount": 1000})
    first = service.create("payment", {"contract": contract["id"], "amount": "300.25"})
    service.create("payment", {"contract": contract["id"], "amount": 100})
    after = service.get("contract", contract["id"])
    assert after["received"] == Decimal("400.25") and after["outstanding"] == Decimal("599.75")
    assert after["version"] == 1  # a recompute is no edit: no new version (no 409 for its editor)
    service.update("payment", first["id"], {"amount": 0}, version=1)
    assert service.get("contract", contract["id"])["outstanding"] == Decimal("900.00")
    service.delete("payment", first["id"])
    assert service.get("contract", contract["id"])["received"] == Decimal("100.00")


def test_subform_rows_are_written_with_the_parent(service: RecordService) -> None:
    quote = service.create("quote", {"title": "Q1", "items": [
        {"product": "A", "quantity": 2, "unit_price": "10.00", "discount": "10%"},
        {"product": "B", "quantity": 1, "unit_price": "5.55"},
    ]})
    assert [row["subtotal"] for row in quote["items"]] == [Decimal("18.00"), Decimal("5.55")]
    assert quote["total"] == Decimal("23.55")
    first_id = quote["items"][0]["id"]
    updated = service.update("quote", quote["id"], {"items": [
        {"id": first_id, "product": "A", "quantity": 3, "unit_price": "10.00", "discount": "10%"},
    ]}, version=quote["version"])
    assert [row["id"] for row in updated["items"]] == [first_id]  # kept, the other removed
    assert updated["total"] == Decimal("27.00")


def test_a_bad_subform_row_writes_nothing(service: RecordService, database: Database) -> None:
    with pytest.raises(ValidationError) as caught:
        service.create("quote", {"title": "Q1", "items": [
            {"product": "A", "quantity": 1}, {"quantity": 0}]})
    errors = field_errors(caught)
    assert errors["items[1].product"] == ["Required"]
    assert "items[1].quantity" in errors
    assert "items" not in errors  # each problem once, at its row, not again for the table
    with database.transaction() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM crm_quote")).scalar() == 0
        assert conn.execute(sa.text("SELECT count(*) FROM crm_quote__items")).scalar() == 0


def test_form_rules_run_on_the_server(service: RecordService) -> None:
    with pytest.raises(ValidationError) as caught:
        service.create("quote", {"title": "Q", "items": [{"product": "A", "discount": "30%"}]})
    assert field_errors(caught)["discount_reason"] == ["Required"]
    quote = service.create("quote", {"title": "Q", "discount_reason": "big client",
                                     "items": [{"product": "A", "discount": "30%"}]})
    lost = service.update("quote", quote["id"], {"stage": "lost", "probability": "50%"}, version=1)
    assert lost["probability"] == Decimal("0")  # set_value wins over input
    with pytest.raises(ValidationError) as caught:
        service.update("quote", quote["id"], {"title": "renamed"}, version=lost["version"])
    assert field_errors(caught)["title"] == ["This field is read-only"]
    with pytest.raises(ValidationError) as caught:
        service.create("quote", {"title": "old", "valid_until": "2024-01-01"})
    assert field_errors(caught)["_record"] == ["The quote has expired"]


def test_evaluate_form_gives_the_live_form() -> None:
    quote = make_app().get_form("quote")
    state = evaluate_form(quote, {"items": [{"product": "A", "quantity": "2", "unit_price": "5",
                                             "discount": "25%"}]})
    assert state.values["items"][0]["subtotal"] == Decimal("7.50")
    assert state.values["total"] == Decimal("7.50")
    assert state.visible["discount_reason"] and state.required["discount_reason"]
    calm = evaluate_form(quote, {"items": [{"product": "A", "discount": "5%"}], "stage": "lost"})
    assert not calm.visible["discount_reason"] and not calm.required["discount_reason"]
    assert calm.values["probability"] == Decimal("0") and calm.readonly["title"]
    typing = evaluate_form(quote, {"valid_until": "not yet a date"})
    assert "valid_until" in typing.input_errors


def test_optimistic_locking(service: RecordService) -> None:
    record = service.create("customer", {"name": "Acme"})
    service.update("customer", record["id"], {"industry": "tech"}, version=1)
    with pytest.raises(ConflictError) as caught:
        service.update("customer", record["id"], {"industry": "retail"}, version=1)
    assert caught.value.details == {"record": record["id"], "version": 2, "your_version": 1}
    assert "changed by someone else" in caught.value.text("en")
    assert service.get("customer", record["id"])["industry"] == "tech"


def test_audit_entries_hold_the_field_diff(service: RecordService, database: Database) -> None:
    record = service.create("customer", {"name": "Acme"}, actor=ALICE)
    service.update("customer", record["id"], {"name": "Acme Ltd", "level": "b"}, version=1, actor=ALICE)
    service.delete("customer", record["id"], actor=ALICE)
    with database.transaction() as conn:
        rows = conn.execute(sa.text(
            "SELECT action, changes, user_id, source, ip FROM audit_log ORDER BY id")).all()
    assert [r.action for r in rows] == ["create", "update", "delete"]
    changes = [r.changes if isinstance(r.changes, dict) else __import__("json").loads(r.changes) for r in rows]
    assert changes[0] == {"level": [None, "b"], "name": [None, "Acme"]}
    assert changes[1] == {"name": ["Acme", "Acme Ltd"]}  # level did not change
    assert changes[2] == {"level": ["b", None], "name": ["Acme Ltd", None]}
    assert {(r.user_id, r.source, r.ip) for r in rows} == {(7, "web", "127.0.0.1")}


def test_events_carry_changed_fields_and_share_the_transaction(
    service: RecordService, database: Database
) -> None:
    seen: list[tuple[str, frozenset[str]]] = []
    service.bus.subscribe(lambda event: seen.append((event.kind, event.changed)))
    record = service.create("customer", {"name": "Acme"})
    service.update("customer", record["id"], {"industry": "tech"}, version=1)
    assert seen == [(RECORD_CREATED, frozenset({"name", "level"})),
                    (RECORD_UPDATED, frozenset({"industry"}))]

    def refuse(event: Any) -> None:
        raise RuntimeError("a rule failed")

    unsubscribe = service.bus.subscribe(refuse, RECORD_CREATED)
    with pytest.raises(RuntimeError):
        service.create("customer", {"name": "Rolled back"})
    unsubscribe()
    with database.transaction() as conn:
        names = conn.execute(sa.text("SELECT name FROM crm_customer")).scalars().all()
    assert names == ["Acme"]


def test_delete_refuses_when_referenced_and_unknown_ids_are_not_found(service: RecordService) -> None:
    customer = service.create("customer", {"name": "Acme"})
    service.create("contract", {"customer": customer["id"], "amount": 1})
    with pytest.raises(ConflictError, match="still referenced by 1 Contract record through"):
        service.delete("customer", customer["id"])
    with pytest.raises(NotFoundError):
        service.get("customer", 12345)
    with pytest.raises(NotFoundError, match="did you mean customer"):
        service.form("custmer")


def test_create_many_is_all_or_nothing(service: RecordService, database: Database) -> None:
    with pytest.raises(RowsInvalid) as caught:
        service.create_many("customer", [{"name": "A"}, {"name": ""}, {"name": "A"}, {"name": "B"}])
    rows = caught.value.as_dict("en")["details"]["rows"]
    assert rows == {"1": {"name": ["Required"]}, "2": {"name": ["Same value as row 1"]}}
    with database.transaction() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM crm_customer")).scalar() == 0
    ids = service.create_many("customer", [{"name": f"C{i}"} for i in range(50)])
    assert len(ids) == 50 and ids == sorted(ids)
    customer = ids[0]
    contracts = service.create_many("contract", [{"customer": customer, "amount": n} for n in (1, 2, 3)])
    assert [service.get("contract", i)["code"] for i in contracts] == ["HT202403-001", "HT202403-002", "HT202403-003"]
    service.create_many("payment", [{"contract": contracts[0], "amount": 1}, {"contract": contracts[0], "amount": 0.5}])
    assert service.get("contract", contracts[0])["received"] == Decimal("1.50")


def test_an_update_that_changes_nothing_writes_nothing(service: RecordService, database: Database) -> None:
    record = service.create("customer", {"name": "Acme", "industry": "tech"})
    same = service.update("customer", record["id"], {"name": "Acme", "industry": "科技"}, version=1)
    assert same["version"] == 1
    with database.transaction() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM audit_log")).scalar() == 1


def test_events_say_which_channel_wrote(service: RecordService) -> None:
    sources: list[str] = []
    service.bus.subscribe(lambda event: sources.append(event.source))
    service.create("customer", {"name": "A"}, actor=ALICE)
    service.create_many("customer", [{"name": "B"}], actor=Actor(source="import"))
    assert sources == ["web", "import"]
