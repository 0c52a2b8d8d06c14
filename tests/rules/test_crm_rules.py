"""The CRM's own rules (templates_lib/crm/rules/), each working on the CRM
with its people, roles and departments, on SQLite and PostgreSQL: a fixed
clock moves to the morning after and the worker's tick runner fires the
date and schedule rules once."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

import pytest
import sqlalchemy as sa

from engine.composition import Engine, compose
from engine.core.clock import FixedClock
from engine.fields import FIELD_TYPES
from engine.org.service import OrgService
from engine.packages import install_package
from engine.rules import runs
from engine.rules.ticks import run_due
from engine.rules.webhooks import hook_token, receive
from engine.store.database import Database
from engine.store.models import Notification, OutboxMessage, Todo
from runtime.demo import _people
from templates_lib.crm import PACKAGE_PATH as CRM

TODOS = cast(sa.Table, Todo.__table__)
NOTES = cast(sa.Table, Notification.__table__)
OUTBOX = cast(sa.Table, OutboxMessage.__table__)
T0 = dt.datetime(2026, 12, 4, 8, 0)  # Asia/Shanghai
SECRET = "crm-rules-test"


@pytest.fixture
def crm(database: Database) -> tuple[Engine, FixedClock, dict[str, int]]:
    clock = FixedClock(T0)
    install_package(database, CRM, FIELD_TYPES, package="crm", clock=clock)
    people = _people(OrgService(database, clock), "PASSWORD")
    return compose(database, clock=clock), clock, people


def rows(engine: Engine, table: sa.Table, *where: Any) -> list[Any]:
    with engine.database.reading() as conn:
        return list(conn.execute(sa.select(table).where(*where).order_by(table.c.id)).mappings())


def statuses(engine: Engine, rule: str) -> list[str]:
    with engine.database.reading() as conn:
        return [r.status for r in runs.read_runs(conn, app="crm", rule=rule)]


def test_the_crm_rules_work_on_the_crm(crm: tuple[Engine, FixedClock, dict[str, int]]) -> None:
    engine, clock, people = crm
    crm_ = engine.service("crm")
    zhang, liu = people["zhang.wei"], people["liu.yang"]
    sales = {people[login] for login in ("zhao.lei", "zhang.wei", "li.na", "wang.fang", "chen.jie")}

    # A customer nobody followed up for 40 days (created back then) goes back to the pool tonight.
    clock.set(T0 - dt.timedelta(days=40))
    stale = crm_.create("customer", {"name": "沉睡科技", "owner": zhang})
    clock.set(T0)
    customer = crm_.create("customer", {"name": "华信科技", "owner": zhang})

    # Won opportunity -> a draft contract for its owner, who is told.
    deal = crm_.create("opportunity", {"name": "华信 ERP", "customer": customer["id"], "stage": "engaging",
                                      "amount": "120000", "owner": zhang})
    crm_.update("opportunity", deal["id"], {"stage": "won", "close_value": "118000"}, version=None)
    [contract] = crm_.list("contract", filter={"field": "opportunity", "op": "eq", "value": deal["id"]})["records"]
    assert (contract["name"], contract["status"], contract["owner"], str(contract["amount"])) == \
        ("华信 ERP 合同", "draft", zhang, "118000.00")
    assert any("华信 ERP" in n["title"] for n in rows(engine, NOTES, NOTES.c.user_id == zhang))

    # The website form posts a lead: created, then assigned round the sales department.
    token = hook_token(SECRET, "crm", "website_lead")
    owners = []
    for n in range(2):
        entry = receive(engine.rules, "crm", "website_lead", token,
                        {"contact": {"name": f"访客{n}", "company": f"访客公司{n}", "phone": "13800000000"},
                         "message": "想了解报价"}, secret=SECRET)
        assert entry.status == "done"
        lead_id = entry.actions[0]["detail"]["created"]
        lead = crm_.get("lead", lead_id)
        assert lead["source"] == "website" and lead["owner"] in sales
        owners.append(lead["owner"])
        assert any(f"访客{n}" in r["title"] for r in rows(engine, NOTES, NOTES.c.user_id == lead["owner"]))
    assert owners[0] != owners[1]

    # A follow-up's next date -> a todo for its owner at 09:00 that morning.
    crm_.create("follow_up", {"customer": customer["id"], "method": "phone", "followed_at": T0.isoformat(),
                              "content": "电话沟通", "next_follow_up_at": "2026-12-06T15:00:00", "owner": zhang})
    [todo] = [t for t in rows(engine, TODOS, TODOS.c.user_id == zhang) if "华信科技" in t["title"]]
    assert todo["due_at"].replace(tzinfo=None) == dt.datetime(2026, 12, 6, 1, 0)  # 09:00 in Shanghai, in UTC

    # A contract ending in 31 days: its renewal todo comes tomorrow at 09:00.
    ending = crm_.create("contract", {"name": "年度服务", "customer": customer["id"], "amount": "50000",
                                      "status": "executing", "signed_on": "2026-01-05", "start_on": "2026-01-05",
                                      "end_on": (T0.date() + dt.timedelta(days=31)).isoformat(),
                                      "owner": zhang})
    # A payment plan due today and unpaid: overdue tomorrow at 09:00.
    plan = crm_.create("payment_plan", {"contract": ending["id"], "installment": 1, "due_on": T0.date().isoformat(),
                                        "amount": "20000", "owner": zhang})
    # A normal ticket opened 20 hours ago: its 24-hour SLA runs out at noon.
    ticket = crm_.create("service_ticket", {"subject": "无法登录", "customer": customer["id"], "description": "报错",
                                            "priority": "normal", "opened_at": (T0 - dt.timedelta(hours=20)).isoformat()})

    clock.set(T0 + dt.timedelta(days=1, hours=1, minutes=1))  # tomorrow 09:01
    ran = [run_due(engine.rules, clock.now(), "test") for _ in range(3)]  # a call catches up a day at most
    assert ran[0] > 0 and ran[-1] == 0

    titles = [t["title"] for t in rows(engine, TODOS, TODOS.c.user_id == zhang)]
    assert any("续签合同：年度服务" in t for t in titles)
    assert crm_.get("payment_plan", plan["id"])["status"] == "overdue"
    assert any(t.startswith("催款") for t in titles)
    escalated = rows(engine, NOTES, NOTES.c.user_id == liu)
    assert any(ticket["code"] in n["title"] for n in escalated)
    robot = rows(engine, OUTBOX, OUTBOX.c.channel == "dingtalk")
    assert [m["recipient"] for m in robot] == ["service"]
    pooled = crm_.get("customer", stale["id"])
    assert (pooled["in_public_pool"], pooled["owner"], pooled["previous_owner"], pooled["pool_reason"]) == \
        (True, None, zhang, "overdue")
    assert crm_.get("customer", customer["id"])["in_public_pool"] is False
    for rule in ("won_opportunity_contract", "website_lead", "assign_new_lead", "follow_up_todo",
                 "contract_renewal", "payment_overdue_reminder", "ticket_sla_escalation", "customer_back_to_pool"):
        assert "done" in statuses(engine, rule), rule
    assert "failed" not in {s for rule in ("contract_renewal", "payment_overdue_reminder") for s in statuses(engine, rule)}

