"""assign_owner (fixed, round-robin, least-loaded, the triggering user; into
the owner or another member field), the public pool's move_to_pool and
claim_from_pool, and what the loader refuses — on SQLite and PostgreSQL.

The fairness round-robin guarantees, also under concurrent creates: over any
run of assignments to a fixed team, the counts of any two members differ by
at most one (nobody gets a second record before everyone got one)."""

from __future__ import annotations

import json
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from engine.definitions.issues import PackageError
from engine.records.actor import Actor
from engine.rules import runs
from engine.store.audit import AUDIT
from engine.store.database import Database
from tests.rules.sales import Setup, installer, rule


@pytest.fixture
def setup(database: Database, tmp_path: Path) -> Setup:
    return installer(database, tmp_path)


ROUND_ROBIN = rule("assign_lead", [{"type": "assign_owner", "strategy": "round_robin", "department": "销售部"}])


def owners(engine: Any, form: str = "lead") -> list[int | None]:
    return [r["owner"] for r in engine.service("shop").list(form, sort=["id"], limit=500)["records"]]


def test_round_robin_deals_nine_leads_three_each_in_turn_skipping_the_deactivated(setup: Setup) -> None:
    engine, team = setup([ROUND_ROBIN])
    shop = engine.service("shop")
    for i in range(9):
        shop.create("lead", {"name": f"Lead {i}"})
    got = [team.login(o) for o in owners(engine)]
    assert got == ["ann", "bob", "cat"] * 3  # eve is deactivated, dan is in a sub-department
    with engine.database.reading() as conn:
        audited = conn.execute(sa.select(AUDIT.c.source, AUDIT.c.rule).where(
            AUDIT.c.form == "lead", AUDIT.c.action == "update")).all()
        cursor = conn.execute(sa.text("SELECT value FROM rule_cursors WHERE key = 'assign:assign_lead'")).scalar()
    assert set(audited) == {("rule", "shop.assign_lead")} and len(audited) == 9
    assert (cursor if isinstance(cursor, dict) else json.loads(cursor)) == {"last": team["cat"]}


def test_round_robin_over_a_role_and_with_sub_departments(setup: Setup) -> None:
    engine, team = setup([
        rule("by_role", [{"type": "assign_owner", "strategy": "round_robin", "role": "rep", "field": "rep"}]),
        rule("by_tree", [{"type": "assign_owner", "strategy": "round_robin", "department": "sales",
                          "sub_departments": True}]),
    ])
    shop = engine.service("shop")
    for i in range(4):
        shop.create("lead", {"name": f"L{i}"})
    records = shop.list("lead", sort=["id"])["records"]
    assert [team.login(r["rep"]) for r in records] == ["bob", "cat", "bob", "cat"]
    assert [team.login(r["owner"]) for r in records] == ["ann", "bob", "cat", "dan"]


def test_concurrent_creates_are_dealt_fairly(setup: Setup) -> None:
    """Nine leads created by nine threads at once: three each — the cursor row
    is locked in each create's transaction, so no two picks see the same last."""
    engine, team = setup([ROUND_ROBIN])
    shop = engine.service("shop")
    barrier = threading.Barrier(9)
    errors: list[BaseException] = []

    def create(i: int) -> None:
        try:
            barrier.wait()
            shop.create("lead", {"name": f"Lead {i}"})
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=create, args=(i,)) for i in range(9)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    counts = Counter(team.login(o) for o in owners(engine))
    assert counts == {"ann": 3, "bob": 3, "cat": 3}
    # In commit order the picks rotate: every window of three holds all three.
    with engine.database.reading() as conn:
        entries = conn.execute(sa.select(AUDIT.c.record_id).where(
            AUDIT.c.form == "lead", AUDIT.c.action == "update").order_by(AUDIT.c.id)).scalars().all()
    by_id = {r["id"]: r["owner"] for r in shop.list("lead", limit=50)["records"]}
    in_order = [by_id[i] for i in entries]
    assert all(len(set(in_order[i:i + 3])) == 3 for i in range(7))


def test_least_loaded_counts_open_records_and_breaks_ties_in_turn(setup: Setup) -> None:
    least = rule("least", [{"type": "assign_owner", "strategy": "least_loaded", "department": "销售部",
                            "open": {"field": "status", "op": "ne", "value": "converted"}}],
                 condition='name <> "seed"')
    engine, team = setup([least])
    shop = engine.service("shop")
    seeds = [("ann", "open"), ("ann", "open"), ("bob", "converted"), ("bob", "converted"), ("bob", "open"),
             ("cat", "open"), ("cat", None)]
    for login, status in seeds:
        shop.create("lead", {"name": "seed", "status": status, "owner": team[login]})
    # open loads: ann 2, bob 1, cat 2 (a blank status is open)
    picks = []
    for i in range(4):
        made = shop.create("lead", {"name": f"new {i}", "status": "open"})
        picks.append(team.login(shop.get("lead", made["id"])["owner"]))
    # bob (1) -> all at 2: ann, bob, cat in turn after bob -> cat, then ann
    assert picks == ["bob", "cat", "ann", "bob"]


def test_fixed_member_and_the_triggering_user(setup: Setup) -> None:
    engine, team = setup([
        rule("to_ann", [{"type": "assign_owner", "strategy": "fixed", "member": "ann"}]),
        rule("rep_is_me", [{"type": "assign_owner", "strategy": "trigger_user", "field": "rep"}]),
    ])
    shop = engine.service("shop")
    made = shop.create("lead", {"name": "Acme"}, actor=Actor(user_id=team["dan"], source="api"))
    got = shop.get("lead", made["id"])
    assert (team.login(got["owner"]), team.login(got["rep"])) == ("ann", "dan")


def test_no_active_candidate_is_a_skip_and_an_unknown_member_fails_the_run(setup: Setup) -> None:
    engine, team = setup([
        rule("nobody", [{"type": "assign_owner", "strategy": "round_robin", "department": "华东"}]),
        rule("ghost", [{"type": "assign_owner", "strategy": "fixed", "member": "ghost"}]),
    ])
    engine.org.deactivate_user(team["dan"])
    made = engine.service("shop").create("lead", {"name": "Acme"})
    with engine.database.reading() as conn:
        logged = {r.rule: r for r in runs.read_runs(conn, app="shop", record_id=made["id"])}
    assert logged["nobody"].status == "done" and logged["nobody"].actions[0]["outcome"] == "skipped"
    assert logged["ghost"].status == "failed" and "ghost" in (logged["ghost"].error or "")
    assert engine.service("shop").get("lead", made["id"])["owner"] is None


def test_move_to_pool_and_claim_it_back(setup: Setup) -> None:
    engine, team = setup([
        rule("release", [{"type": "move_to_pool", "reason": "overdue"}], form="account", trigger="manual"),
        rule("claim", [{"type": "claim_from_pool"}], form="account", trigger="manual"),
        rule("deal_out", [{"type": "claim_from_pool", "strategy": "round_robin", "role": "rep"}],
             form="account", trigger="manual"),
    ])
    shop = engine.service("shop")
    account = shop.create("account", {"name": "Acme", "owner": team["ann"]})
    engine.rules.run_manual("shop", "release", account["id"], actor=Actor(user_id=team["max"], source="web"))
    pooled = shop.get("account", account["id"])
    assert (pooled["in_public_pool"], pooled["owner"], pooled["previous_owner"], pooled["pool_reason"]) == \
        (True, None, team["ann"], "overdue")
    assert pooled["pool_entered_at"] is not None
    again = engine.rules.run_manual("shop", "release", account["id"], actor=Actor(user_id=team["max"]))
    assert again.actions[0]["outcome"] == "skipped"

    engine.rules.run_manual("shop", "claim", account["id"], actor=Actor(user_id=team["cat"], source="web"))
    claimed = shop.get("account", account["id"])
    assert (claimed["in_public_pool"], claimed["owner"], claimed["pool_reason"], claimed["pool_entered_at"]) == \
        (False, team["cat"], None, None)
    assert claimed["assigned_at"] is not None and claimed["previous_owner"] == team["ann"]
    not_pooled = engine.rules.run_manual("shop", "claim", account["id"], actor=Actor(user_id=team["bob"]))
    assert not_pooled.actions[0]["outcome"] == "skipped"

    engine.rules.run_manual("shop", "release", account["id"], actor=Actor(user_id=team["max"]))
    engine.rules.run_manual("shop", "deal_out", account["id"], actor=Actor(user_id=team["max"]))
    assert shop.get("account", account["id"])["owner"] == team["bob"]


@pytest.mark.parametrize(("action", "where", "says"), [
    ({"type": "assign_owner", "strategy": "round_robin"}, "actions[0]", "'department' is required"),
    ({"type": "assign_owner", "strategy": "fixed"}, "actions[0]", "'member' is required"),
    ({"type": "assign_owner", "strategy": "fixed", "member": "ann", "field": "name"}, "actions[0].field",
     "field 'name' must be of type member"),
    ({"type": "assign_owner", "strategy": "fixed", "member": "ann", "field": "reps"}, "actions[0].field",
     "no field 'reps'"),
    ({"type": "assign_owner", "strategy": "round_robin", "role": "rep", "open": {}}, "actions[0].open",
     "only for least_loaded"),
    ({"type": "move_to_pool", "flag": "in_pool"}, "actions[0].flag", "no field 'in_pool'"),
])
def test_the_loader_names_what_is_wrong(database: Database, tmp_path: Path, action: dict[str, Any],
                                        where: str, says: str) -> None:
    form = "account" if action["type"] == "move_to_pool" else "lead"
    with pytest.raises(PackageError) as caught:
        installer(database, tmp_path)([rule("bad", [action], form=form)])
    assert f"rules/bad.yaml: {where}: " in str(caught.value)
    assert says in str(caught.value)
