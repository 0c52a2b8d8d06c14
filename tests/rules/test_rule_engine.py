"""The rule engine on record events: triggers, conditions with PREVIOUS(),
data actions through the record service ("by rule X" in the audit), the run
log, failures isolated in a savepoint and retried, loops cut and logged,
imports, manual runs — on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from engine.core.errors import ConflictError, NotFoundError
from engine.records.actor import Actor
from engine.rules import runs
from engine.store.audit import AUDIT
from tests.rules.conftest import Install

BIG_DEAL = {
    "key": "flag_big_deals", "label": "Flag big deals", "form": "deal",
    "trigger": {"type": "record_created"}, "condition": "amount >= 100000",
    "actions": [{"type": "update_record", "values": {"flag": '"big"'}}],
}
WON = {
    "key": "contract_when_won", "label": "Contract when won", "form": "deal",
    "trigger": {"type": "record_updated", "fields": ["stage"]},
    "condition": 'AND(stage = "won", PREVIOUS(stage) <> "won")',
    "actions": [{"type": "create_record", "form": "contract",
                 "values": {"title": 'name & " contract"', "deal": "id", "amount": "amount"}}],
}
COUNT_DEALS = {
    "key": "count_deals", "label": "Count deals", "form": "deal", "on_import": True,
    "trigger": {"type": "record_created"},
    "actions": [{"type": "update_related", "target": "customer",
                 "values": {"deals": "IF(ISBLANK(customer.deals), 0, customer.deals) + 1"}}],
}


def all_runs(engine: Any, **where: Any) -> list[runs.RunEntry]:
    with engine.database.reading() as conn:
        return list(reversed(runs.read_runs(conn, app="shop", **where)))


def test_a_created_record_fires_its_rule_when_the_condition_holds(install: Install) -> None:
    engine = install([BIG_DEAL])
    shop = engine.service("shop")
    big = shop.create("deal", {"name": "Big", "amount": 250000})
    small = shop.create("deal", {"name": "Small", "amount": 10})
    assert shop.get("deal", big["id"])["flag"] == "big"
    assert shop.get("deal", small["id"])["flag"] is None
    logged = all_runs(engine, rule="flag_big_deals")
    assert [(r.record_id, r.status) for r in logged] == [(big["id"], "done"), (small["id"], "skipped")]
    assert logged[0].actions == [{"type": "update_record", "outcome": "done", "detail": {"updated": [big["id"]]}}]
    assert logged[0].trigger == "record_created" and logged[0].depth == 0
    with engine.database.reading() as conn:
        entries = conn.execute(sa.select(AUDIT.c.action, AUDIT.c.source, AUDIT.c.rule)
                               .where(AUDIT.c.form == "deal", AUDIT.c.record_id == big["id"])
                               .order_by(AUDIT.c.id)).all()
    assert [tuple(e) for e in entries] == [("create", "system", None), ("update", "rule", "shop.flag_big_deals")]


def test_an_update_fires_only_when_its_fields_change_and_previous_reads_the_old_value(install: Install) -> None:
    engine = install([WON])
    shop = engine.service("shop")
    deal = shop.create("deal", {"name": "Acme", "amount": 500, "stage": "open"})
    shop.update("deal", deal["id"], {"amount": 600}, version=None)  # stage unchanged: not fired
    assert all_runs(engine) == []
    shop.update("deal", deal["id"], {"stage": "won"}, version=None)
    shop.update("deal", deal["id"], {"stage": "lost"}, version=None)  # fired, condition false
    contracts = shop.list("contract")["records"]
    assert [(c["title"], c["deal"], str(c["amount"])) for c in contracts] == [("Acme contract", deal["id"], "600.00")]
    assert [r.status for r in all_runs(engine)] == ["done", "skipped"]


def test_update_related_follows_a_relation_and_counts_per_import_only_when_asked(install: Install) -> None:
    engine = install([COUNT_DEALS, {**BIG_DEAL, "condition": "amount >= 1"}])
    shop = engine.service("shop")
    acme = shop.create("customer", {"name": "Acme"})
    shop.create("deal", {"name": "One", "customer": acme["id"], "amount": 5})
    shop.create("deal", {"name": "Two", "customer": acme["id"], "amount": 5})
    assert shop.get("customer", acme["id"])["deals"] == 2
    shop.create("deal", {"name": "Three", "customer": acme["id"], "amount": 5}, actor=Actor(None, "import"))
    assert shop.get("customer", acme["id"])["deals"] == 3  # count_deals fires on imports
    imported = [r for r in all_runs(engine) if r.source == "import"]
    assert [r.rule for r in imported] == ["count_deals"]  # flag_big_deals does not


def test_a_failing_action_rolls_back_only_the_rule_and_is_retried(install: Install) -> None:
    failing = {
        "key": "copy", "label": "Copy", "form": "deal", "trigger": {"type": "record_created"},
        "actions": [
            {"type": "update_record", "values": {"flag": '"copied"'}},
            {"type": "create_record", "form": "contract", "values": {"title": "echo", "amount": "amount"}},
        ],
    }
    engine = install([failing])
    shop = engine.service("shop")
    deal = shop.create("deal", {"name": "No echo", "amount": 10})
    stored = shop.get("deal", deal["id"])
    assert stored["name"] == "No echo" and stored["flag"] is None  # the first action was rolled back too
    assert shop.list("contract")["records"] == []
    [failed] = all_runs(engine)
    assert failed.status == "failed" and "title: Required" in (failed.error or "")
    assert [a["outcome"] for a in failed.actions] == ["done", "failed"]
    shop.update("deal", deal["id"], {"echo": "Fixed title"}, version=None)
    retried = engine.rules.retry("shop", failed.id)
    assert (retried.status, retried.retry_of) == ("done", failed.id)
    assert [c["title"] for c in shop.list("contract")["records"]] == ["Fixed title"]
    with pytest.raises(ConflictError):
        engine.rules.retry("shop", retried.id)  # only a failed run is retried


def test_rules_that_fire_each_other_are_cut_and_the_cut_is_logged(install: Install) -> None:
    ping = {"key": "ping", "label": "Ping", "form": "deal", "trigger": {"type": "record_updated", "fields": ["flag"]},
            "actions": [{"type": "update_record", "values": {"echo": 'flag & "!"'}}]}
    pong = {"key": "pong", "label": "Pong", "form": "deal", "trigger": {"type": "record_updated", "fields": ["echo"]},
            "actions": [{"type": "update_record", "values": {"flag": 'echo & "?"'}}]}
    engine = install([ping, pong])
    shop = engine.service("shop")
    deal = shop.create("deal", {"name": "Loop"})
    shop.update("deal", deal["id"], {"flag": "a"}, version=None)
    stored = shop.get("deal", deal["id"])
    assert (stored["flag"], stored["echo"]) == ("a!?", "a!")
    logged = all_runs(engine)
    assert [(r.rule, r.status, r.depth) for r in logged] == [
        ("ping", "done", 0), ("pong", "done", 1), ("ping", "cut", 2)]
    assert "already ran" in (logged[-1].error or "")


def test_a_manual_rule_runs_on_a_record_its_user_may_read(install: Install) -> None:
    manual = {"key": "mark", "label": "Mark", "form": "deal", "trigger": {"type": "manual", "confirm": "Sure?"},
              "actions": [{"type": "update_record", "values": {"flag": '"marked"'}}]}
    engine = install([manual, BIG_DEAL])
    shop = engine.service("shop")
    deal = shop.create("deal", {"name": "Hand", "amount": 1})
    entry = engine.rules.run_manual("shop", "mark", deal["id"], actor=Actor(None, "web"))
    assert (entry.status, entry.trigger, entry.source) == ("done", "manual", "web")
    assert shop.get("deal", deal["id"])["flag"] == "marked"
    with pytest.raises(ConflictError):
        engine.rules.run_manual("shop", "flag_big_deals", deal["id"], actor=Actor(None, "web"))
    with pytest.raises(NotFoundError):
        engine.rules.run_manual("shop", "mark", 99999, actor=Actor(None, "web"))
    with pytest.raises(NotFoundError):
        engine.rules.run_manual("shop", "nope", deal["id"], actor=Actor(None, "web"))


def test_delete_and_update_matching_records(install: Install) -> None:
    sweep = {"key": "sweep", "label": "Sweep", "form": "customer", "trigger": {"type": "record_created"},
             "condition": 'level = "trigger"',
             "actions": [
                 {"type": "update_records", "form": "customer",
                  "filter": {"field": "level", "op": "eq", "value": "old"}, "values": {"note": '"swept by " & name'}},
                 {"type": "delete_records", "form": "customer",
                  "filter": {"field": "level", "op": "eq", "value": "gone"}},
                 {"type": "delete_records"},
             ]}
    engine = install([sweep])
    shop = engine.service("shop")
    old = [shop.create("customer", {"name": f"Old {i}", "level": "old"}) for i in range(3)]
    gone = shop.create("customer", {"name": "Gone", "level": "gone"})
    shop.create("customer", {"name": "Sweeper", "level": "trigger"})
    left = {c["name"]: c for c in shop.list("customer", limit=100)["records"]}
    assert sorted(left) == ["Old 0", "Old 1", "Old 2"]
    assert {left[o["name"]]["note"] for o in old} == {"swept by Sweeper"}
    [run] = [r for r in all_runs(engine) if r.status == "done"]
    assert [a["detail"].get("deleted") for a in run.actions[1:]] == [[gone["id"]], [run.record_id]]
