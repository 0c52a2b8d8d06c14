"""``ReportEngine`` (engine.reports) dashboards on SQLite and PostgreSQL: a
dashboard's cards under global filters, the cache item by item (a write to
a form one card reads recomputes that card only), each viewer's scope,
drill-down and export, a card's error kept in its card, the default
dashboard by role, ad-hoc queries under the viewer's rights, and alerts
that fire once per crossing."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from engine.core.clock import FixedClock
from engine.core.errors import NotFoundError, QueryError
from engine.definitions.report_files import DashboardDef, ReportDef
from engine.notify.notifier import Notifier
from engine.org.service import OrgService
from engine.records import RecordService
from engine.reports.service import ReportEngine
from tests.reports.conftest import World, actor

REPORTS: list[dict[str, Any]] = [
    {"key": "by_stage", "label": {"zh": "按阶段", "en": "By stage"}, "chart": {"type": "bar"},
     "query": {"form": "opportunity", "measures": [{"key": "amount", "agg": "sum", "field": "amount"},
                                                   {"key": "n", "agg": "count"}],
               "dimensions": [{"key": "stage", "field": "stage"}]},
     "alerts": [{"key": "big", "label": "Big pipeline", "measure": "amount", "op": "gt", "value": 1000, "every": "1h",
                 "notify": {"to": [{"member": 1}], "title": "{{ alert }}: {{ value }}", "text": "over {{ threshold }}"}}]},
    {"key": "by_month", "label": "By month", "chart": {"type": "line"},
     "query": {"form": "opportunity", "measures": [{"key": "n", "agg": "count"}],
               "dimensions": [{"key": "month", "field": "close_date", "grain": "month"}]}},
    {"key": "yoy", "label": "Year over year", "chart": {"type": "bar", "y": ["n", "n_yoy"]},
     "query": {"form": "opportunity", "measures": [{"key": "n", "agg": "count"}],
               "dimensions": [{"key": "month", "field": "close_date", "grain": "month"}],
               "compare": [{"measure": "n", "kind": "yoy", "dimension": "month"}]}},
    {"key": "customers", "label": "Customers", "chart": {"type": "number"},
     "query": {"form": "customer", "measures": [{"key": "n", "agg": "count"}]}},
]
DASHBOARD: dict[str, Any] = {
    "key": "sales", "label": "Sales", "roles": ["sales"],
    "filters": [{"key": "period", "type": "date_range", "label": "Period",
                 "fields": {"by_stage": "close_date", "by_month": "close_date", "yoy": "close_date"}, "default": "all"},
                {"key": "owner", "type": "member", "label": "Owner", "fields": {"by_stage": "owner"}}],
    "items": [{"report": "by_stage", "w": 6}, {"report": "by_month", "x": 6, "w": 6}, {"report": "customers", "y": 4}],
}


class Services:
    """The one app's record service, as the composition's RecordServices serves it."""

    def __init__(self, service: RecordService) -> None:
        self.service = service

    def get(self, app_key: str) -> RecordService:
        if app_key != self.service.app.key:
            raise NotFoundError(f"no app {app_key}")
        return self.service

    def app_keys(self) -> list[str]:
        return [self.service.app.key]


@pytest.fixture(scope="module")
def engine(world: World) -> Iterator[ReportEngine]:
    app = dataclasses.replace(world.app, reports=tuple(ReportDef.from_dict(r, version=1) for r in REPORTS),
                              dashboards=(DashboardDef.from_dict(DASHBOARD, version=2),))
    clock = FixedClock(dt.datetime(2025, 6, 15, 10))
    service = RecordService(world.database, app, field_types=world.service.field_types, clock=clock)
    yield ReportEngine(Services(service), OrgService(world.database, clock), clock, Notifier(clock))


def test_cards_are_cached_one_by_one_by_the_forms_they_read(world: World, engine: ReportEngine) -> None:
    who = actor(1)
    first = engine.dashboard("sales", "sales", actor=who)
    assert [i.error for i in first.items] == [None, None, None]
    seen: list[str] = []

    def listen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "sales_opportunity" in statement or "sales_customer" in statement:
            seen.append(statement)

    sa.event.listen(world.database.engine, "before_cursor_execute", listen)
    try:
        again = engine.dashboard("sales", "sales", actor=who)
        assert all(i.view is not None and i.view.result.cached for i in again.items) and seen == []
        service = engine.records.get("sales")
        service.create("customer", {"name": "New"})  # only the customer card reads it
        third = engine.dashboard("sales", "sales", actor=who)
        assert [i.view.result.cached for i in third.items if i.view] == [True, True, False]
        service.create("opportunity", {"name": "Late", "stage": "won", "amount": "5"})
        fourth = engine.dashboard("sales", "sales", actor=who)
        assert [i.view.result.cached for i in fourth.items if i.view] == [False, False, True]
    finally:
        sa.event.remove(world.database.engine, "before_cursor_execute", listen)


def test_global_filters_drill_down_and_export(world: World, engine: ReportEngine) -> None:
    view = engine.dashboard("sales", "sales", actor=actor(1), filters={"period": "2024-01-01..2024-06-30", "owner": "3"})
    by_stage = view.items[0].view
    assert by_stage is not None and view.filters.raw == {"period": "2024-01-01..2024-06-30", "owner": "3"}
    expected = [r for r in world.rows if r["owner"] == 3 and r["close_date"]
                and dt.date(2024, 1, 1) <= r["close_date"] <= dt.date(2024, 6, 30)]
    assert sum(by_stage.result.values("n")) == len(expected)
    won = next(r for r in by_stage.result.records() if r["stage"] == "won")
    target = engine.drill("sales", "by_stage", {"stage": "won"}, actor=actor(1), dashboard="sales",
                          filters={"period": "2024-01-01..2024-06-30", "owner": "3"})
    assert target.form == "opportunity"
    assert engine.records.get("sales").count("opportunity", filter=target.filter)[0] == won["n"]
    with pytest.raises(QueryError):
        engine.drill("sales", "by_stage", {"colour": "red"}, actor=actor(1))
    with pytest.raises(QueryError) as caught:
        engine.dashboard("sales", "sales", actor=actor(1), filters={"period": "soon"})
    assert caught.value.path == "period"
    name, body = engine.export("sales", "by_stage", actor=actor(1), locale="en")
    sheet = load_workbook(io.BytesIO(body)).active
    assert name.endswith(".xlsx") and sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "Stage" and len(rows) > 2


def test_a_period_filter_keeps_the_year_before_for_comparing(world: World, engine: ReportEngine) -> None:
    view = engine.report("sales", "yoy", actor=actor(1), dashboard="sales", filters={"period": "this_year"})
    months = view.result.values("month")
    assert months and all(m is not None and m.year == 2025 for m in months)
    per_month = {}
    for r in world.rows:
        if r["close_date"]:
            key = r["close_date"].replace(day=1)
            per_month[key] = per_month.get(key, 0) + 1
    for row in view.result.records():
        assert row["n"] == per_month[row["month"]]
        assert row["n_yoy"] == per_month.get(row["month"].replace(year=2024))
    assert any(r["n_yoy"] for r in view.result.records())


def test_a_card_the_viewer_may_not_see_and_the_default_dashboard(engine: ReportEngine) -> None:
    view = engine.dashboard("sales", "sales", actor=actor(3, hide=("amount",)))
    assert view.items[0].error is not None and view.items[1].view is not None
    default = engine.default_dashboard("sales", actor=actor(1))
    assert default is not None and default.key == "sales"
    with pytest.raises(NotFoundError):
        engine.report("sales", "nope", actor=actor(1))


def test_ad_hoc_queries_are_checked_under_the_viewers_rights(engine: ReportEngine) -> None:
    result = engine.query("sales", {"form": "opportunity", "measures": [{"key": "n", "agg": "count"}]}, actor=actor(1))
    assert result.rows[0][0] > 0
    with pytest.raises(QueryError) as caught:
        engine.query("sales", {"form": "opportunity", "measures": [{"key": "a", "agg": "sum", "field": "amount"}]},
                     actor=actor(3, hide=("amount",)))
    assert caught.value.path == "query.measures[0].field"


def test_alerts_fire_once_per_crossing(world: World, engine: ReportEngine) -> None:
    start = engine.clock.now()
    assert engine.run_alerts(start) == 1
    assert engine.run_alerts(start) == 0  # claimed for the hour
    assert engine.run_alerts(start + dt.timedelta(hours=1, minutes=1)) == 1  # still true: not told again
    with world.database.reading() as conn:
        titles = conn.execute(sa.text("SELECT title FROM notifications WHERE user_id = 1")).scalars().all()
    assert len(titles) == 1 and titles[0].startswith("Big pipeline")
