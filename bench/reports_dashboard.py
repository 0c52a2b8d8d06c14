"""Goal 3 of the report engine (bench/reports.py calls ``dashboard_goal``):
a dashboard of 8 reports over a 200,000-row form on a SQLite file, opened
once (every query runs) and again with unchanged data (every item from the
result cache: one small read of the data versions per report). Goal: the
second open >= 20x faster than the first, both in this run.

``python -m bench.reports_dashboard [--rows N]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from bench.records import app_with, build_big_table
from engine.core.clock import FixedClock
from engine.definitions.report_files import DashboardDef, ReportDef
from engine.fields import FIELD_TYPES
from engine.notify.notifier import Notifier
from engine.org.service import OrgService
from engine.records import Actor, RecordService
from engine.reports.service import ReportEngine

GOAL = 20.0
DIMENSIONS: list[dict[str, Any]] = [
    {"key": "stage", "field": "stage"}, {"key": "region", "field": "region"},
    {"key": "month", "field": "closed_on", "grain": "month"}, {"key": "quarter", "field": "closed_on", "grain": "quarter"},
    {"key": "rating", "field": "rating"}, {"key": "active", "field": "active"},
    {"key": "year", "field": "closed_on", "grain": "year"}, {"key": "week", "field": "closed_on", "grain": "week"},
]


def _reports() -> tuple[ReportDef, ...]:
    return tuple(ReportDef.from_dict({
        "key": f"r{i}", "label": f"Report {i}",
        "query": {"form": "deal", "dimensions": [dim], "limit": 1000,
                  "measures": [{"key": "count", "agg": "count"}, {"key": "amount", "agg": "sum", "field": "amount"},
                               {"key": "net", "agg": "avg", "field": "net"}]},
        "chart": {"type": "table"}}, version=1) for i, dim in enumerate(DIMENSIONS))


class _Records(dict[str, RecordService]):
    def app_keys(self) -> list[str]:
        return list(self)


def dashboard_goal(rows: int = 200_000, rounds: int = 3) -> tuple[float, float]:
    """Seconds of the first and of the best later open; prints the table."""
    with tempfile.TemporaryDirectory() as folder:
        database, form = build_big_table(Path(folder), rows)
        reports = _reports()
        board = DashboardDef.from_dict({"key": "board", "label": "Board", "items": [
            {"report": r.key, "x": 6 * (i % 2), "y": 4 * (i // 2), "w": 6, "h": 4} for i, r in enumerate(reports)]},
            version=1)
        clock = FixedClock(dt.datetime(2025, 6, 15, 10, tzinfo=dt.UTC))
        app = replace(app_with(form), reports=reports, dashboards=(board,))
        service = RecordService(database, app, field_types=FIELD_TYPES, clock=clock)
        engine = ReportEngine(_Records(bench=service), OrgService(database, clock), clock, Notifier(clock))
        actor = Actor(None, "bench")
        started = time.perf_counter()
        view = engine.dashboard("bench", "board", actor=actor)
        first = time.perf_counter() - started
        errors = [item.error for item in view.items if item.error is not None]
        if errors:
            raise SystemExit(f"dashboard items failed: {errors}")
        again = float("inf")
        for _ in range(rounds):
            started = time.perf_counter()
            view = engine.dashboard("bench", "board", actor=actor)
            again = min(again, time.perf_counter() - started)
            assert all(item.view is not None and item.view.result.cached for item in view.items)
        database.dispose()
    ratio = first / again
    print(f"{'dashboard of 8 reports':<28}{'rows':>10}{'first (s)':>12}{'again (s)':>12}{'ratio':>9}{'goal':>8}")
    print(f"{'':<28}{rows:>10,}{first:>12.3f}{again:>12.4f}{ratio:>8.0f}x{'>= 20x':>8}  "
          f"{'OK' if ratio >= GOAL else 'MISSED'}")
    return first, again


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    args = parser.parse_args()
    first, again = dashboard_goal(args.rows)
    return 0 if first / again >= GOAL else 1


if __name__ == "__main__":
    sys.exit(main())
