"""ReportEngine over the test sales app (conftest's world), on SQLite and
PostgreSQL: a dashboard's items under a global filter, the cache (a second
open runs no statement on the app tables; a write to a read form, a new
definition version or another scope recomputes; a write elsewhere doesn't)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
import sqlalchemy as sa

from engine.core.clock import FixedClock
from engine.definitions.report_files import DashboardDef, ReportDef
from engine.notify.notifier import Notifier
from engine.org.service import OrgService
from engine.records import RecordService
from engine.reports.service import ReportEngine
from tests.reports.conftest import World, actor

BY_STAGE: dict[str, Any] = {
    "key": "by_stage", "label": {"zh": "按阶段", "en": "By stage"},
    "query": {"form": "opportunity", "measures": [{"key": "count", "agg": "count"},
                                                  {"key": "amount", "agg": "sum", "field": "amount"}],
              "dimensions": [{"key": "stage", "field": "stage"}]},
    "chart": {"type": "bar", "x": "stage", "y": ["amount"]},
}
BY_INDUSTRY: dict[str, Any] = {
    "key": "by_industry", "label": {"zh": "按行业", "en": "By industry"},
    "query": {"form": "customer", "measures": [{"key": "count", "agg": "count"}],
              "dimensions": [{"key": "industry", "field": "industry"}]},
    "chart": {"type": "table"},
}
BOARD: dict[str, Any] = {
    "key": "sales", "label": {"zh": "销售", "en": "Sales"}, "roles": ["sales"],
    "filters": [{"key": "period", "type": "date_range", "label": {"zh": "期间", "en": "Period"},
                 "default": "all", "fields": {"by_stage": "close_date"}}],
    "items": [{"report": "by_stage", "x": 0, "y": 0, "w": 6, "h": 4},
              {"report": "by_industry", "x": 6, "y": 0, "w": 6, "h": 4}],
}


class Records(dict[str, RecordService]):
    def app_keys(self) -> list[str]:
        return list(self)


@pytest.fixture(scope="module")
def setup(world: World) -> Iterator[tuple[ReportEngine, RecordService]]:
    app = replace(world.app, reports=(ReportDef.from_dict(BY_STAGE, version=1), ReportDef.from_dict(BY_INDUSTRY, version=1)),
                  dashboards=(DashboardDef.from_dict(BOARD, version=1),))
    clock = FixedClock(dt.datetime(2025, 6, 15, 10))
    service = RecordService(world.database, app, field_types=world.service.field_types, clock=clock)
    yield ReportEngine(Records(sales=service), OrgService(world.database, clock), clock, Notifier(clock)), service


class Statements:
    """Counts statements that name an app table (form tables start with ``f_``)."""

    def __init__(self, database: Any) -> None:
        self.engine, self.seen = database.engine, []

    def __enter__(self) -> list[str]:
        sa.event.listen(self.engine, "before_cursor_execute", self._count)
        return self.seen

    def __exit__(self, *exc: object) -> None:
        sa.event.remove(self.engine, "before_cursor_execute", self._count)

    def _count(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "opportunity" in statement or "customer" in statement.replace("data_", ""):
            self.seen.append(statement)


def _counts(view: Any) -> dict[Any, int]:
    index = [c.key for c in view.result.columns].index("count")
    return {row[0]: row[index] for row in view.result.rows}


def test_dashboard_numbers_match_python_and_the_period_filter(setup: tuple[ReportEngine, RecordService],
                                                              world: World) -> None:
    engine, _ = setup
    view = engine.dashboard("sales", "sales", actor=actor(1), filters={"period": "2024-01-01..2024-12-31"})
    first = view.items[0].view
    assert first is not None
    expected: dict[Any, int] = {}
    for row in world.rows:
        if row["close_date"] is not None and row["close_date"].year == 2024:
            expected[row["stage"]] = expected.get(row["stage"], 0) + 1
    assert _counts(first) == expected
    assert view.filters.raw["period"] == "2024-01-01..2024-12-31"


def test_second_open_is_served_from_the_cache_until_a_read_form_changes(
        setup: tuple[ReportEngine, RecordService], world: World) -> None:
    engine, service = setup
    engine.cache.clear()
    engine.dashboard("sales", "sales", actor=actor(1))
    with Statements(world.database) as seen:
        again = engine.dashboard("sales", "sales", actor=actor(1))
    assert seen == []
    assert all(item.view is not None and item.view.result.cached for item in again.items)
    # another viewer's scope gets their own numbers, never the cached ones
    narrow = engine.report("sales", "by_stage", actor=actor(3, scope="own"))
    assert not narrow.result.cached
    assert sum(_counts(narrow).values()) == sum(1 for r in world.rows if r["owner"] == 3)
    # a write to customers recomputes the customer report only
    service.create("customer", {"name": "New", "industry": "tech"})
    after = engine.dashboard("sales", "sales", actor=actor(1))
    assert after.items[0].view is not None and after.items[0].view.result.cached
    assert after.items[1].view is not None and not after.items[1].view.result.cached
    assert sum(_counts(after.items[1].view).values()) == len(world.customers) + 1
    # a new definition version misses
    report = engine.app("sales").report("by_stage")
    assert report is not None
    bumped = replace(engine.app("sales"), reports=(replace(report, version=2),
                                                   *[r for r in engine.app("sales").reports if r.key != "by_stage"]))
    engine.records["sales"] = RecordService(world.database, bumped, field_types=service.field_types, clock=service.clock)
    assert not engine.report("sales", "by_stage", actor=actor(1)).result.cached
    engine.records["sales"] = service
