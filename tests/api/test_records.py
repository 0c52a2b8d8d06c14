"""The record endpoints, on SQLite and PostgreSQL: list (filter, sort, pages,
fields, search, views, counts), create, get, patch (409 on a stale version),
delete, bulk create and update, and data scopes seen from outside."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from engine.org.service import OrgService
from tests.api.conftest import World

CUSTOMERS = "/api/v1/apps/crm/forms/customer/records"
OPPORTUNITIES = "/api/v1/apps/crm/forms/opportunity/records"


def create(world: World, path: str, values: dict[str, Any], token: str | None = None) -> dict[str, Any]:
    response = world.client.post(path, json=values, headers=world.auth(token))
    assert response.status_code == 201, response.get_data(as_text=True)
    return dict(response.get_json())


def seed_customers(world: World) -> list[dict[str, Any]]:
    rows = [{"name": f"Company {i:02d}", "industry": ["retail", "finance", "software"][i % 3],
             "revenue": f"{i * 10}.5", "level": "a" if i < 4 else "b"} for i in range(12)]
    response = world.client.post(f"{CUSTOMERS}/bulk", json={"records": rows}, headers=world.auth())
    assert response.status_code == 201, response.get_data(as_text=True)
    ids = response.get_json()["ids"]
    assert len(ids) == 12
    return [{**row, "id": record_id} for row, record_id in zip(rows, ids, strict=True)]


def listing(world: World, path: str = CUSTOMERS, **params: Any) -> dict[str, Any]:
    query = {k: (json.dumps(v) if k == "filter" else v) for k, v in params.items()}
    response = world.client.get(path, query_string=query, headers=world.auth())
    assert response.status_code == 200, response.get_data(as_text=True)
    return dict(response.get_json())


def test_create_get_patch_delete(world: World) -> None:
    created = create(world, CUSTOMERS, {"name": "Acme", "industry": "零售", "revenue": "1,100.04",
                                        "address": {"province": "广东省", "city": "深圳市"}})
    assert created["version"] == 1 and created["industry"] == "retail"
    assert created["revenue"] == "1100.04"  # decimals travel as strings
    assert created["created_at"].endswith("Z") and created["owner"] == world.people.admin_id
    path = f"{CUSTOMERS}/{created['id']}"
    fetched = world.client.get(path, headers=world.auth())
    assert fetched.status_code == 200 and fetched.headers["ETag"] == '"1"'
    # (Rollups of a new record read back with their scale: "0.00" for the "0" create returned.)
    assert {k: v for k, v in fetched.get_json().items() if not k.endswith("_amount")} == \
        {k: v for k, v in created.items() if not k.endswith("_amount")}

    changed = world.client.patch(path, json={"version": 1, "level": "a"}, headers=world.auth())
    assert changed.status_code == 200 and changed.get_json()["version"] == 2
    assert changed.get_json()["level"] == "a" and changed.headers["ETag"] == '"2"'
    by_header = world.client.patch(path, json={"level": "b"}, headers=world.auth(**{"If-Match": '"2"'}))
    assert by_header.status_code == 200 and by_header.get_json()["version"] == 3

    stale = world.client.patch(path, json={"version": 2, "level": "c"}, headers=world.auth())
    assert stale.status_code == 409 and stale.get_json()["error"]["details"]["version"] == 3
    no_version = world.client.patch(path, json={"level": "c"}, headers=world.auth())
    assert no_version.status_code == 400 and "version" in no_version.get_json()["error"]["details"]
    assert world.client.get(path, headers=world.auth()).get_json()["level"] == "b"

    assert world.client.delete(path, headers=world.auth(**{"If-Match": '"1"'})).status_code == 409
    assert world.client.delete(path, headers=world.auth(**{"If-Match": '"3"'})).status_code == 204
    assert world.client.get(path, headers=world.auth()).status_code == 404
    assert world.client.delete(path, headers=world.auth()).status_code == 404


def test_exact_decimals_in_and_out(world: World) -> None:
    created = create(world, CUSTOMERS, {"name": "Exact", "revenue": 0.1})
    assert created["revenue"] == "0.10"
    opportunity = create(world, OPPORTUNITIES, {"customer": created["id"], "stage": "won", "amount": "12345678.91",
                                                "close_value": "12345678.91", "close_date": "2024-03-01",
                                                "engage_date": "2024-01-01"})
    assert Decimal(opportunity["amount"]) == Decimal("12345678.91")


def test_filter_sort_and_pages(world: World) -> None:
    seeded = seed_customers(world)
    page = listing(world, filter={"field": "industry", "op": "eq", "value": "retail"}, sort="-revenue", limit=2)
    names = [r["name"] for r in page["records"]]
    assert names == ["Company 09", "Company 06"] and page["next"]
    rest = listing(world, filter={"field": "industry", "op": "eq", "value": "retail"}, sort="-revenue", limit=2,
                   after=page["next"])
    assert [r["name"] for r in rest["records"]] == ["Company 03", "Company 00"] and rest["next"] is None

    grouped = listing(world, filter={"and": [{"field": "level", "op": "eq", "value": "a"},
                                             {"or": [{"field": "industry", "op": "eq", "value": "finance"},
                                                     {"field": "revenue", "op": "gte", "value": 30}]}]},
                      sort="name")
    assert [r["name"] for r in grouped["records"]] == ["Company 01", "Company 03"]

    everything: list[str] = []
    after = None
    while True:
        params: dict[str, Any] = {"sort": "industry,-name", "limit": 5}
        if after:
            params["after"] = after
        page = listing(world, **params)
        everything += [r["name"] for r in page["records"]]
        after = page["next"]
        if not after:
            break
    assert sorted(everything) == sorted(r["name"] for r in seeded) and len(everything) == 12


def test_fields_search_count_and_views(world: World) -> None:
    seed_customers(world)
    narrow = listing(world, fields="name,level", limit=1)["records"][0]
    assert set(narrow) <= {"id", "name", "level", "owner", "created_by", "created_at", "updated_by",
                           "updated_at", "version", "flow_status"}
    assert "revenue" not in narrow
    found = listing(world, search="company 1", sort="name")
    assert [r["name"] for r in found["records"]] == ["Company 01", "Company 10", "Company 11"]
    counted = listing(world, filter={"field": "level", "op": "eq", "value": "b"}, limit=1, count="true")
    assert counted["count"] == 8 and counted["count_exact"] is True and len(counted["records"]) == 1
    key_accounts = listing(world, view="key_accounts")
    assert sorted(r["name"] for r in key_accounts["records"]) == [f"Company 0{i}" for i in range(4)]
    assert "level" not in key_accounts["records"][0]  # the view's columns only
    refused = world.client.get(CUSTOMERS, query_string={"view": "nope"}, headers=world.auth())
    assert refused.status_code == 400


def test_bulk_create_is_all_or_nothing(world: World) -> None:
    response = world.client.post(f"{CUSTOMERS}/bulk", headers=world.auth(), json={"records": [
        {"name": "Fine"}, {"name": ""}, {"name": "Also fine", "revenue": "lots"}]})
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "rows_invalid" and set(error["details"]["rows"]) == {"1", "2"}
    assert "revenue" in error["details"]["rows"]["2"]
    assert listing(world)["records"] == []


def test_bulk_update_in_one_transaction(world: World) -> None:
    seeded = seed_customers(world)[:3]
    first = [{"id": r["id"], "version": 1, "level": "c"} for r in seeded]
    response = world.client.patch(f"{CUSTOMERS}/bulk", json={"records": first}, headers=world.auth())
    assert response.status_code == 200, response.get_data(as_text=True)
    assert [r["version"] for r in response.get_json()["records"]] == [2, 2, 2]

    mixed = [{"id": seeded[0]["id"], "version": 2, "level": "a"},
             {"id": seeded[1]["id"], "version": 1, "level": "a"},  # stale
             {"id": seeded[2]["id"], "version": 2, "revenue": "not a number"},
             {"level": "a"}]
    refused = world.client.patch(f"{CUSTOMERS}/bulk", json={"records": mixed}, headers=world.auth())
    assert refused.status_code == 400
    rows = refused.get_json()["error"]["details"]["rows"]
    assert set(rows) == {"1", "2", "3"} and "_record" in rows["1"] and "revenue" in rows["2"]
    assert {"id", "version"} <= set(rows["3"])
    # Nothing was written, not even the good first row.
    assert world.client.get(f"{CUSTOMERS}/{seeded[0]['id']}", headers=world.auth()).get_json()["level"] == "c"

    stale_only = world.client.patch(f"{CUSTOMERS}/bulk", headers=world.auth(), json={"records": [
        {"id": seeded[0]["id"], "version": 1, "level": "a"}]})
    assert stale_only.status_code == 409 and stale_only.get_json()["error"]["code"] == "conflict"


def test_records_outside_the_scope_are_not_found(world: World) -> None:
    """A user whose role reads only their own customers cannot tell another's
    record from a missing one, by get, patch, delete or filter."""
    org = OrgService(world.database)
    org.create_role("rep", "Sales rep", app="crm", grants={
        "customer": {"actions": ["create", "read", "update", "delete"], "read": "own", "write": "own"}})
    org.assign_role("crm:rep", world.people.user_id)
    mine = create(world, CUSTOMERS, {"name": "Mine"}, token=world.people.user_token)
    theirs = create(world, CUSTOMERS, {"name": "Theirs"})
    user = world.auth(world.people.user_token)
    listed = world.client.get(CUSTOMERS, headers=user).get_json()["records"]
    assert [r["name"] for r in listed] == ["Mine"]
    for method in ("get", "patch", "delete"):
        response = getattr(world.client, method)(f"{CUSTOMERS}/{theirs['id']}", headers=user,
                                                 json={"version": 1, "level": "a"} if method == "patch" else None)
        missing = getattr(world.client, method)(f"{CUSTOMERS}/999999", headers=user,
                                                json={"version": 1, "level": "a"} if method == "patch" else None)
        assert response.status_code == missing.status_code == 404
        assert response.get_json()["error"]["code"] == missing.get_json()["error"]["code"] == "not_found"
    probe = world.client.get(CUSTOMERS, headers=user, query_string={
        "filter": json.dumps({"field": "id", "op": "eq", "value": theirs["id"]})})
    assert probe.get_json()["records"] == []
    assert world.client.get(f"{CUSTOMERS}/{mine['id']}", headers=user).status_code == 200
    forbidden = world.client.get(OPPORTUNITIES, headers=user)
    assert forbidden.status_code == 403


def test_writes_are_audited_with_who_and_from_where(world: World) -> None:
    import sqlalchemy as sa

    created = world.client.post(CUSTOMERS, json={"name": "Audited"},
                                headers=world.auth(**{"X-Request-ID": "req-0123456789"}),
                                environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert created.status_code == 201 and created.headers["X-Request-ID"] == "req-0123456789"
    with world.database.reading() as conn:
        entry = conn.execute(sa.text(
            "SELECT user_id, action, source, ip, request_id FROM audit_log "
            "WHERE app = 'crm' AND form = 'customer' AND record_id = :id"), {"id": created.get_json()["id"]}).one()
    assert tuple(entry) == (world.people.admin_id, "create", "api", "10.1.2.3", "req-0123456789")
