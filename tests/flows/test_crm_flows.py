"""The CRM's four flows end to end on the installed CRM, with the demo's
people in their departments and roles: contract approval under and over
1,000,000 (the general manager only over; finance countersigns, everyone;
legal copied), the quote discount over and under 15%, the payment receipt
that finance completes with the received date (required), and the urgent
ticket that escalates itself to the service manager."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from engine.composition import Engine, compose
from engine.core.clock import FixedClock
from engine.core.errors import ValidationError
from engine.fields import FIELD_TYPES
from engine.packages import install_package
from engine.records.actor import Actor
from engine.store.database import Database
from engine.store.migrate import upgrade_system_tables
from runtime.demo import _people
from templates_lib import TEMPLATES
from tests.conftest import admin_execute, postgres_schema_database

NOW = dt.datetime(2026, 12, 4, 9, 30)


@dataclass
class Crm:
    """The installed CRM (shared by the module's tests: each follows its own
    instance, ``current``, so the others' tasks do not count)."""

    engine: Engine
    team: dict[str, int]
    current: int = 0
    customers: int = 0

    def actor(self, login: str) -> Actor:
        return Actor(self.team[login], "web")

    def create(self, form: str, values: dict[str, Any], login: str = "zhang.wei") -> int:
        return int(self.engine.service("crm").create(form, values, actor=self.actor(login))["id"])

    def get(self, form: str, record_id: int) -> dict[str, Any]:
        return self.engine.service("crm").get(form, record_id)

    def todo(self, login: str) -> list[Any]:
        return [t for t in self.engine.flows.tasks(self.team[login], "todo").items if t.instance_id == self.current]

    def copies(self, login: str) -> list[Any]:
        return [t for t in self.engine.flows.tasks(self.team[login], "cc").items if t.instance_id == self.current]

    def act(self, login: str, action: str = "approve", **kw: Any) -> Any:
        [task] = self.todo(login)
        return self.engine.flows.act(task.id, action, actor=self.actor(login), **kw)

    def submit(self, form: str, record_id: int, login: str = "zhang.wei") -> Any:
        view = self.engine.flows.submit("crm", form, record_id, actor=self.actor(login))
        self.current = int(view.id)
        return view

    def status(self, instance: int) -> str:
        return str(self.engine.flows.instance(instance, actor=Actor(None, "test")).status)

    def customer(self) -> int:
        self.customers += 1  # names are unique
        return self.create("customer", {"name": f"远航物流有限公司 {self.customers}"})


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def crm(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Crm]:
    """The CRM installed once per database kind for the module (installing it is the slow part)."""
    if request.param == "sqlite":
        database, schema = Database(f"sqlite:///{tmp_path_factory.mktemp('crm') / 'qiqiao.sqlite3'}"), None
    else:
        database, schema = postgres_schema_database(request.getfixturevalue("postgres_url"))
    try:
        upgrade_system_tables(database)
        install_package(database, TEMPLATES.get("crm").path, FIELD_TYPES, package="crm")
        engine = compose(database, clock=FixedClock(NOW))
        yield Crm(engine, _people(engine.org, "pw-123456"))
    finally:
        database.dispose()
        if schema is not None:
            admin_execute(request.getfixturevalue("postgres_url"), f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def contract(crm: Crm, amount: str) -> int:
    return crm.create("contract", {"name": "物流系统采购合同", "customer": crm.customer(), "amount": amount})


@pytest.mark.parametrize(("amount", "general_manager"), [("800000", False), ("1000000", False), ("1200000", True)])
def test_contract_approval(crm: Crm, amount: str, general_manager: bool) -> None:
    record = contract(crm, amount)
    view = crm.submit("contract", record)
    assert view.current == ["manager"] and [t.node for t in crm.todo("zhao.lei")] == ["manager"]
    crm.act("zhao.lei")
    # Finance countersigns: both of them, the first approval is not enough.
    assert [t.node for t in crm.todo("sun.li")] == [t.node for t in crm.todo("he.jing")] == ["finance_sign"]
    crm.act("sun.li")
    assert crm.status(view.id) == "running" and crm.todo("he.jing")
    crm.act("he.jing")
    if general_manager:
        assert [t.node for t in crm.todo("ma.jun")] == ["general_manager"]
        assert crm.status(view.id) == "running"
        crm.act("ma.jun")
    assert crm.todo("ma.jun") == []
    assert crm.status(view.id) == "approved"
    assert crm.get("contract", record)["flow_status"] == "approved"
    assert [(c.node, c.record_id) for c in crm.copies("zheng.yi")] == [("legal_copy", record)]


def test_a_finance_rejection_goes_back_to_the_manager(crm: Crm) -> None:
    view = crm.submit("contract", contract(crm, "500000"))
    crm.act("zhao.lei")
    crm.act("sun.li", "reject", comment="付款条件不清楚")
    assert crm.status(view.id) == "running"
    assert crm.todo("he.jing") == [] and [t.node for t in crm.todo("zhao.lei")] == ["manager"]


def quote(crm: Crm, discount: str) -> int:
    crm.customers += 1
    product = crm.create("product", {"name": f"智能仓储系统 {crm.customers}", "sales_price": "100000"})
    return crm.create("quote", {"customer": crm.customer(), "items": [
        {"product": product, "quantity": 2, "unit_price": "100000", "discount": "0.05"},
        {"product": product, "quantity": 1, "unit_price": "80000", "discount": discount}]})


@pytest.mark.parametrize(("discount", "director"), [("0.20", True), ("0.15", False)])
def test_quote_discount(crm: Crm, discount: str, director: bool) -> None:
    view = crm.submit("quote", quote(crm, discount))
    if director:
        assert [t.node for t in crm.todo("qian.feng")] == ["sales_director"]
        crm.act("qian.feng")
    else:
        assert crm.todo("qian.feng") == []
    assert crm.status(view.id) == "approved"


def test_payment_receipt_finance_fills_the_received_date(crm: Crm) -> None:
    receipt = crm.create("payment_receipt", {"contract": contract(crm, "300000"), "amount": "100000",
                                             "method": "bank_transfer"}, login="zhao.lei")
    view = crm.submit("payment_receipt", receipt, login="zhao.lei")
    [task] = crm.todo("sun.li")
    assert task.kind == "handle" and crm.todo("he.jing")
    with pytest.raises(ValidationError):  # received_on is required at this step
        crm.engine.flows.act(task.id, "complete", actor=crm.actor("sun.li"), values={"received_on": None})
    assert crm.status(view.id) == "running"
    with pytest.raises(ValidationError):  # the contract is not the finance step's to change
        crm.engine.flows.act(task.id, "complete", actor=crm.actor("sun.li"), values={"payer": "x"})
    crm.engine.flows.act(task.id, "complete", actor=crm.actor("sun.li"), values={"received_on": "2026-12-03"})
    assert crm.status(view.id) == "approved"
    assert crm.get("payment_receipt", receipt)["received_on"] == dt.date(2026, 12, 3)
    assert crm.todo("he.jing") == []  # any of finance: the other's task is cancelled


def test_an_urgent_ticket_escalates_itself(crm: Crm) -> None:
    ticket = crm.create("service_ticket", {"subject": "仓库系统无法登录", "customer": crm.customer(),
                                           "description": "全部账号登录失败", "priority": "normal"}, login="zhou.min")
    assert crm.get("service_ticket", ticket)["flow_status"] is None
    crm.engine.service("crm").update("service_ticket", ticket, {"priority": "urgent"}, version=None,
                                     actor=crm.actor("zhou.min"))
    [instance] = crm.engine.flows.instances("crm", "service_ticket", ticket, actor=crm.actor("zhou.min"))
    crm.current = int(instance.id)
    assert instance.flow == "ticket_escalation" and instance.submitter_id == crm.team["zhou.min"]
    [task] = crm.todo("liu.yang")
    assert task.kind == "handle"
    # The service manager is reminded after 30 minutes.
    later = dt.datetime(2026, 12, 4, 10, 0, tzinfo=crm.engine.clock.tz)
    assert crm.engine.flows.run_due(later) == 1
    with pytest.raises(ValidationError):  # who handles it must be named
        crm.act("liu.yang", "complete")
    crm.act("liu.yang", "complete", values={"assignee": crm.team["zhou.min"]})
    assert crm.status(instance.id) == "approved"
    assert [c.node for c in crm.copies("zhou.min")] == ["tell_assignee"]
    assert crm.get("service_ticket", ticket)["assignee"] == crm.team["zhou.min"]
