"""Dashboards' global filters (engine/reports/filters.py): URL values parsed
with clear errors, presets from today, and the conditions each puts on a
report's field."""

from __future__ import annotations

import datetime as dt

import pytest

from engine.core.errors import QueryError
from engine.core.i18n import label
from engine.definitions.model import FieldDef
from engine.reports.filters import GLOBAL_FILTERS, PRESETS, DateRange, Departments

TODAY = dt.date(2026, 5, 14)


def field(type_: str) -> FieldDef:
    return FieldDef(key="f", type=type_, label=label("F"))


@pytest.mark.parametrize(("preset", "low", "high"), [
    ("all", None, None),
    ("today", "2026-05-14", "2026-05-15"),
    ("this_month", "2026-05-01", "2026-06-01"),
    ("last_month", "2026-04-01", "2026-05-01"),
    ("this_quarter", "2026-04-01", "2026-07-01"),
    ("last_quarter", "2026-01-01", "2026-04-01"),
    ("this_year", "2026-01-01", "2027-01-01"),
    ("last_year", "2025-01-01", "2026-01-01"),
    ("last_30_days", "2026-04-15", "2026-05-15"),
    ("last_12_months", "2025-06-01", "2026-06-01"),
])
def test_presets_are_half_open_ranges_from_today(preset: str, low: str | None, high: str | None) -> None:
    value = GLOBAL_FILTERS.get("date_range").parse(preset, "period")
    start, end = value.bounds(TODAY)
    assert (start.isoformat() if start else None, end.isoformat() if end else None) == (low, high)
    assert set(PRESETS) >= {preset}


def test_quarter_presets_in_january_cross_the_year() -> None:
    january = dt.date(2026, 1, 20)
    assert DateRange(None, None, "last_quarter").bounds(january) == (dt.date(2025, 10, 1), dt.date(2026, 1, 1))
    assert DateRange(None, None, "last_month").bounds(january) == (dt.date(2025, 12, 1), dt.date(2026, 1, 1))


def test_a_typed_range_includes_its_last_day_and_may_be_open() -> None:
    kind = GLOBAL_FILTERS.get("date_range")
    closed = kind.condition("close_date", kind.parse("2024-01-01..2024-12-31", "period"), today=TODAY)
    assert closed == {"and": [{"field": "close_date", "op": "gte", "value": "2024-01-01"},
                              {"field": "close_date", "op": "lt", "value": "2025-01-01"}]}
    assert kind.condition("d", kind.parse("..2024-06-30", "p"), today=TODAY) == {
        "field": "d", "op": "lt", "value": "2024-07-01"}
    assert kind.condition("d", kind.parse("all", "p"), today=TODAY) is None


@pytest.mark.parametrize("raw", ["yesterday-ish", "2024-13-01..", "2024-05-01..2024-04-01"])
def test_a_bad_date_range_names_the_parameter(raw: str) -> None:
    with pytest.raises(QueryError) as caught:
        GLOBAL_FILTERS.get("date_range").parse(raw, "period")
    assert caught.value.path == "period"


def test_members_and_me_on_single_and_multiple_fields() -> None:
    kind = GLOBAL_FILTERS.get("member")
    assert kind.condition_on(field("member"), "owner", kind.parse("3, 7", "owner"), today=TODAY) == {
        "field": "owner", "op": "in", "value": [3, 7]}
    assert kind.condition_on(field("members"), "team", kind.parse("3", "team"), today=TODAY) == {
        "field": "team", "op": "has_any", "value": [3]}
    assert kind.condition_on(field("member"), "owner", kind.parse("me", "owner"), today=TODAY) == {
        "field": "owner", "op": "is_me"}
    with pytest.raises(QueryError):
        kind.parse("3,zhang", "owner")
    assert kind.accepts(field("member")) and not kind.accepts(field("text"))


def test_a_department_means_its_people_on_a_member_field_and_its_subtree_on_a_department_field() -> None:
    kind = GLOBAL_FILTERS.get("department")
    value = Departments(4, subtree=(4, 9), members=(11, 12))
    assert kind.condition_on(field("member"), "owner", value, today=TODAY) == {
        "field": "owner", "op": "in", "value": [11, 12]}
    assert kind.condition_on(field("department"), "dept", value, today=TODAY) == {
        "field": "dept", "op": "in", "value": [4, 9]}
    assert kind.condition_on(field("departments"), "depts", value, today=TODAY) == {
        "field": "depts", "op": "has_any", "value": [4, 9]}
    assert kind.parse("4", "department") == Departments(4)
    with pytest.raises(QueryError):
        kind.parse("4,5", "department")


def test_select_options() -> None:
    kind = GLOBAL_FILTERS.get("select")
    assert kind.condition_on(field("select"), "stage", kind.parse("won,lost", "stage"), today=TODAY) == {
        "field": "stage", "op": "in", "value": ["won", "lost"]}
    assert kind.condition_on(field("multiselect"), "tags", kind.parse("a", "tags"), today=TODAY) == {
        "field": "tags", "op": "has_any", "value": ["a"]}
    assert kind.condition_on(field("select"), "stage", kind.parse(" , ", "stage"), today=TODAY) is None
