"""Datetimes bucketed in the clock's time zone (a datetime field's naive UTC
and the system timestamps' timestamptz alike) and quarters and years by the
app's fiscal year, against Python over the same values, on both databases."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from engine.reports.model import parse_query
from engine.reports.query import drill_filter, run_query
from tests.reports.conftest import TODAY, World

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Moments around local midnights and month ends, in UTC: 16:00 UTC is
# midnight in Shanghai, so these fall on the next local day (or month).
MOMENTS = [dt.datetime(2024, 3, 31, 15, 59), dt.datetime(2024, 3, 31, 16, 0), dt.datetime(2024, 3, 31, 23, 30),
           dt.datetime(2024, 6, 30, 17, 0), dt.datetime(2024, 12, 31, 16, 30), dt.datetime(2025, 1, 1, 3, 0),
           dt.datetime(2023, 12, 31, 20, 0), dt.datetime(2024, 9, 30, 15, 0)]


@pytest.fixture(scope="module")
def moments(world: World) -> dict[int, dt.datetime]:
    """The first opportunities' met_at (naive UTC) and created_at set to MOMENTS."""
    main = world.service.form("opportunity")[1].main
    with world.database.transaction() as conn:
        ids = list(conn.execute(sa.select(main.c.id).order_by(main.c.id).limit(len(MOMENTS))).scalars())
        for record_id, moment in zip(ids, MOMENTS, strict=True):
            conn.execute(main.update().where(main.c.id == record_id)
                         .values(met_at=moment, created_at=moment.replace(tzinfo=dt.UTC)))
    return dict(zip(ids, MOMENTS, strict=True))


def grouped(world: World, field: str, grain: str, app: Any = None) -> dict[Any, int]:
    query = parse_query({"form": "opportunity", "measures": [{"key": "n", "agg": "count"}],
                         "dimensions": [{"key": "period", "field": field, "grain": grain}],
                         "filter": {"field": "met_at", "op": "not_blank"}})
    with world.database.reading() as conn:
        result = run_query(conn, query, app or world.app, world.service.field_types, policy=None, user_id=None,
                           today=TODAY, tz=SHANGHAI)
    return {row[0]: row[1] for row in result.rows}


@pytest.mark.parametrize("field", ["met_at", "created_at"])
def test_datetimes_are_bucketed_in_the_clock_zone(world: World, moments: dict[int, dt.datetime], field: str) -> None:
    local = [m.replace(tzinfo=dt.UTC).astimezone(SHANGHAI).date() for m in moments.values()]
    assert grouped(world, field, "day") == dict(Counter(local))
    assert grouped(world, field, "month") == dict(Counter(d.replace(day=1) for d in local))


def test_quarters_and_years_follow_the_fiscal_year(world: World, moments: dict[int, dt.datetime]) -> None:
    april = dataclasses.replace(world.app, fiscal_year_start=4)
    local = [m.replace(tzinfo=dt.UTC).astimezone(SHANGHAI).date() for m in moments.values()]

    def fiscal_year(day: dt.date) -> int:  # named by the calendar year it starts in
        return day.year if day.month >= 4 else day.year - 1

    def fiscal_quarter(day: dt.date) -> dt.date:
        months = (day.year * 12 + day.month - 4) // 3 * 3 + 3
        return dt.date(months // 12, months % 12 + 1, 1)

    assert grouped(world, "met_at", "year", april) == dict(Counter(dt.date(fiscal_year(d), 4, 1) for d in local))
    assert grouped(world, "met_at", "quarter", april) == dict(Counter(fiscal_quarter(d) for d in local))
    # Drill-down on a fiscal quarter lists exactly its records.
    query = parse_query({"form": "opportunity", "measures": [{"key": "n", "agg": "count"}],
                         "dimensions": [{"key": "q", "field": "close_date", "grain": "quarter"}]})
    with world.database.reading() as conn:
        result = run_query(conn, query, april, world.service.field_types, policy=None, user_id=None,
                           today=TODAY, tz=SHANGHAI)
    for start, count in [(row[0], row[1]) for row in result.rows if row[0] is not None][:3]:
        spec = drill_filter(query, {"q": start}, april, world.service.field_types)
        assert world.service.count("opportunity", filter=spec) == (count, True)
