"""What the rules of one event share, on SQLite and PostgreSQL: one set of
the record's formula values for all their conditions (PREVIOUS() and values
through a relation included), the event's skips kept with the transaction
until it commits (dropped when the write or the rule's savepoint rolls back),
and a rule skipped earlier in a cascade cut when its record comes back."""

from __future__ import annotations

from typing import Any

import pytest

from engine.composition import Engine
from engine.records.actor import Actor
from engine.rules import runs
from tests.rules.conftest import Install


def contract_rule(key: str, condition: str, trigger: str = "record_updated") -> dict[str, Any]:
    return {"key": key, "label": key, "form": "deal", "trigger": {"type": trigger}, "condition": condition,
            "actions": [{"type": "create_record", "form": "contract", "values": {"title": f'"{key}"'}}]}


MIXED = [
    contract_rule("a_amount", "amount > 100"),
    contract_rule("b_previous", 'AND(stage = "won", PREVIOUS(stage) = "open")'),
    contract_rule("c_related", 'customer.level = "gold"'),
    contract_rule("d_broken", "amount / 0 > 1"),
    contract_rule("e_never", 'OR(stage = "lost", amount < 0)'),
]


def statuses(engine: Engine) -> dict[str, list[str]]:
    """Each rule's run statuses, oldest first (reading flushes the deferred skips)."""
    with engine.database.reading() as conn:
        found: dict[str, list[str]] = {}
        for entry in reversed(runs.read_runs(conn, app="shop")):
            found.setdefault(entry.rule, []).append(entry.status)
    return found


def titles(engine: Engine) -> list[str]:
    return sorted(c["title"] for c in engine.service("shop").list("contract")["records"])


def test_the_conditions_of_one_event_read_its_values_its_previous_values_and_its_relations(
        install: Install) -> None:
    engine = install(MIXED)
    shop = engine.service("shop")
    gold = shop.create("customer", {"name": "Gold", "level": "gold"})
    silver = shop.create("customer", {"name": "Silver", "level": "silver"})
    deal = shop.create("deal", {"name": "Deal", "amount": 50, "stage": "open", "customer": silver["id"]})
    assert statuses(engine) == {}  # the rules hear updates only

    shop.update("deal", deal["id"], {"amount": 500, "stage": "won", "customer": gold["id"]}, version=None)
    assert statuses(engine) == {"a_amount": ["done"], "b_previous": ["done"], "c_related": ["done"],
                                "d_broken": ["failed"], "e_never": ["skipped"]}
    assert titles(engine) == ["a_amount", "b_previous", "c_related"]

    # Won before this change: PREVIOUS(stage) is "won" now; the customer is silver again.
    shop.update("deal", deal["id"], {"customer": silver["id"]}, version=None)
    assert statuses(engine) == {"a_amount": ["done", "done"], "b_previous": ["done", "skipped"],
                                "c_related": ["done", "skipped"], "d_broken": ["failed", "failed"],
                                "e_never": ["skipped", "skipped"]}
    assert titles(engine) == ["a_amount", "a_amount", "b_previous", "c_related"]
    with engine.database.reading() as conn:
        [broken, _] = runs.read_runs(conn, app="shop", rule="d_broken")
    assert "amount / 0 > 1" in (broken.error or "") and "#DIV/0!" in (broken.error or "")


def test_a_rule_skipped_earlier_in_a_cascade_is_cut_when_its_record_comes_back(install: Install) -> None:
    watch = contract_rule("a_watch", 'flag = "x"', trigger="record_saved")
    mark = {"key": "b_mark", "label": "Mark", "form": "deal", "trigger": {"type": "record_created"},
            "actions": [{"type": "update_record", "values": {"flag": '"x"'}}]}
    engine = install([watch, mark])
    deal = engine.service("shop").create("deal", {"name": "Deal"})
    assert engine.service("shop").get("deal", deal["id"])["flag"] == "x"
    # a_watch was skipped on the create; b_mark's update brings the record back in
    # the same cascade, where a_watch has already run for it: cut, not run again.
    assert statuses(engine) == {"a_watch": ["cut", "skipped"], "b_mark": ["done"]}
    assert titles(engine) == []
    # A new write is a new cascade: a_watch's condition now holds.
    engine.service("shop").update("deal", deal["id"], {"name": "Again"}, version=None)
    assert titles(engine) == ["a_watch"]


class Refused(Exception):
    pass


def test_skips_are_dropped_with_the_write_or_the_savepoint_that_rolls_back(install: Install) -> None:
    watcher = contract_rule("watcher", 'echo = "never"')
    fragile = {"key": "fragile", "label": "Fragile", "form": "deal", "trigger": {"type": "record_created"},
               "actions": [{"type": "update_record", "values": {"flag": '"touched"'}},
                           {"type": "create_record", "form": "contract", "values": {"title": "echo"}}]}
    never = contract_rule("never", "amount > 1000", trigger="record_created")
    engine = install([watcher, fragile, never])
    shop = engine.service("shop")
    with pytest.raises(Refused), engine.database.transaction() as conn:
        shop.create("deal", {"name": "Rolled back", "amount": 5}, connection=conn)
        raise Refused
    assert statuses(engine) == {}
    # fragile's update is heard by watcher (skipped) inside fragile's savepoint;
    # its second action fails, the savepoint rolls back and the skip with it.
    shop.create("deal", {"name": "Kept", "amount": 5})
    assert statuses(engine) == {"fragile": ["failed"], "never": ["skipped"]}


def test_the_skips_of_many_writes_are_one_row_per_rule(install: Install) -> None:
    engine = install([contract_rule("never", "amount > 1000", trigger="record_created"),
                      contract_rule("once", 'name = "Second"', trigger="record_saved")])
    shop = engine.service("shop")
    engine.rules.deferred.flush()
    # Held back from the writer thread, so the three writes meet in one flush.
    with engine.rules.deferred._writing:
        deals = [shop.create("deal", {"name": name, "amount": 1}, actor=Actor(None, source))
                 for name, source in (("First", "system"), ("Second", "system"), ("Third", "web"))]
    with engine.database.reading() as conn:
        logged = {(e.rule, e.status): e for e in runs.read_runs(conn, app="shop")}
    assert set(logged) == {("never", "skipped"), ("once", "skipped"), ("once", "done")}
    never = logged["never", "skipped"]
    assert never.record_id is None and never.source is None and never.depth == 0  # sources differed
    detail = never.actions[0]["detail"]
    assert detail["count"] == 3 and detail["records"] == [d["id"] for d in deals]
    assert never.started_at.isoformat() == detail["until"] == "2026-12-04T01:30:00+00:00"
    assert never.duration_ms >= 0 and never.user_id is None
    once = logged["once", "skipped"]
    assert once.actions[0]["detail"]["records"] == [deals[0]["id"], deals[2]["id"]]
    assert logged["once", "done"].record_id == deals[1]["id"]
