"""Flows and rules together: the flow triggers fire rules (a rule on
flow_approved updates the record and tells its owner; node and flow
narrow them), the start_flow action starts a flow from a rule, and flows
with a create or condition trigger start themselves."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import pytest
import sqlalchemy as sa
import yaml

from engine.composition import compose
from engine.core.clock import FixedClock
from engine.core.i18n import Label
from engine.fields import FIELD_TYPES
from engine.packages import install_package
from engine.records.importing import import_file
from engine.rules.triggers import TRIGGERS
from engine.store.database import Database
from engine.store.models import Notification, RuleRun
from tests.flows.conftest import NOW, PEOPLE, World, approval, write_package

NOTICES = cast(sa.Table, Notification.__table__)
RUNS = cast(sa.Table, RuleRun.__table__)

RULES: list[dict[str, Any]] = [
    {"key": "signed", "label": "Signed once approved", "form": "contract",
     "trigger": {"type": "flow_approved", "flow": "deal"},
     "actions": [{"type": "update_record", "values": {"stage": '"signed"'}},
                 {"type": "notify", "to": ["owner"], "title": "{{ record.title }} approved", "text": "ok"}]},
    {"key": "rejected", "label": "Back to draft", "form": "contract", "trigger": {"type": "flow_rejected"},
     "actions": [{"type": "update_record", "values": {"stage": '"draft"'}}]},
    {"key": "withdrawn", "label": "Withdrawn", "form": "contract", "trigger": {"type": "flow_withdrawn"},
     "actions": [{"type": "update_record", "values": {"note": '"withdrawn"'}}]},
    {"key": "at_finance", "label": "Tell eve", "form": "contract",
     "trigger": {"type": "flow_node_reached", "node": "finance"},
     "actions": [{"type": "notify", "to": [{"member": "eve"}], "title": "{{ record.title }} at finance", "text": "ok"}]},
    {"key": "other_flow", "label": "Never", "form": "contract",
     "trigger": {"type": "flow_submitted", "flow": "other"},
     "actions": [{"type": "notify", "to": [{"member": "eve"}], "title": "never", "text": "never"}]},
    {"key": "big_review", "label": "Big ones go to review", "form": "contract",
     "trigger": {"type": "record_created"}, "condition": "amount > 1000000",
     "actions": [{"type": "start_flow", "flow": "deal", "comment": "auto"}]},
]


@pytest.fixture
def world(database: Database, tmp_path: Path) -> World:
    root = write_package(tmp_path / "shop")
    # The flows the rules name ship with them (a rule naming an unknown flow
    # does not install); the tests publish the versions they need.
    (root / "flows").mkdir()
    for key in ("deal", "other"):
        (root / "flows" / f"{key}.yaml").write_text(yaml.safe_dump(
            {"schema_version": 1, "key": key, "label": key, "form": "contract", "enabled": key == "deal",
             "nodes": [approval("manager", "ann")]}), encoding="utf-8")
    (root / "rules").mkdir()
    for rule in RULES:
        (root / "rules" / f"{rule['key']}.yaml").write_text(yaml.safe_dump({"schema_version": 1, **rule}),
                                                           encoding="utf-8")
    install_package(database, root, FIELD_TYPES)
    engine = compose(database, clock=FixedClock(NOW))
    users = {login: engine.org.create_user(login, login.title()).id for login in PEOPLE}
    return World(engine, users, database)


def titles(world: World, login: str) -> list[str]:
    with world.database.reading() as conn:
        return list(conn.execute(sa.select(NOTICES.c.title).where(NOTICES.c.user_id == world.users[login])
                                 .order_by(NOTICES.c.id)).scalars())


def ran(world: World) -> list[tuple[str, str]]:
    with world.database.reading() as conn:
        return [(r.rule, r.status) for r in conn.execute(sa.select(RUNS.c.rule, RUNS.c.status).order_by(RUNS.c.id))]


def deal_flow(world: World) -> None:
    world.publish({"key": "deal", "nodes": [approval("manager", "ann"), approval("finance", "bob")]})


def test_a_rule_on_flow_approved_updates_the_record_and_tells_its_owner(world: World) -> None:
    deal_flow(world)
    record = world.record(title="Deal A", amount=10)
    world.submit(record)
    assert titles(world, "eve") == []
    world.act("ann")
    assert titles(world, "eve") == ["Deal A at finance"]  # node narrowed: not at manager
    assert world.get(record)["stage"] is None
    world.act("bob")
    assert world.get(record)["stage"] == "signed"
    assert "Deal A approved" in titles(world, "sub")
    assert ("signed", "done") in ran(world) and ("other_flow", "done") not in ran(world)


def test_rules_on_rejected_and_withdrawn(world: World) -> None:
    deal_flow(world)
    first, second = world.record(title="A", stage="review"), world.record(title="B")
    world.submit(first)
    world.act("ann", "reject", comment="no")
    assert world.get(first)["stage"] == "draft"
    view = world.submit(second)
    world.flows.withdraw(view.id, actor=world.actor("sub"))
    assert world.get(second)["note"] == "withdrawn"


def test_start_flow_from_a_rule(world: World) -> None:
    deal_flow(world)
    small, big = world.record(title="Small", amount=10), world.record(title="Big", amount=2_000_000)
    assert world.get(small)["flow_status"] is None
    assert world.get(big)["flow_status"] == "running"
    [view] = world.flows.instances("shop", "contract", big, actor=world.actor("sub"))
    assert view.submitter_id == world.users["sub"]  # the owner
    assert next(e.comment for e in world.flows.history(view.id, actor=world.actor("sub"))) == "auto"
    assert world.todo("ann")


@pytest.mark.parametrize("trigger", [{"type": "create"}, {"type": "condition", "condition": "amount > 100"}])
def test_a_flow_starts_itself(world: World, trigger: dict[str, Any]) -> None:
    world.publish({"key": "auto", "trigger": trigger, "nodes": [approval("manager", "ann")]})
    first = world.record(title="One", amount=500)
    assert world.get(first)["flow_status"] == "running"
    world.act("ann")
    assert world.get(first)["flow_status"] == "approved"
    second = world.record(title="Two", amount=5)
    started = world.get(second)["flow_status"] == "running"
    assert started is (trigger["type"] == "create")
    if trigger["type"] == "condition":
        service = world.engine.service("shop")
        service.update("contract", second, {"note": "still small"}, version=None)
        assert world.get(second)["flow_status"] is None
        service.update("contract", second, {"amount": 200}, version=None)  # now it holds: starts
        assert world.get(second)["flow_status"] == "running"
        world.act("ann")
        service.update("contract", second, {"amount": 300}, version=None)  # held already: no new flow
        assert len(world.flows.instances("shop", "contract", second, actor=world.actor("sub"))) == 1


@pytest.mark.parametrize("on_import", [False, True])
def test_an_import_starts_a_flow_only_when_asked(world: World, tmp_path: Path, on_import: bool) -> None:
    world.publish({"key": "auto", "trigger": {"type": "create", "on_import": on_import},
                   "nodes": [approval("manager", "ann")]})
    sheet = tmp_path / "contracts.csv"
    sheet.write_text("title,amount\nOld deal,500\nOlder deal,700\n", encoding="utf-8")
    report = import_file(world.engine.service("shop"), "contract", sheet)
    assert report.created == 2, report
    statuses = {r["title"]: r["flow_status"] for r in world.engine.service("shop").list("contract")["records"]}
    assert statuses == dict.fromkeys(["Old deal", "Older deal"], "running" if on_import else None)


def test_flow_triggers_say_themselves() -> None:
    form = type("F", (), {"label": Label("合同", "contract")})()
    assert TRIGGERS.get("flow_approved").describe({"flow": "deal"}, form).en == \
        "when a contract's approval (deal) is approved"
    assert TRIGGERS.get("flow_node_reached").describe({"node": "finance"}, form).zh == "合同的审批到达节点 finance时"
    assert TRIGGERS.get("flow_withdrawn").describe({}, form).zh == "合同的审批被撤回时"
