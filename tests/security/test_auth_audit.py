"""The audit log, read back: a record's history for whoever may read the
record (without the fields hidden from them), the whole log for admins only
— over the API on both databases, and from ``qiqiao audit``."""

from __future__ import annotations

import json
from pathlib import Path

from engine.fields import FIELD_TYPES
from engine.org.service import OrgService
from engine.packages import installed_app
from engine.records import RecordService
from engine.store.database import Database
from engine.store.migrate import upgrade_system_tables
from tests.api.conftest import populate
from tests.commands import run
from tests.security.auth_world import World, auth_world

__all__ = ["auth_world"]

CUSTOMERS = "/api/v1/apps/crm/forms/customer/records"


def _customer_with_history(world: World) -> int:
    admin = world.auth()
    created = world.client.post(CUSTOMERS, json={"name": "Acme", "notes": "secret plan"}, headers=admin).get_json()
    for version, changes in ((1, {"notes": "even more secret"}), (2, {"name": "Acme Ltd"})):
        response = world.client.patch(f"{CUSTOMERS}/{created['id']}", json={"version": version, **changes},
                                      headers=admin)
        assert response.status_code == 200, response.get_json()
    return int(created["id"])


def _limit_alice(world: World, read: str = "all") -> None:
    org = OrgService(world.database)
    org.create_role("rep", "Sales rep", app="crm", grants={"customer": {
        "actions": ["read"], "read": read, "fields": {"notes": "hidden", "revenue": "hidden"}}})
    org.assign_role("crm:rep", world.people.user_id)
    world.app.extensions["qiqiao"].identities.forget_user()


def test_a_record_history_for_its_readers(auth_world: World) -> None:
    record_id = _customer_with_history(auth_world)
    full = auth_world.client.get(f"{CUSTOMERS}/{record_id}/history", headers=auth_world.auth())
    assert full.status_code == 200
    entries = full.get_json()["entries"]
    assert [e["action"] for e in entries] == ["update", "update", "create"]
    assert entries[0]["changes"]["name"] == ["Acme", "Acme Ltd"]
    assert entries[1]["changes"]["notes"] == ["secret plan", "even more secret"]
    assert entries[0]["user_id"] == auth_world.people.admin_id and "ip" in entries[0]

    alice = auth_world.auth(auth_world.people.user_token)
    refused = auth_world.client.get(f"{CUSTOMERS}/{record_id}/history", headers=alice)
    assert refused.status_code in (403, 404)  # no role that reads customers
    _limit_alice(auth_world)
    seen = auth_world.client.get(f"{CUSTOMERS}/{record_id}/history", headers=alice).get_json()["entries"]
    assert len(seen) == 3
    assert "secret" not in json.dumps(seen) and all("notes" not in (e["changes"] or {}) for e in seen)
    assert seen[0]["changes"]["name"] == ["Acme", "Acme Ltd"]
    assert "ip" not in seen[0] and "request_id" not in seen[0]


def test_history_outside_the_scope_is_not_found(auth_world: World) -> None:
    record_id = _customer_with_history(auth_world)
    _limit_alice(auth_world, read="own")
    alice = auth_world.auth(auth_world.people.user_token)
    theirs = auth_world.client.get(f"{CUSTOMERS}/{record_id}/history", headers=alice)
    missing = auth_world.client.get(f"{CUSTOMERS}/99999/history", headers=alice)
    assert theirs.status_code == missing.status_code == 404


def test_the_admin_listing_filters_and_pages(auth_world: World) -> None:
    record_id = _customer_with_history(auth_world)
    admin = auth_world.auth()
    page = auth_world.client.get("/api/v1/audit", headers=admin, query_string={
        "app": "crm", "form": "customer", "record_id": record_id, "limit": 2}).get_json()
    assert [e["action"] for e in page["entries"]] == ["update", "update"] and page["next"]
    rest = auth_world.client.get("/api/v1/audit", headers=admin, query_string={
        "app": "crm", "form": "customer", "record_id": record_id, "limit": 2, "before": page["next"]}).get_json()
    assert [e["action"] for e in rest["entries"]] == ["create"] and rest["next"] is None
    by_user = auth_world.client.get("/api/v1/audit", headers=admin, query_string={
        "user_id": auth_world.people.admin_id, "action": "create", "app": "crm"}).get_json()["entries"]
    assert {e["record_id"] for e in by_user} == {record_id}
    future = auth_world.client.get("/api/v1/audit", headers=admin,
                                   query_string={"since": "2999-01-01T00:00:00Z"}).get_json()
    assert future["entries"] == []
    for bad in ({"since": "yesterday"}, {"since": "2026-01-01T00:00:00"}, {"limit": "0"},
                {"record_id": "x"}, {"colour": "red"}, {"limit": "9" * 50}):
        response = auth_world.client.get("/api/v1/audit", headers=admin, query_string=bad)
        assert response.status_code == 400 and next(iter(bad)) in response.get_json()["error"]["details"]
    alice = auth_world.auth(auth_world.people.user_token)
    assert auth_world.client.get("/api/v1/audit", headers=alice).status_code == 403


def test_the_audit_command(tmp_path: Path) -> None:
    path = tmp_path / "qiqiao.sqlite3"
    database = Database(f"sqlite:///{path}")
    upgrade_system_tables(database)
    people = populate(database, passwords=False)
    service = RecordService(database, installed_app(database, "crm"), field_types=FIELD_TYPES)
    record = service.create("customer", {"name": "Acme", "notes": "secret plan"})
    service.update("customer", record["id"], {"notes": "still secret"}, version=1)
    org = OrgService(database)
    org.create_role("rep", "Sales rep", app="crm", grants={"customer": {
        "actions": ["read"], "read": "all", "fields": {"notes": "hidden"}}})
    org.assign_role("crm:rep", people.user_id)
    database.dispose()

    listed = run("audit", "list", "--app", "crm", "--form", "customer", "--json", database=path)
    entries = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [e["action"] for e in entries] == ["update", "create"]
    assert entries[0]["changes"]["notes"] == ["secret plan", "still secret"]
    history = run("audit", "history", "crm", "customer", str(record["id"]), database=path)
    assert "still secret" in history.stdout and len(history.stdout.splitlines()) == 2
    as_alice = run("audit", "history", "crm", "customer", str(record["id"]), "--as", "alice", "--json",
                   database=path)
    assert "secret" not in as_alice.stdout and len(as_alice.stdout.splitlines()) == 2
    nobody = run("audit", "history", "crm", "customer", "999", "--locale", "en", database=path, check=False)
    assert nobody.returncode == 1 and "Traceback" not in nobody.stderr
    bad_moment = run("audit", "list", "--since", "2026-01-01", database=path, check=False)
    assert bad_moment.returncode != 0 and "time zone" in bad_moment.stderr
