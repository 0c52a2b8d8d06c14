"""Schedule and date-relative triggers, fired by ``run_due`` with a fixed
clock: exactly the due ticks, caught up after a gap, never before the rule
existed, once across workers — on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from engine.composition import Engine, compose
from engine.core.clock import FixedClock
from engine.fields import FIELD_TYPES
from engine.notify.settings import NotifySettings
from engine.packages import install_package
from engine.packages.validation import validate_app_package
from engine.rules import runs
from engine.rules.ticks import TICKS, run_due
from engine.rules.triggers import TRIGGERS
from engine.store.database import Database
from runtime.worker import Worker, build_tasks
from tests.rules.conftest import FORMS, NOW, write_package

TIMED_FORMS: dict[str, dict[str, Any]] = {
    **FORMS,
    "renewal": {
        "key": "renewal", "label": "Renewal", "title_field": "title",
        "fields": [
            {"key": "title", "type": "text", "label": "Title", "required": True},
            {"key": "ends", "type": "date", "label": "Ends", "index": True},
            {"key": "call_at", "type": "datetime", "label": "Call at"},
            {"key": "last_visit", "type": "date", "label": "Last visit"},
            {"key": "status", "type": "text", "label": "Status"},
            {"key": "note", "type": "text", "label": "Note"},
        ],
    },
}
DAILY = {
    "key": "daily", "label": "Daily", "form": "customer",
    "trigger": {"type": "schedule", "cron": "0 9 * * *"},
    "actions": [{"type": "create_record", "form": "customer", "values": {"name": '"daily " & TEXT(NOW(), "yyyy-mm-dd")'}}],
}
STALE = {
    "key": "stale", "label": "Stale", "form": "renewal",
    "trigger": {"type": "schedule", "cron": "0 8 * * 1", "filter": {"and": [
        {"field": "last_visit", "op": "before", "value_formula": "TODAY() - 30"},
        {"field": "status", "op": "ne", "value": "closed"}]}},
    "actions": [{"type": "update_record", "values": {"note": '"visit " & title'}}],
}
EXPIRING = {
    "key": "expiring", "label": "Expiring", "form": "renewal",
    "trigger": {"type": "date_relative", "field": "ends", "offset": {"days": -30}, "at": "09:00"},
    "condition": 'status <> "closed"',
    "actions": [{"type": "update_record", "values": {"note": '"expires " & TEXT(ends, "yyyy-mm-dd")'}}],
}
CALL = {
    "key": "call", "label": "Call", "form": "renewal",
    "trigger": {"type": "date_relative", "field": "call_at", "offset": {"hours": -2}},
    "actions": [{"type": "update_record", "values": {"note": '"call soon"'}}],
}


def installed(database: Database, tmp_path: Path, rules: list[dict[str, Any]]) -> tuple[Engine, FixedClock]:
    install_package(database, write_package(tmp_path / "shop", rules, TIMED_FORMS), FIELD_TYPES)
    clock = FixedClock(NOW)
    return compose(database, clock=clock), clock


def tick(engine: Engine, clock: FixedClock, moment: dt.datetime | None = None, worker: str = "w1") -> int:
    if moment is not None:
        clock.set(moment)
    return run_due(engine.rules, clock.now(), worker)


def notes(engine: Engine) -> dict[str, str | None]:
    return {r["title"]: r["note"] for r in engine.service("shop").list("renewal", limit=500)["records"]}


def logged(engine: Engine, rule: str) -> list[runs.RunEntry]:
    with engine.database.reading() as conn:
        return list(reversed(runs.read_runs(conn, app="shop", rule=rule)))


def test_a_schedule_fires_exactly_its_due_ticks_and_catches_up(database: Database, tmp_path: Path) -> None:
    engine, clock = installed(database, tmp_path, [DAILY])
    assert tick(engine, clock) == 0  # 09:00 today came before the rule's first run: not caught up
    assert tick(engine, clock, dt.datetime(2026, 12, 5, 8, 59)) == 0
    assert tick(engine, clock, dt.datetime(2026, 12, 5, 9, 0)) == 1
    assert tick(engine, clock) == 0  # the same moment again: nothing more
    assert tick(engine, clock, dt.datetime(2026, 12, 8, 10, 0)) == 3  # worker down 3 days: caught up
    names = sorted(r["name"] for r in engine.service("shop").list("customer")["records"])
    # Formulas see the moment the tick runs (the catch-up's), not the tick itself.
    assert names == ["daily 2026-12-05", "daily 2026-12-08", "daily 2026-12-08", "daily 2026-12-08"]
    entries = logged(engine, "daily")
    assert [e.status for e in entries] == ["done"] * 4
    assert {e.trigger for e in entries} == {"schedule"} and entries[0].record_id is None


def test_a_schedule_with_a_filter_fires_once_per_matching_record(database: Database, tmp_path: Path) -> None:
    engine, clock = installed(database, tmp_path, [STALE])
    shop = engine.service("shop")
    for title, visit, status in [("old", "2026-10-01", "open"), ("recent", "2026-11-30", "open"),
                                 ("closed", "2026-09-01", "closed"), ("never", None, "open")]:
        shop.create("renewal", {"title": title, "last_visit": visit, "status": status})
    assert tick(engine, clock, dt.datetime(2026, 12, 7, 8, 0)) == 1  # Monday 08:00
    assert notes(engine) == {"old": "visit old", "recent": None, "closed": None, "never": None}
    assert [e.record_id for e in logged(engine, "stale")] == [shop.list(
        "renewal", filter={"field": "title", "op": "eq", "value": "old"})["records"][0]["id"]]


def test_a_date_trigger_fires_each_record_once_at_its_moment(database: Database, tmp_path: Path) -> None:
    engine, clock = installed(database, tmp_path, [EXPIRING, CALL])
    shop = engine.service("shop")
    for title, ends, status in [("past", "2027-01-03", "open"), ("next", "2027-01-04", "open"),
                                ("later", "2027-01-10", "open"), ("closed", "2027-01-04", "closed"),
                                ("blank", None, "open")]:
        shop.create("renewal", {"title": title, "ends": ends, "status": status})
    shop.create("renewal", {"title": "call", "call_at": "2026-12-04 12:00"})
    assert tick(engine, clock) == 0  # first run: the rules start now
    tick(engine, clock, dt.datetime(2026, 12, 4, 9, 59))
    assert notes(engine)["call"] is None
    tick(engine, clock, dt.datetime(2026, 12, 4, 10, 0))  # 2 hours before the call
    assert notes(engine)["call"] == "call soon"
    tick(engine, clock, dt.datetime(2026, 12, 5, 8, 59))
    assert notes(engine)["next"] is None
    tick(engine, clock, dt.datetime(2026, 12, 5, 9, 0, 30))
    assert notes(engine) == {"past": None, "next": "expires 2027-01-04", "later": None, "closed": None,
                             "blank": None, "call": "call soon"}
    assert [e.status for e in logged(engine, "expiring")] == ["done", "skipped"]  # closed: condition false
    tick(engine, clock, dt.datetime(2026, 12, 12, 9, 0))  # a week's gap, caught up a day per call
    while tick(engine, clock):
        pass
    assert notes(engine)["later"] == "expires 2027-01-10"
    assert [e.status for e in logged(engine, "expiring")] == ["done", "skipped", "done"]
    with engine.database.reading() as conn:  # old claims are pruned behind the cursor
        oldest = conn.execute(sa.select(sa.func.min(TICKS.c.tick)).where(TICKS.c.rule == "expiring")).scalar()
    assert oldest.replace(tzinfo=None) >= dt.datetime(2026, 12, 10)


def test_a_tick_fires_once_across_workers(database: Database, tmp_path: Path) -> None:
    engine, clock = installed(database, tmp_path, [DAILY, EXPIRING])
    engine.service("shop").create("renewal", {"title": "next", "ends": "2027-01-04", "status": "open"})
    assert tick(engine, clock) == 0
    moment = dt.datetime(2026, 12, 5, 9, 0, tzinfo=clock.tz)
    engines = [compose(database, clock=FixedClock(moment)) for _ in range(2)]
    # SQLite writes one transaction at a time: there the workers take turns.
    together = database.engine.dialect.name == "postgresql"
    barrier = threading.Barrier(2 if together else 1)
    done: list[int] = []
    failed: list[BaseException] = []

    def work(other: Engine, name: str) -> None:
        barrier.wait()
        try:
            done.append(run_due(other.rules, moment, name))
        except BaseException as exc:  # reported by the assertion below
            failed.append(exc)

    threads = [threading.Thread(target=work, args=(e, f"w{i}")) for i, e in enumerate(engines)]
    for thread in threads:
        thread.start()
        if not together:
            thread.join()
    for thread in threads:
        thread.join()
    assert failed == []
    assert sorted(r["name"] for r in engine.service("shop").list("customer")["records"]) == ["daily 2026-12-05"]
    assert [e.status for e in logged(engine, "expiring")] == ["done"]
    with engine.database.reading() as conn:
        claimers = {row.claimed_by for row in conn.execute(sa.select(TICKS.c.claimed_by))}
    assert claimers <= {"w0", "w1"} and sorted(done)[0] >= 0 and sum(done) == 1 + 1410  # 09:30 to 09:00: 1,410 minutes, claimed once


@pytest.mark.parametrize(("trigger", "message"), [
    ({"type": "schedule", "cron": "61 * * * *"}, "Invalid cron expression"),
    ({"type": "schedule", "cron": "0 9 * * *", "timezone": "Mars/Olympus"}, "Unknown time zone Mars/Olympus"),
    ({"type": "date_relative", "field": "title"}, "a date trigger needs a date or datetime field"),
    ({"type": "date_relative", "field": "nope"}, "nope"),
    ({"type": "schedule", "cron": "0 9 * * *", "filter": {"field": "ends", "op": "before",
                                                           "value_formula": "TODAY( -"}}, "value_formula"),
])
def test_timer_settings_are_checked(tmp_path: Path, trigger: dict[str, Any], message: str) -> None:
    rule = {"key": "bad", "label": "Bad", "form": "renewal", "trigger": trigger,
            "actions": [{"type": "update_record", "values": {"note": '"x"'}}]}
    issues = validate_app_package(write_package(tmp_path / "shop", [rule], TIMED_FORMS), FIELD_TYPES)
    assert any(message in str(issue) for issue in issues), issues


def test_the_worker_runs_the_due_ticks(database: Database, tmp_path: Path) -> None:
    engine, clock = installed(database, tmp_path, [DAILY])
    tasks = build_tasks(engine, NotifySettings.from_env({}), name="w")
    assert [task.key for task in tasks] == ["outbox", "rule_ticks", "flows", "report_alerts"]
    worker = Worker(engine, tasks, name="w", clock=clock)
    worker.run_once()
    clock.set(dt.datetime(2026, 12, 5, 9, 0))
    assert worker.run_once() == 1
    assert [r["name"] for r in engine.service("shop").list("customer")["records"]] == ["daily 2026-12-05"]


@pytest.mark.parametrize("key", TRIGGERS.keys())
def test_every_trigger_is_documented(key: str) -> None:
    text = (Path(__file__).resolve().parents[2] / "docs" / "rules.md").read_text(encoding="utf-8")
    triggers = text.split("## Triggers", 1)[1].split("\n## ", 1)[0]
    assert f"| `{key}` |" in triggers, f"docs/rules.md: {key} is not in the triggers' table"


def test_the_skipped_runs_of_one_write_are_logged_together(database: Database, tmp_path: Path) -> None:
    never = [{"key": f"never_{i}", "label": f"Never {i}", "form": "deal", "trigger": {"type": "record_created"},
              "condition": f"amount > {1000 + i}", "actions": [{"type": "update_record", "values": {"flag": '"x"'}}]}
             for i in range(3)]
    engine, _ = installed(database, tmp_path, never)
    deal = engine.service("shop").create("deal", {"name": "Small", "amount": 5})
    with engine.database.reading() as conn:
        entries = runs.read_runs(conn, app="shop")
    assert sorted((e.rule, e.status, e.record_id, e.trigger, e.form, e.actions, e.error) for e in entries) == [
        (f"never_{i}", "skipped", deal["id"], "record_created", "deal", [], None) for i in range(3)]
    assert all(e.duration_ms >= 0 and e.started_at.year == 2026 for e in entries)
