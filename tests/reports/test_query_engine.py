"""The report query engine against numbers computed independently in Python
over the same rows, on SQLite and PostgreSQL: every grain, aggregation,
conditional and formula measure, having, order and limit, top with others,
year-over-year and period-over-period, running totals, pivot totals,
relation paths, the viewer's scope, and drill-down to exactly the records
behind a number."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest

from engine.core.errors import QueryError
from engine.org.permissions import parse_role
from engine.org.principal import Principal
from engine.records import Actor
from engine.records.access import AppAccess
from engine.reports.dates import GRAINS
from engine.reports.model import OTHERS, ReportResult, parse_query
from engine.reports.query import check_query, drill_filter, query_forms, run_query
from tests.reports.conftest import PEOPLE, STAGES, TODAY, World, actor


def run(world: World, data: Mapping[str, Any], who: Actor | None = None) -> ReportResult:
    query = parse_query(data)
    policy = who.policy(world.service, query.form) if who is not None else None
    with world.database.reading() as conn:
        return run_query(conn, query, world.app, world.service.field_types, policy=policy,
                         user_id=who.user_id if who else None, today=TODAY, tz=dt.UTC)


def grouped(rows: list[dict[str, Any]], key: Callable[[dict[str, Any]], Any],
            value: Callable[[list[dict[str, Any]]], Any]) -> dict[Any, Any]:
    groups: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[key(row)].append(row)
    return {k: value(v) for k, v in groups.items()}


def as_dict(result: ReportResult, dims: int = 1, measure: int | None = None) -> dict[Any, Any]:
    at = dims if measure is None else measure
    return {(row[0] if dims == 1 else tuple(row[:dims])): row[at] for row in result.rows}


def total(rows: list[dict[str, Any]]) -> Decimal | None:
    amounts = [r["amount"] for r in rows if r["amount"] is not None]
    return sum(amounts, Decimal(0)) if amounts else None


def bucket_start(grain: str, day: dt.date) -> dt.date:
    if grain == "day":
        return day
    if grain == "week":
        return day - dt.timedelta(days=day.weekday())
    if grain == "month":
        return day.replace(day=1)
    if grain == "quarter":
        return dt.date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
    return dt.date(day.year, 1, 1)


@pytest.mark.parametrize("grain", ["day", "week", "month", "quarter", "year"])
def test_every_grain_buckets_like_python(world: World, grain: str) -> None:
    result = run(world, {"form": "opportunity", "measures": [{"key": "n", "agg": "count"}],
                         "dimensions": [{"key": "period", "field": "close_date", "grain": grain}]})
    expected = grouped(world.rows, lambda r: r["close_date"] and bucket_start(grain, r["close_date"]), len)
    assert as_dict(result) == expected
    starts = [v for v in result.values("period") if v is not None]
    assert starts == sorted(starts) and result.rows[-1][0] is None  # in time, blank last
    assert result.labels["period"][starts[0]] == GRAINS.get(grain).text(
        next(iter(_bucket(grain, starts[0]))), fiscal_start=1)


def _bucket(grain: str, start: dt.date) -> list[int]:
    months = start.year * 12 + start.month - 1
    days = (start - dt.date(1970, 1, 1)).days
    return [{"day": days, "week": (days + 3) // 7, "month": months, "quarter": months // 3,
             "year": months // 12}[grain]]


def test_every_aggregation_conditional_and_formula_measures(world: World) -> None:
    result = run(world, {"form": "opportunity", "dimensions": [{"key": "owner", "field": "owner"}], "measures": [
        {"key": "n", "agg": "count"}, {"key": "filled", "agg": "count", "field": "amount"},
        {"key": "amount", "agg": "sum", "field": "amount"}, {"key": "avg", "agg": "avg", "field": "amount"},
        {"key": "low", "agg": "min", "field": "amount"}, {"key": "high", "agg": "max", "field": "close_date"},
        {"key": "customers", "agg": "count_distinct", "field": "customer"},
        {"key": "won", "agg": "count", "filter": {"field": "stage", "op": "eq", "value": "won"}},
        {"key": "won_amount", "agg": "sum", "field": "amount", "filter": {"field": "stage", "op": "eq", "value": "won"}},
        {"key": "rate", "formula": "won / n"}, {"key": "none", "formula": "won / (n - n)"}]})
    for row in result.records():
        mine = [r for r in world.rows if r["owner"] == row["owner"]]
        amounts = [r["amount"] for r in mine if r["amount"] is not None]
        won = [r for r in mine if r["stage"] == "won"]
        assert row["n"] == len(mine) and row["filled"] == len(amounts)
        assert row["amount"] == sum(amounts, Decimal(0))
        assert float(row["avg"]) == pytest.approx(float(sum(amounts, Decimal(0)) / len(amounts)))
        assert row["low"] == min(amounts)
        assert row["high"] == max(r["close_date"] for r in mine if r["close_date"])
        assert row["customers"] == len({r["customer"] for r in mine if r["customer"]})
        assert row["won"] == len(won) and row["won_amount"] == total(won)
        assert row["rate"] == pytest.approx(len(won) / len(mine))
        assert row["none"] is None  # a division by zero is blank
    assert {r["owner"] for r in result.records()} == set(PEOPLE)
    assert result.labels["owner"][1].zh == "Li Lei"
    money = result.column("amount")
    assert money is not None and money.type == "money" and money.format["currency"] == "CNY"


def test_select_options_in_their_order_relation_paths_and_labels(world: World) -> None:
    result = run(world, {"form": "opportunity", "measures": [{"key": "amount", "agg": "sum", "field": "amount"}],
                         "dimensions": [{"key": "stage", "field": "stage"}]})
    assert result.values("stage") == [*STAGES, None]
    assert result.labels["stage"]["won"].en == "Won"
    assert result.column("stage").format["colors"] == {"won": "#52c41a"}  # type: ignore[union-attr]
    by_industry = run(world, {"form": "opportunity", "measures": [{"key": "amount", "agg": "sum", "field": "amount"}],
                              "dimensions": [{"key": "industry", "field": "customer.industry"}]})
    expected = grouped(world.rows, lambda r: r["customer"] and world.customers[r["customer"]]["industry"], total)
    assert as_dict(by_industry) == expected
    customers = run(world, {"form": "opportunity", "measures": [{"key": "n", "agg": "count"}], "limit": 100,
                            "dimensions": [{"key": "customer", "field": "customer"}]})
    assert {customers.labels["customer"][v].en for v in customers.values("customer") if v} == {
        c["name"] for c in world.customers.values()}


def test_having_order_and_limit(world: World) -> None:
    per_owner = grouped(world.rows, lambda r: r["owner"], total)
    threshold = sorted(per_owner.values())[1]
    result = run(world, {"form": "opportunity", "measures": [{"key": "amount", "agg": "sum", "field": "amount"}],
                         "dimensions": [{"key": "owner", "field": "owner"}],
                         "having": {"field": "amount", "op": "gt", "value": float(threshold)}, "order": ["-amount"]})
    assert as_dict(result) == {k: v for k, v in per_owner.items() if v > threshold}
    assert result.values("amount") == sorted(result.values("amount"), reverse=True)
    cut = run(world, {"form": "opportunity", "measures": [{"key": "n", "agg": "count"}], "limit": 5,
                      "dimensions": [{"key": "day", "field": "close_date", "grain": "day"}]})
    assert len(cut.rows) == 5 and cut.truncated


def test_top_n_with_and_without_others(world: World) -> None:
    per_customer = grouped(world.rows, lambda r: r["customer"], total)
    ranked = sorted(((v, k) for k, v in per_customer.items() if k is not None and v is not None), reverse=True)
    top = [k for _, k in ranked[:3]]
    query = {"form": "opportunity", "measures": [{"key": "amount", "agg": "sum", "field": "amount"}],
             "dimensions": [{"key": "customer", "field": "customer"}], "top": {"dimension": "customer", "n": 3, "by": "amount"}}
    result = run(world, query)
    assert result.values("customer")[:3] == top and result.values("customer")[3] == OTHERS
    rest = [r for r in world.rows if r["customer"] not in top]
    assert result.rows[3][1] == total(rest)
    assert result.labels["customer"][OTHERS].zh == "其他"
    only = run(world, {**query, "top": {"dimension": "customer", "n": 3, "by": "amount", "others": False}})
    assert only.values("customer") == top


def test_year_over_year_period_over_period_and_running_totals(world: World) -> None:
    result = run(world, {"form": "opportunity", "measures": [{"key": "amount", "agg": "sum", "field": "amount"}],
                         "dimensions": [{"key": "month", "field": "close_date", "grain": "month"}],
                         "compare": [{"measure": "amount", "kind": "yoy", "dimension": "month"},
                                     {"measure": "amount", "kind": "pop", "dimension": "month"}],
                         "running": [{"measure": "amount", "dimension": "month"}]})
    months = grouped(world.rows, lambda r: r["close_date"] and r["close_date"].replace(day=1), total)
    running = Decimal(0)
    for row in result.records():
        month = row["month"]
        if month is None:
            continue
        year_before = months.get(month.replace(year=month.year - 1))
        back = dt.date(month.year - (month.month == 1), (month.month - 2) % 12 + 1, 1)
        assert row["amount_yoy"] == year_before and row["amount_pop"] == months.get(back)
        if year_before and row["amount"] is not None:
            assert row["amount_yoy_change"] == pytest.approx(float((row["amount"] - year_before) / year_before))
        running += row["amount"] or 0
        assert row["amount_running"] == running
    assert any(r["amount_yoy"] is not None for r in result.records())


def test_pivot_totals_come_from_the_database(world: World) -> None:
    result = run(world, {"form": "opportunity", "measures": [{"key": "avg", "agg": "avg", "field": "amount"}],
                         "dimensions": [{"key": "owner", "field": "owner"}, {"key": "stage", "field": "stage"}],
                         "pivot": {"rows": ["owner"], "columns": ["stage"], "totals": True}})
    assert result.grouping is not None and set(result.grouping) == {0, 1, 2, 3}

    def avg(rows: list[dict[str, Any]]) -> float | None:
        amounts = [r["amount"] for r in rows if r["amount"] is not None]
        return float(sum(amounts) / len(amounts)) if amounts else None

    for row, bits in zip(result.rows, result.grouping, strict=True):
        rows = [r for r in world.rows if (bits & 1 or r["owner"] == row[0]) and (bits & 2 or r["stage"] == row[1])]
        got = float(row[2]) if row[2] is not None else None
        assert got == pytest.approx(avg(rows))


def test_the_viewers_scope_and_hidden_fields(world: World) -> None:
    east = actor(1, scope="department")  # Li Lei: East is users 1 and 2
    result = run(world, {"form": "opportunity", "measures": [{"key": "n", "agg": "count"}],
                         "dimensions": [{"key": "owner", "field": "owner"}]}, east)
    assert as_dict(result) == grouped([r for r in world.rows if r["owner"] in (1, 2)], lambda r: r["owner"], len)
    # A viewer whose department has no membership row of theirs yet still sees their own records.
    west = actor(3, scope="department")
    assert west.access is not None
    moved = replace(west, access=replace(west.access, principal=replace(
        west.access.principal, department_ids=frozenset({10}), main_department_id=10)))
    result = run(world, {"form": "opportunity", "measures": [{"key": "n", "agg": "count"}],
                         "dimensions": [{"key": "owner", "field": "owner"}]}, moved)
    assert as_dict(result) == grouped([r for r in world.rows if r["owner"] in (1, 2, 3)], lambda r: r["owner"], len)
    hidden = actor(3, hide=("cost",))
    query = parse_query({"form": "opportunity", "measures": [{"key": "cost", "agg": "sum", "field": "cost"}]})
    problems = check_query(query, world.app, world.service.field_types,
                           policy=hidden.policy(world.service, "opportunity"))
    assert problems and problems[0][0] == "query.measures[0].field"
    with pytest.raises(QueryError):
        run(world, query.to_dict(), hidden)
    secret = parse_query({"form": "opportunity", "measures": [{"key": "n", "agg": "count"}],
                          "dimensions": [{"key": "s", "field": "customer.secret"}], "limit": 10})
    assert check_query(secret, world.app, world.service.field_types,
                       policy=actor(1).policy(world.service, "opportunity"))


@pytest.mark.parametrize(("data", "path"), [
    ({"form": "nope", "measures": [{"key": "n", "agg": "count"}]}, "query.form"),
    ({"form": "opportunity", "measures": [{"key": "n", "agg": "sum", "field": "amout"}]}, "query.measures[0].field"),
    ({"form": "opportunity", "measures": [{"key": "n", "agg": "sum", "field": "name"}]}, "query.measures[0].field"),
    ({"form": "opportunity", "measures": [{"key": "n", "agg": "median", "field": "amount"}]}, "query.measures[0].agg"),
    ({"form": "opportunity", "measures": [{"key": "r", "formula": "x / 2"}]}, "query.measures[0].formula"),
    ({"form": "opportunity", "measures": [{"key": "r", "formula": "__import__('os')"}]}, "query.measures[0].formula"),
    ({"form": "opportunity", "measures": [{"key": "n", "agg": "count"}],
      "dimensions": [{"key": "d", "field": "stage", "grain": "month"}]}, "query.dimensions[0].grain"),
    ({"form": "opportunity", "measures": [{"key": "n", "agg": "count"}],
      "dimensions": [{"key": "c", "field": "customer"}]}, "query.limit"),
    ({"form": "opportunity", "measures": [{"key": "n", "agg": "count"}], "order": ["x"]}, "query.order[0]"),
])
def test_problems_name_their_path(world: World, data: dict[str, Any], path: str) -> None:
    problems = check_query(parse_query(data), world.app, world.service.field_types)
    assert problems and problems[0][0] == path, problems


def test_query_forms_follow_relation_paths(world: World) -> None:
    query = parse_query({"form": "opportunity", "measures": [{"key": "n", "agg": "count"}],
                         "dimensions": [{"key": "i", "field": "customer.industry"}]})
    assert query_forms(query, world.app, world.service.field_types) == {"opportunity", "customer"}


@pytest.mark.parametrize("point", [
    {"stage": "won", "month": "2024-03-01"}, {"stage": None, "month": "2024-05-01"}, {"month": None},
])
def test_drill_down_lists_exactly_the_records_behind_a_group(world: World, point: dict[str, Any]) -> None:
    data = {"form": "opportunity", "measures": [{"key": "n", "agg": "count"}],
            "dimensions": [{"key": "month", "field": "close_date", "grain": "month"}, {"key": "stage", "field": "stage"}],
            "filter": {"field": "owner", "op": "in", "value": [1, 3]}}
    query = parse_query(data)
    result = run(world, data)
    point = {k: dt.date.fromisoformat(v) if k == "month" and v else v for k, v in point.items()}
    expected = sum(r["n"] for r in result.records() if all(r[k] == v for k, v in point.items()))
    spec = drill_filter(query, point, world.app, world.service.field_types)
    assert world.service.count("opportunity", filter=spec)[0] == expected > 0


def test_drill_down_on_others_and_a_conditional_measure(world: World) -> None:
    data = {"form": "opportunity", "measures": [{"key": "amount", "agg": "sum", "field": "amount"},
                                                {"key": "won", "agg": "count", "filter": {"field": "stage", "op": "eq",
                                                                                          "value": "won"}}],
            "dimensions": [{"key": "customer", "field": "customer"}], "top": {"dimension": "customer", "n": 2, "by": "amount"}}
    result = run(world, data)
    query = parse_query(data)
    others = drill_filter(query, {"customer": OTHERS}, world.app, world.service.field_types, result=result)
    top = [v for v in result.values("customer") if v != OTHERS]
    assert world.service.count("opportunity", filter=others)[0] == len([r for r in world.rows if r["customer"] not in top])
    won = drill_filter(query, {"customer": top[0]}, world.app, world.service.field_types, measure="won")
    assert world.service.count("opportunity", filter=won)[0] == result.rows[0][2]


def test_a_related_record_the_viewer_may_not_read_keeps_no_title(world: World) -> None:
    role = parse_role("narrow", {"opportunity": {"actions": ["read"], "read": "all"},
                                 "customer": {"actions": ["read"],
                                              "read": {"filter": {"field": "industry", "op": "eq", "value": "tech"}}}})
    principal = Principal(user_id=1, login="u1", roles=frozenset({"narrow"}), department_ids=frozenset({10}))
    narrow = Actor(user_id=1, source="web", access=AppAccess(principal, (role,), app="sales"))
    result = run(world, {"form": "opportunity", "measures": [{"key": "n", "agg": "count"}],
                         "dimensions": [{"key": "customer", "field": "customer"}], "limit": 20}, narrow)
    shown = {v: result.labels["customer"][v].en for v in result.values("customer") if v is not None}
    assert shown and all(
        text == (c["name"] if c["industry"] == "tech" else f"#{v}")
        for v, text in shown.items() for c in [world.customers[v]])
    assert {c["name"] for v, c in world.customers.items() if c["industry"] == "tech"} <= set(shown.values())


def test_member_names_come_from_the_given_lookup(world: World) -> None:
    asked: list[tuple[str, list[int]]] = []

    def names(kind: str, ids: Any) -> dict[int, str]:
        asked.append((kind, list(ids)))
        return {i: f"person {i}" for i in ids}

    query = parse_query({"form": "opportunity", "measures": [{"key": "n", "agg": "count"}],
                         "dimensions": [{"key": "owner", "field": "owner"}]})
    with world.database.reading() as conn:
        result = run_query(conn, query, world.app, world.service.field_types, policy=None, user_id=None,
                           today=TODAY, tz=dt.UTC, org_names=names)
    assert asked == [("user", sorted(PEOPLE))]
    assert {v: result.labels["owner"][v].zh for v in result.values("owner")} == {i: f"person {i}" for i in PEOPLE}
