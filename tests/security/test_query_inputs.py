"""Query inputs that once answered 500, and injection in every query
parameter (issue #10, finding 6 and the probes that already held): each is a
400 naming what and where, in words of ours (never Python's), and nothing is
written. On SQLite and PostgreSQL, through the HTTP API."""

from __future__ import annotations

import base64
import itertools
import json
from typing import Any

import pytest

from engine.store.database import Database
from tests.security.query_probe import Probe, make_probe


@pytest.fixture
def probe(database: Database, request: pytest.FixtureRequest) -> Probe:
    return make_probe(database, request)


def refused(response: Any) -> dict[str, Any]:
    assert response.status_code == 400, response.get_data(as_text=True)
    error: dict[str, Any] = response.get_json()["error"]
    text = json.dumps(error)
    for python in ("Traceback", "ArgumentError", "Exceeds the limit", "4300", "sqlalchemy", "invalid literal"):
        assert python not in text, text
    return error


COMPARED = [("customer", "revenue"), ("opportunity", "amount"), ("opportunity", "close_date"),
            ("customer", "created_at"), ("opportunity", "weighted_amount"), ("customer", "won_amount")]


def test_a_blank_comparison_is_a_400(probe: Probe) -> None:
    for op, (form, field) in itertools.product(["gt", "gte", "lt", "lte", "before", "after"], COMPARED):
        ftype = probe.service.form(form)[0].types.get(field)
        operators = ftype.operators_for(probe.service.form(form)[0].fields[field]) if ftype else ()
        if field != "created_at" and op not in operators:
            continue
        for blank in ("", "   ", [], {}):
            error = refused(probe.get("admin", f"{form}/records",
                                      filter={"and": [{"field": field, "op": op, "value": blank}]}))
            assert "and[0].value" in error["details"], error


def test_a_huge_id_is_a_400_in_a_filter_and_in_a_record(probe: Probe) -> None:
    digits = "1" * 5000
    for condition in ({"field": "customer", "op": "eq", "value": digits},
                      {"field": "customer", "op": "in", "value": [digits]},
                      {"field": "id", "op": "eq", "value": digits},
                      {"field": "close_date", "op": "within_days", "value": digits},
                      {"field": "close_date", "op": "within_days", "value": 10**14}):
        error = refused(probe.get("admin", "opportunity/records", filter=condition))
        assert "value" in error["details"]
    before = probe.service.count("opportunity")
    for body in ({"name": "Huge", "customer": digits}, {"name": "Huge", "customer": 10**40},
                 {"name": "Huge", "customer": "1e5000"}):
        error = refused(probe.send("admin", "POST", "opportunity/records", body))
        assert "customer" in error["details"]
    bulk = refused(probe.send("admin", "POST", "opportunity/records/bulk", {"records": [{"name": "H", "customer": digits}]}))
    assert bulk
    assert probe.service.count("opportunity") == before  # nothing written


def test_a_nul_character_matches_nothing_it_is_refused(probe: Probe) -> None:
    error = refused(probe.get("admin", "customer/records", filter={"field": "name", "op": "contains", "value": "\x00"}))
    assert "NUL" in error["message"]
    refused(probe.get("admin", "customer/records", filter={"field": "name", "op": "in", "value": ["a", "\x00"]}))
    refused(probe.get("admin", "customer/records", search="Eps\x00"))


INJECTION = "x' OR 1=1 --"


INJECTIONS: list[tuple[str, Any]] = [
    ("sort", INJECTION), ("sort", "name; DROP TABLE crm_customer"), ("sort", "-subsidiary_of.name'--"),
    ("filter", {"field": INJECTION, "op": "eq", "value": 1}), ("filter", {"field": "name", "op": INJECTION, "value": 1}),
    ("filter", "{not json"), ("filter", [1, 2]), ("filter", {"and": "x"}), ("filter", {"field": "subsidiary_of." + INJECTION, "op": "eq"}),
    ("after", INJECTION), ("after", base64.urlsafe_b64encode(b'{"s":[["id",false]],"v":["1 OR 1=1"]}').decode()),
    ("limit", INJECTION), ("limit", "100000000000000000000"),
]


def test_injection_in_every_query_parameter_is_a_400(probe: Probe) -> None:
    for (parameter, value), who in itertools.product(INJECTIONS, ("admin", "alice")):
        refused(probe.get(who, "customer/records", **{parameter: value}))
    # nothing happened to the data
    assert probe.service.count("customer") == (3, True)


def test_a_search_or_fields_are_never_sql(probe: Probe) -> None:
    """Unknown names in ``fields`` are the inputs part's to refuse (400); here:
    never a 500, never a column of another table."""
    for fields in (INJECTION, "name,\"id\" FROM users --"):
        response = probe.get("alice", "customer/records", fields=fields)
        assert response.status_code in (200, 400), response.get_data(as_text=True)
        if response.status_code == 200:
            for record in response.get_json()["records"]:
                assert set(record) <= {"id", "owner", "created_by", "created_at", "updated_by", "updated_at",
                                       "version", "flow_status", "name"}
    response = probe.get("alice", "customer/records", search=INJECTION)
    assert response.status_code == 200 and response.get_json()["records"] == []


def test_records_outside_the_scope_are_not_found_by_id(probe: Probe) -> None:
    """IDOR: alice cannot get, patch or delete the admin's Epsilon or bob's
    Bravo; each answers exactly as a record that does not exist."""
    for name in ("epsilon", "bravo"):
        record_id = probe.ids[name]
        for method in ("GET", "PATCH", "DELETE"):
            body = {"version": 1, "name": "Mine now"} if method == "PATCH" else None
            outside = probe.send("alice", method, f"customer/records/{record_id}", body)
            missing = probe.send("alice", method, "customer/records/999999", body)
            assert outside.status_code == missing.status_code == 404
            assert outside.get_json()["error"]["code"] == missing.get_json()["error"]["code"] == "not_found"
    assert probe.service.get("customer", probe.ids["epsilon"])["name"] == "Epsilon"
