"""Relation paths never reveal what the reader may not see (issue #10, finding 1):
every step of a filter, sort or search path must be a field the reader sees
on the form it reads, and a related record outside their read scope counts as
no record at all — through the record service and through the HTTP API, on
SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import io
import json

import pytest

from engine.core.errors import PermissionDenied
from engine.store.database import Database
from tests.security.query_probe import SECRET_NOTES, SECRET_REVENUE, Probe, make_probe


@pytest.fixture
def probe(database: Database, request: pytest.FixtureRequest) -> Probe:
    return make_probe(database, request)


def cursor_text(cursor: str | None) -> str:
    if cursor is None:
        return ""
    return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("utf-8")


@pytest.mark.parametrize(("path", "query"), [
    ("customer/records", {"sort": "-subsidiary_of.revenue"}),
    ("customer/records", {"sort": "subsidiary_of.notes"}),
    ("opportunity/records", {"sort": "-customer.revenue"}),
    ("customer/records", {"filter": {"field": "subsidiary_of.notes", "op": "contains", "value": "secret"}}),
    ("opportunity/records", {"filter": {"field": "customer.notes", "op": "contains", "value": "secret"}}),
    ("opportunity/records", {"filter": {"field": "customer.subsidiary_of.revenue", "op": "gt", "value": 1}}),
    ("opportunity/records", {"filter": {"or": [{"field": "name", "op": "is_blank"},
                                               {"not": {"field": "customer.revenue", "op": "is_blank"}}]}}),
])
def test_a_hidden_field_cannot_be_read_through_a_relation(probe: Probe, path: str, query: dict[str, object]) -> None:
    response = probe.get("alice", path, limit=1, **query)
    assert response.status_code == 403, response.get_data(as_text=True)
    body = response.get_data(as_text=True)
    assert SECRET_REVENUE not in body and SECRET_NOTES not in body
    assert "not visible to you" in response.get_json()["error"]["message"]


def test_the_service_refuses_hidden_steps_in_lists_counts_and_exports(probe: Probe) -> None:
    from engine.records.exporting import export_records

    alice = probe.actor("alice")
    hidden = {"field": "customer.revenue", "op": "gt", "value": 0}
    with pytest.raises(PermissionDenied):
        probe.service.list("opportunity", filter=hidden, actor=alice)
    with pytest.raises(PermissionDenied):
        probe.service.count("opportunity", filter=hidden, actor=alice)
    with pytest.raises(PermissionDenied):
        probe.service.list("opportunity", sort=["customer.notes"], actor=alice)
    with pytest.raises(PermissionDenied):
        export_records(probe.service, "opportunity", io.BytesIO(), format="csv", filter=hidden, actor=alice)


def test_a_related_record_outside_the_scope_is_no_record(probe: Probe) -> None:
    """Epsilon (the admin's) is out of alice's scope: a visible field of it
    (its name) neither matches a filter nor sorts nor reaches a cursor."""
    by_name = {"field": "customer.name", "op": "eq", "value": "Epsilon"}
    assert probe.get("alice", "opportunity/records", filter=by_name).get_json()["records"] == []
    not_epsilon = {"not": by_name}  # as if it had no customer
    assert [r["name"] for r in probe.get("alice", "opportunity/records", filter=not_epsilon).get_json()["records"]] == [
        "Opp on Epsilon"]
    parent = {"field": "subsidiary_of.name", "op": "starts_with", "value": "Eps"}
    assert probe.get("alice", "customer/records", filter=parent).get_json()["records"] == []
    alice = probe.actor("alice")
    assert probe.service.count("customer", filter=parent, actor=alice) == (0, True)
    # a cursor of a relation sort carries the related value: none for Epsilon
    probe.service.create("opportunity", {"name": "Second", "owner": probe.users["alice"]})
    page = probe.get("alice", "opportunity/records", sort="-customer.name", limit=1).get_json()
    assert page["next"] is not None and "Epsilon" not in cursor_text(page["next"])
    # the admin, who may read everything, still filters and sorts through it
    assert [r["name"] for r in probe.get("admin", "opportunity/records", filter=by_name).get_json()["records"]] == [
        "Opp on Epsilon"]
    admin_page = probe.get("admin", "opportunity/records", sort="-customer.name", limit=1).get_json()
    assert "Epsilon" in cursor_text(admin_page["next"])


def test_visible_steps_in_scope_still_work(probe: Probe) -> None:
    """Alice may filter by her own customers' visible fields through a path."""
    mine = probe.service.create("customer", {"name": "Alpha Child", "subsidiary_of": probe.ids["alpha"],
                                             "owner": probe.users["alice"]})
    by_parent = {"field": "subsidiary_of.name", "op": "eq", "value": "Alpha"}
    records = probe.get("alice", "customer/records", filter=by_parent).get_json()["records"]
    assert [r["id"] for r in records] == [mine["id"]]
    sorted_page = probe.get("alice", "customer/records", sort="-subsidiary_of.name").get_json()["records"]
    assert sorted_page[0]["name"] == "Alpha Child"


def test_search_and_direct_reads_never_show_hidden_fields(probe: Probe) -> None:
    """Probes that already held: a hidden field is absent from get, list and
    export, and a search does not look into it."""
    alpha = probe.ids["alpha"]
    got = probe.get("alice", f"customer/records/{alpha}").get_json()
    assert "revenue" not in got and "notes" not in got and got["name"] == "Alpha"
    listed = probe.get("alice", "customer/records").get_json()["records"]
    assert listed and all("revenue" not in r and "notes" not in r for r in listed)
    assert probe.get("alice", "customer/records", search="takeover").get_json()["records"] == []
    exported = probe.client.get("/api/v1/apps/crm/forms/customer/export?format=csv",
                                headers=probe.headers("alice"))
    assert exported.status_code == 200, exported.get_data(as_text=True)
    text = exported.get_data(as_text=True)
    assert "Alpha" in text and SECRET_REVENUE not in text and SECRET_NOTES not in text
    assert json.dumps(SECRET_REVENUE) not in json.dumps(listed)
    # Alpha is a subsidiary of Epsilon, which alice may not read: its id, not its name.
    assert "Epsilon" not in text and str(probe.ids["epsilon"]) in text


def test_a_lookup_shows_only_what_its_path_could(probe: Probe) -> None:
    """A payment plan's ``customer`` is a lookup through its contract: blank
    for a reader who cannot read the contract, or who may not see its
    customer field; shown to one who may (and to the admin)."""
    contract = probe.service.create("contract", {"name": "Big deal", "customer": probe.ids["alpha"],
                                                 "amount": "100", "status": "draft"})
    plan = probe.service.create("payment_plan", {"contract": contract["id"], "installment": 1,
                                                 "due_on": "2026-12-31", "amount": "100",
                                                 "owner": probe.users["alice"]})
    assert probe.service.get("payment_plan", plan["id"])["customer"] == probe.ids["alpha"]
    plans = {"actions": ["read"], "read": "own", "write": "own"}
    cases = [({"actions": ["read"], "read": "own", "write": "own"}, None),  # the admin's contract: out of scope
             ({"actions": ["read"], "read": "all", "write": "own", "fields": {"customer": "hidden"}}, None),
             ({"actions": ["read"], "read": "all", "write": "own"}, probe.ids["alpha"])]
    for index, (contracts, expected) in enumerate(cases):
        probe.org.create_role(f"plans{index}", "Plans", app="crm",
                              grants={"payment_plan": plans, "contract": contracts})
        probe.org.assign_role(f"crm:plans{index}", probe.users["bob"])
        bob = probe.actor("bob")
        probe.org.unassign_role(f"crm:plans{index}", probe.users["bob"])
        plan_bob = probe.service.create("payment_plan", {"contract": contract["id"], "installment": 2 + index,
                                                         "due_on": "2026-12-31", "amount": "1",
                                                         "owner": probe.users["bob"]})
        assert probe.service.get("payment_plan", plan_bob["id"], actor=bob)["customer"] == expected
        listed = probe.service.list("payment_plan", actor=bob)["records"]
        assert [r["customer"] for r in listed] == [expected]
        probe.service.delete("payment_plan", plan_bob["id"])
