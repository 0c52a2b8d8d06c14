"""Alerts run by the worker over conftest's sales app, on SQLite and
PostgreSQL: told in-app when the condition becomes true, not again while it
holds; a due check is claimed once by two workers at the same time."""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import replace
from typing import Any

import sqlalchemy as sa

from engine.core.clock import FixedClock
from engine.definitions.report_files import ReportDef
from engine.notify.notifier import Notifier
from engine.org.service import OrgService
from engine.records import RecordService
from engine.reports.service import ReportEngine
from tests.reports.conftest import World

T0 = dt.datetime(2025, 6, 15, 10, tzinfo=dt.UTC)


def _report(key: str, threshold: int) -> ReportDef:
    return ReportDef.from_dict({
        "key": key, "label": key,
        "query": {"form": "opportunity", "measures": [{"key": "count", "agg": "count"}],
                  "dimensions": [{"key": "stage", "field": "stage"}]},
        "chart": {"type": "table"},
        "alerts": [{"key": "many", "label": "Many", "measure": "count", "op": "gt", "value": threshold,
                    "every": "1h", "notify": {"to": [{"member": 1}], "title": "{{ report }}: {{ value }}"}}]},
        version=1)


def _engine(world: World, *reports: ReportDef) -> ReportEngine:
    clock = FixedClock(T0)
    service = RecordService(world.database, replace(world.app, reports=reports),
                            field_types=world.service.field_types, clock=clock)

    class Records(dict[str, RecordService]):
        def app_keys(self) -> list[str]:
            return list(self)

    return ReportEngine(Records(sales=service), OrgService(world.database, clock), clock, Notifier(clock))


def _told(world: World, report: str) -> list[Any]:
    with world.database.transaction() as conn:
        return list(conn.execute(sa.text("SELECT title FROM notifications WHERE user_id = 1 AND source = :s"),
                                 {"s": f"alert:sales.{report}.many"}).scalars())


def test_told_once_while_the_condition_holds(world: World) -> None:
    engine = _engine(world, _report("total", 100), _report("never", 10_000))
    assert engine.run_alerts(T0) == 2
    assert _told(world, "total") == [f"total: {len(world.rows)}"]
    assert _told(world, "never") == []
    assert engine.run_alerts(T0 + dt.timedelta(minutes=30)) == 0  # not due yet
    assert engine.run_alerts(T0 + dt.timedelta(hours=1)) == 2
    assert len(_told(world, "total")) == 1  # still true: not told again


def test_two_workers_claim_a_due_check_once(world: World) -> None:
    engine = _engine(world, _report("raced", 100))
    at = T0 + dt.timedelta(days=3)
    counts: list[int] = []
    start = threading.Barrier(2)

    def work() -> None:
        start.wait()
        counts.append(engine.run_alerts(at))

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(counts) == [0, 1]
    assert len(_told(world, "raced")) == 1


def test_the_worker_folds_piled_change_rows_without_changing_versions(world: World) -> None:
    from engine.records.data_versions import COMPACT_AFTER, read_versions

    engine = _engine(world)
    with world.database.transaction() as conn:
        conn.execute(sa.text("INSERT INTO data_changes (app, form) VALUES ('sales', 'customer')"),
                     [{}] * (COMPACT_AFTER + 1))
        before = read_versions(conn, "sales", ["customer"]).values
    engine.run_alerts(T0)
    with world.database.transaction() as conn:
        assert read_versions(conn, "sales", ["customer"]).values == before
        left = conn.execute(sa.text("SELECT count(*) FROM data_changes WHERE form = 'customer'")).scalar()
    assert left == 0


def test_each_row_alert_tells_the_rows_that_newly_hold(world: World) -> None:
    report = _report("per_stage", 50)
    alert = replace(report.alerts[0], each_row=True, notify={"to": [{"member": 1}],
                                                               "title": "{{ rows | length }}"})
    engine = _engine(world, replace(report, alerts=(alert,)))
    at = T0 + dt.timedelta(days=7)
    counts: dict[Any, int] = {}
    for row in world.rows:
        counts[row["stage"]] = counts.get(row["stage"], 0) + 1
    assert engine.run_alerts(at) == 1
    assert _told(world, "per_stage") == [str(sum(1 for n in counts.values() if n > 50))]
    assert engine.run_alerts(at + dt.timedelta(hours=1)) == 1
    assert len(_told(world, "per_stage")) == 1
