"""What one query may cost (issue #10, finding 9): paths read through at
most MAX_HOPS relations, a whole query through at most MAX_STEPS, and a list
or count that still runs too long is stopped at its deadline — a statement
timeout on PostgreSQL, a progress-handler interrupt on SQLite — as a 400,
after which the same service answers the next query as usual."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from engine.records.deadline import QueryTimeout
from engine.records.filters import MAX_HOPS, MAX_STEPS, QueryError
from engine.store.database import Database
from runtime.errors import status_of
from tests.security.query_probe import Probe, make_probe

FOUR_STEPS = "customer.subsidiary_of.subsidiary_of.subsidiary_of.name"


@pytest.fixture
def probe(database: Database, request: pytest.FixtureRequest) -> Probe:
    return make_probe(database, request)


def test_paths_and_queries_have_a_bounded_number_of_steps(probe: Probe) -> None:
    assert MAX_HOPS == 4 and MAX_STEPS == 20
    fine = probe.get("admin", "opportunity/records", filter={"field": FOUR_STEPS, "op": "contains", "value": "x"})
    assert fine.status_code == 200, fine.get_data(as_text=True)
    longer = probe.get("admin", "opportunity/records",
                       filter={"field": FOUR_STEPS.replace("customer.", "customer.subsidiary_of."), "op": "contains",
                               "value": "x"})
    assert longer.status_code == 400 and "too long" in longer.get_json()["error"]["message"]
    # the probe of the issue: 199 "contains" on long paths
    many = {"or": [{"field": FOUR_STEPS, "op": "contains", "value": f"v{i}"} for i in range(199)]}
    refused = probe.get("admin", "opportunity/records", filter=many)
    assert refused.status_code == 400, refused.get_data(as_text=True)
    error = refused.get_json()["error"]
    assert "more than 20 times" in error["message"] and "or[5].field" in error["details"]
    five = {"or": [{"field": FOUR_STEPS, "op": "contains", "value": f"v{i}"} for i in range(5)]}
    assert probe.get("admin", "opportunity/records", filter=five).status_code == 200
    # a sort's path counts too
    sorted_too = probe.get("admin", "opportunity/records", filter=five, sort="customer.name")
    assert sorted_too.status_code == 400


def seed_customers(probe: Probe, count: int) -> None:
    _, tables = probe.service.form("customer")
    now = dt.datetime.now(dt.UTC)
    rows = [{"name": f"Company {i:06d}", "version": 1, "created_at": now, "updated_at": now} for i in range(count)]
    with probe.database.transaction() as conn:
        conn.execute(tables.main.insert(), rows)


def test_a_query_that_runs_too_long_is_stopped(probe: Probe) -> None:
    seed_customers(probe, 30_000)
    costly = {"or": [
        *({"field": field, "op": "contains", "value": f"nothing {i}"} for i in range(90) for field in ("name", "notes")),
        *({"field": "subsidiary_of.name", "op": "contains", "value": f"nothing {i}"} for i in range(15)),
    ]}
    probe.service.reader.query_timeout = 0.05
    started = time.monotonic()
    with pytest.raises(QueryTimeout) as caught:
        probe.service.list("customer", filter=costly, limit=10)
    assert time.monotonic() - started < 5
    assert isinstance(caught.value, QueryError) and status_of(caught.value) == 400
    assert "ran longer than 0.05 s" in str(caught.value)
    with pytest.raises(QueryTimeout):
        probe.service.count("customer", filter=costly, cap=100_000)
    # the connection is fine afterwards, and a cheap query is well within the deadline
    assert probe.service.count("customer", filter={"field": "name", "op": "eq", "value": "Alpha"}) == (1, True)
    probe.service.reader.query_timeout = 30
    assert probe.service.list("customer", filter=costly, limit=10)["records"] == []
