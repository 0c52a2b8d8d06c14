"""The rules for their managers (engine.rules.admin): the list with how each
rule ran, enabling and disabling (a new definition version, seen at once in
this process and at the next check in another), the run log by rule, record
and status, retrying, and manual runs for those who may update the record —
on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from engine.composition import RecordServices, compose
from engine.core.clock import FixedClock
from engine.core.errors import ConflictError, NotFoundError, PermissionDenied, ValidationError
from engine.org.permissions import parse_role
from engine.org.principal import Principal
from engine.records.access import AppAccess
from engine.records.actor import Actor
from engine.rules.admin import RuleAdmin
from engine.store.models import Definition
from tests.rules.conftest import NOW, Install

DEFINITIONS: Any = Definition.__table__

BIG = {"key": "flag_big", "label": {"zh": "标记大单", "en": "Flag big deals"}, "form": "deal",
       "trigger": {"type": "record_created"}, "condition": "amount >= 100000",
       "actions": [{"type": "update_record", "values": {"flag": '"big"'}}]}
CLOSE = {"key": "close", "label": "Close the deal", "form": "deal",
         "trigger": {"type": "manual", "button": {"zh": "成交", "en": "Close"}, "confirm": "Close it?"},
         "actions": [{"type": "update_record", "values": {"stage": '"won"'}}]}
FRAGILE = {"key": "fragile", "label": "Fragile", "form": "deal", "trigger": {"type": "record_updated",
           "fields": ["stage"]}, "actions": [{"type": "update_record", "values": {"amount": "1 / 0"}}]}


def member(user_id: int, actions: list[str], write: str = "all") -> Actor:
    role = parse_role("clerk", {"deal": {"actions": actions, "read": "all", "write": write}})
    principal = Principal(user_id=user_id, login=f"u{user_id}", roles=frozenset({"clerk"}))
    return Actor(user_id=user_id, source="web", access=AppAccess(principal, (role,), app="shop"))


@pytest.fixture
def world(install: Install) -> Any:
    engine = install([BIG, CLOSE, FRAGILE])
    org = engine.org
    people = {login: org.create_user(login, login, is_admin=login == "boss").id
              for login in ("boss", "owner", "clerk")}
    org.add_app_owner("shop", people["owner"])
    return engine, RuleAdmin(engine.rules), people


def test_the_list_says_what_fires_each_rule_and_how_it_ran(world: Any) -> None:
    engine, admin, people = world
    shop = engine.service("shop")
    shop.create("deal", {"name": "Big", "amount": 250000})
    small = shop.create("deal", {"name": "Small", "amount": 5})
    listed = {s.key: s for s in admin.summaries("shop", user_id=people["owner"])}
    assert list(listed) == ["close", "flag_big", "fragile"]
    flag = listed["flag_big"]
    assert flag.when.en == "when a Deal is created" and flag.when.zh == "新建Deal时"
    assert flag.counts == {"done": 1, "skipped": 1, "failed": 0, "cut": 0}
    assert flag.last_run is not None and flag.last_run.status == "skipped"
    assert [t for t, _ in flag.actions] == ["update_record"] and flag.enabled
    assert flag.actions[0][1].en == "Update this record"
    close = listed["close"]
    assert close.manual and close.button.en == "Close" and close.confirm is not None and close.confirm.en == "Close it?"
    assert listed["fragile"].when.en == "when Stage of a Deal changes" and listed["fragile"].when.zh == "Deal的Stage变化时"
    assert listed["fragile"].as_json()["counts"]["failed"] == 0 and listed["fragile"].last_run is None
    assert admin.summary("shop", "flag_big", user_id=None).last_run.record_id == small["id"]
    with pytest.raises(PermissionDenied):
        admin.summaries("shop", user_id=people["clerk"])
    with pytest.raises(NotFoundError):
        admin.summary("shop", "nope", user_id=people["boss"])


def test_a_disabled_rule_stops_firing_in_this_process_at_once(world: Any) -> None:
    engine, admin, people = world
    off = admin.set_enabled("shop", "flag_big", False, user_id=people["owner"])
    assert not off.enabled
    shop = engine.service("shop")
    here = shop.create("deal", {"name": "B", "amount": 200000})
    assert shop.get("deal", here["id"])["flag"] is None
    assert admin.set_enabled("shop", "flag_big", True, user_id=people["boss"]).enabled
    again = engine.service("shop").create("deal", {"name": "D", "amount": 200000})
    assert engine.service("shop").get("deal", again["id"])["flag"] == "big"
    with pytest.raises(PermissionDenied):
        admin.set_enabled("shop", "flag_big", False, user_id=people["clerk"])
    assert engine.rules.rule("shop", "flag_big").rule.enabled


def test_another_process_sees_a_disabled_rule_after_its_check_interval(world: Any) -> None:
    engine, admin, people = world
    moments = [0.0]
    other = compose(engine.database, clock=FixedClock(NOW))  # another process, with a clock we move
    other.records = RecordServices(engine.database, other.bus, field_types=other.field_types, clock=other.clock,
                                   check_seconds=2.0, now=lambda: moments[0])
    other.rules.records = other.flows.records = other.records
    assert other.rules.rule("shop", "flag_big").rule.enabled
    admin.set_enabled("shop", "flag_big", False, user_id=people["owner"])
    assert other.rules.rule("shop", "flag_big").rule.enabled  # not checked yet
    moments[0] = 2.5
    assert not other.rules.rule("shop", "flag_big").rule.enabled
    there = other.records.get("shop").create("deal", {"name": "C", "amount": 200000})
    assert other.records.get("shop").get("deal", there["id"])["flag"] is None


def test_the_run_log_by_rule_record_and_status_paged_and_retry(world: Any) -> None:
    engine, admin, people = world
    shop = engine.service("shop")
    deals = [shop.create("deal", {"name": f"D{i}", "amount": 10}) for i in range(3)]
    for deal in deals:
        shop.update("deal", deal["id"], {"stage": "next"}, version=deal["version"])
    failed = admin.run_log("shop", user_id=people["owner"], rule="fragile", status="failed")
    assert [r.record_id for r in failed] == [d["id"] for d in reversed(deals)]
    first = admin.run_log("shop", user_id=people["owner"], status="failed", limit=2)
    rest = admin.run_log("shop", user_id=people["owner"], status="failed", limit=2, before=first[-1].id)
    assert [r.id for r in first + rest] == [r.id for r in failed]
    mine = admin.run_log("shop", user_id=None, form="deal", record_id=deals[0]["id"])
    assert {r.rule for r in mine} == {"fragile"}
    # flag_big's three skips since the last flush are one row that names them.
    [skips] = admin.run_log("shop", user_id=None, rule="flag_big", status="skipped")
    assert skips.record_id is None and skips.actions[0]["detail"]["count"] == 3
    assert skips.actions[0]["detail"]["records"] == [d["id"] for d in deals]
    with pytest.raises(ValidationError):
        admin.run_log("shop", user_id=None, status="exploded")
    with pytest.raises(NotFoundError):
        admin.run_log("shop", user_id=None, form="nope")
    with pytest.raises(NotFoundError):
        admin.run_log("shop", user_id=None, rule="nope")
    with pytest.raises(PermissionDenied):
        admin.run_log("shop", user_id=people["clerk"])
    with pytest.raises(PermissionDenied):
        admin.retry("shop", failed[0].id, user_id=people["clerk"])
    retried = admin.retry("shop", failed[0].id, user_id=people["owner"])
    assert retried.status == "failed" and retried.retry_of == failed[0].id
    with pytest.raises(ConflictError):
        admin.retry("shop", admin.run_log("shop", user_id=None, status="skipped")[0].id, user_id=None)


def test_a_manual_run_needs_read_and_update_and_shows_on_the_record(world: Any) -> None:
    engine, admin, people = world
    shop = engine.service("shop")
    deal = shop.create("deal", {"name": "Manual", "amount": 10})
    assert [s.key for s in admin.manual_rules("shop", "deal")] == ["close"]
    with pytest.raises(PermissionDenied):
        admin.run_manual("shop", "close", deal["id"], actor=member(people["clerk"], ["read"]))
    with pytest.raises(PermissionDenied):
        admin.run_manual("shop", "close", deal["id"], actor=member(people["clerk"], ["read", "update"], "own"))
    assert shop.get("deal", deal["id"])["stage"] is None
    ran = admin.run_manual("shop", "close", deal["id"], actor=member(people["clerk"], ["read", "update"]))
    assert ran.status == "done" and ran.user_id == people["clerk"]
    assert shop.get("deal", deal["id"])["stage"] == "won"
    seen = admin.record_runs("shop", "deal", deal["id"], actor=member(people["clerk"], ["read"]))
    # The skipped flag_big is left out; the stage change fired fragile (which failed).
    assert [(r.rule, r.status) for r in seen] == [("fragile", "failed"), ("close", "done")]
    with pytest.raises(PermissionDenied):
        admin.record_runs("shop", "deal", deal["id"], actor=member(people["clerk"], ["create"]))
    admin.set_enabled("shop", "close", False, user_id=None)
    assert admin.manual_rules("shop", "deal") == []
    with pytest.raises(ConflictError):
        admin.run_manual("shop", "close", deal["id"], actor=member(people["clerk"], ["read", "update"]))


def test_switching_reads_the_newest_version_not_a_stale_cache(world: Any) -> None:
    engine, admin, people = world
    other = RuleAdmin(compose(engine.database, clock=FixedClock(NOW), check_seconds=3600).rules)
    assert other.summary("shop", "flag_big", user_id=None).enabled  # cached there from now on
    admin.set_enabled("shop", "flag_big", False, user_id=people["owner"])
    # The other process still believes it is on; turning it off there publishes nothing new,
    # turning it on publishes a version that is on.
    other.set_enabled("shop", "flag_big", False, user_id=people["owner"])
    with engine.database.reading() as conn:
        versions = [row.body["enabled"] for row in conn.execute(
            sa.select(DEFINITIONS.c.body).where(DEFINITIONS.c.kind == "rule", DEFINITIONS.c.key == "flag_big")
            .order_by(DEFINITIONS.c.version))]
    assert versions == [True, False]
    assert other.set_enabled("shop", "flag_big", True, user_id=None).enabled
    assert not admin.set_enabled("shop", "flag_big", False, user_id=None).enabled
