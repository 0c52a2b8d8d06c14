"""Definitions for clients (apps, forms, fields) and the organization
endpoints (me, users, departments, tokens)."""

from __future__ import annotations

from flask.testing import FlaskClient

from engine.org.service import OrgService
from engine.store.database import Database
from tests.api.conftest import People


def test_apps_and_forms(client: FlaskClient, admin: dict[str, str]) -> None:
    apps = client.get("/api/v1/apps", headers=admin).get_json()["apps"]
    assert [a["key"] for a in apps] == ["crm"] and apps[0]["label"] == {"zh": "客户关系管理", "en": "CRM"}
    forms = client.get("/api/v1/apps/crm/forms", headers=admin).get_json()["forms"]
    assert len(forms) == 15 and all("create" in f["actions"] for f in forms)
    customer = client.get("/api/v1/apps/crm/forms/customer", headers=admin).get_json()
    fields = {f["key"]: f for f in customer["fields"]}
    assert fields["name"]["required"] is True and fields["name"]["input"] is True
    assert fields["industry"]["settings"]["options"][0] == {
        "key": "technology", "label": {"zh": "科技", "en": "Technology"}}
    assert fields["opportunity_count"]["computed"] is True and fields["opportunity_count"]["input"] is False
    assert fields["basics"]["layout"] is True
    assert "contains" in fields["name"]["operators"]
    assert fields["subsidiary_of"]["settings"]["target"] == "customer"
    assert [v["key"] for v in customer["list_views"]][:2] == ["all", "mine"]
    quote = client.get("/api/v1/apps/crm/forms/quote", headers=admin).get_json()
    items = next(f for f in quote["fields"] if f["key"] == "items")
    assert {"product", "quantity"} <= {c["key"] for c in items["fields"]}


def test_forms_follow_the_users_rights(client: FlaskClient, alice: dict[str, str], sqlite_copy: Database,
                                       people: People) -> None:
    assert client.get("/api/v1/apps/crm/forms", headers=alice).get_json()["forms"] == []
    org = OrgService(sqlite_copy)
    org.create_role("viewer", "Viewer", app="crm", grants={
        "customer": {"actions": ["read"], "read": "all", "fields": {"revenue": "hidden"}}})
    org.assign_role("crm:viewer", people.user_id)
    from runtime.app import create_app
    from tests.api.conftest import app_config

    fresh = create_app(app_config(sqlite_copy)).test_client()
    forms = fresh.get("/api/v1/apps/crm/forms", headers=alice).get_json()["forms"]
    assert [f["key"] for f in forms] == ["customer"] and forms[0]["actions"] == ["read"]
    assert "revenue" not in {f["key"] for f in forms[0]["fields"]}


def test_unknown_app_and_form(client: FlaskClient, admin: dict[str, str]) -> None:
    assert client.get("/api/v1/apps/nope/forms", headers=admin).status_code == 404
    assert client.get("/api/v1/apps/crm/forms/nope", headers=admin).status_code == 404


def test_users_and_departments(client: FlaskClient, admin: dict[str, str], alice: dict[str, str],
                               people: People) -> None:
    users = client.get("/api/v1/users", headers=alice).get_json()["users"]
    assert {u["login"] for u in users} == {"admin", "alice"}
    assert all("password" not in str(u) for u in users)
    assert client.get(f"/api/v1/users/{people.user_id}", headers=alice).get_json()["name"] == "Alice"
    assert client.get("/api/v1/users/9999", headers=alice).status_code == 404

    created = client.post("/api/v1/users", json={"login": "Bob", "name": "Bob", "email": "bob@example.com"},
                          headers=admin)
    assert created.status_code == 201 and created.get_json()["login"] == "bob"
    taken = client.post("/api/v1/users", json={"login": "bob", "name": "Bob"}, headers=admin)
    assert taken.status_code == 400 and "login" in taken.get_json()["error"]["details"]
    refused = client.post("/api/v1/users", json={"login": "eve", "name": "Eve", "is_admin": True}, headers=alice)
    assert refused.status_code == 403
    unknown = client.post("/api/v1/users", json={"login": "x", "name": "X", "role": "boss"}, headers=admin)
    assert unknown.status_code == 400
    assert client.get("/api/v1/users", headers=admin, query_string={"active": "true"}).status_code == 200
    assert client.get("/api/v1/departments", headers=alice).get_json() == {"departments": []}


def test_tokens_are_shown_once(client: FlaskClient, alice: dict[str, str]) -> None:
    issued = client.post("/api/v1/tokens", json={"name": "erp", "expires_in_days": 30}, headers=alice)
    assert issued.status_code == 201
    token = issued.get_json()
    assert token["token"].startswith("qq_") and token["expires_at"] and token["active"] is True
    listed = client.get("/api/v1/tokens", headers=alice).get_json()["tokens"]
    assert token["id"] in [t["id"] for t in listed]
    assert all("token" not in t for t in listed) and token["token"] not in str(listed)
    for bad in ({"name": ""}, {"name": "x", "expires_in_days": 0}, {"name": "x", "expires_at": "soon"},
                {"name": "x", "expires_at": "2001-01-01T00:00:00Z"}, {"name": "x", "scope": "all"}):
        assert client.post("/api/v1/tokens", json=bad, headers=alice).status_code == 400, bad
