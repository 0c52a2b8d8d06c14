"""Inbound webhooks over HTTP: the token, the body mapped and coerced to the
form's fields, the rule's run, errors and the rate limit — on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from engine.fields import FIELD_TYPES
from engine.org.service import OrgService
from engine.packages import install_package
from engine.rules import runs
from engine.rules.webhooks import hook_path, hook_token
from engine.store.database import Database
from runtime.app import create_app
from tests.api.conftest import app_config
from tests.rules.conftest import write_package

SECRET = "test-secret"
LEAD = {
    "key": "lead_in", "label": "Lead in", "form": "deal",
    "trigger": {"type": "webhook", "fields": {"name": "contact.name", "amount": "deal.amount", "stage": "stage"}},
    "condition": "amount > 0",
    "actions": [{"type": "create_record", "form": "deal",
                 "values": {"name": "name", "amount": "amount", "stage": "stage"}}],
}
NOT_A_HOOK = {"key": "big", "label": "Big", "form": "deal", "trigger": {"type": "record_created"},
              "actions": [{"type": "update_record", "values": {"flag": '"big"'}}]}


@pytest.fixture
def web(database: Database, tmp_path: Path) -> tuple[Flask, dict[str, str], dict[str, str]]:
    install_package(database, write_package(tmp_path / "shop", [LEAD, NOT_A_HOOK]), FIELD_TYPES)
    org = OrgService(database)
    admin = org.create_user("admin", "Admin", is_admin=True)
    alice = org.create_user("alice", "Alice")
    app = create_app(app_config(database, FILES=str(tmp_path / "files"), HOOK_RATE="4/minute"))
    return (app, {"Authorization": f"Bearer {org.issue_token(admin.id, 't')[0]}"},
            {"Authorization": f"Bearer {org.issue_token(alice.id, 't')[0]}"})


def deals(app: Flask, headers: dict[str, str]) -> list[dict[str, Any]]:
    return app.test_client().get("/api/v1/apps/shop/forms/deal/records", headers=headers).get_json()["records"]


def test_a_hook_maps_its_body_and_runs_the_rule(web: tuple[Flask, dict[str, str], dict[str, str]],
                                                database: Database) -> None:
    app, admin, alice = web
    client = app.test_client()
    shown = client.get("/api/v1/apps/shop/rules/lead_in/hook", headers=admin)
    assert shown.status_code == 200
    path = shown.get_json()["path"]
    assert path == hook_path(SECRET, "shop", "lead_in") == f"/api/v1/hooks/shop/lead_in/{hook_token(SECRET, 'shop', 'lead_in')}"
    assert client.get("/api/v1/apps/shop/rules/lead_in/hook", headers=alice).status_code == 403
    assert client.get("/api/v1/apps/shop/rules/big/hook", headers=admin).status_code == 404

    answer = client.post(path, json={"contact": {"name": "Ada"}, "deal": {"amount": "1,200.50"}, "stage": "new"})
    assert answer.status_code == 200, answer.get_json()
    run = answer.get_json()
    assert (run["status"], run["trigger"], run["record_id"]) == ("done", "webhook", None)
    skipped = client.post(path, json={"contact": {"name": "Zero"}, "deal": {"amount": 0}})
    assert skipped.get_json()["status"] == "skipped"
    assert [(d["name"], float(d["amount"]), d["stage"]) for d in deals(app, admin)] == [("Ada", 1200.5, "new")]
    with database.reading() as conn:
        assert runs.run_payload(conn, run["id"]) is None  # only failed runs keep what a retry needs


def test_a_bad_body_is_refused_and_writes_nothing(web: tuple[Flask, dict[str, str], dict[str, str]]) -> None:
    app, admin, _ = web
    client = app.test_client()
    path = hook_path(SECRET, "shop", "lead_in")
    bad = client.post(path, json={"contact": {"name": "Ada"}, "deal": {"amount": "lots"}})
    assert bad.status_code == 400
    assert list(bad.get_json()["error"]["details"]) == ["amount"]
    assert "deal.amount" in bad.get_json()["error"]["details"]["amount"][0]
    assert client.post(path, data="[1]", content_type="application/json").status_code == 422
    assert client.post(path, data="x", content_type="text/plain").status_code == 415
    assert deals(app, admin) == []


def test_a_wrong_address_is_not_found_and_calls_are_limited(web: tuple[Flask, dict[str, str], dict[str, str]]) -> None:
    app, _, _ = web
    client = app.test_client()
    token = hook_token(SECRET, "shop", "lead_in")
    for wrong in (f"/api/v1/hooks/shop/lead_in/{token[:-1]}x", f"/api/v1/hooks/shop/big/{hook_token(SECRET, 'shop', 'big')}",
                  f"/api/v1/hooks/nope/lead_in/{token}"):
        answer = client.post(wrong, json={})
        assert answer.status_code == 404 and answer.get_json()["error"]["code"] == "not_found"
    path = hook_path(SECRET, "shop", "lead_in")
    codes = [client.post(path, json={"contact": {"name": f"n{i}"}, "deal": {"amount": 1}}).status_code
             for i in range(5)]
    assert codes == [200, 200, 200, 200, 429]


def test_a_failed_hook_run_keeps_the_body_for_a_retry(web: tuple[Flask, dict[str, str], dict[str, str]],
                                                      database: Database) -> None:
    app, _, _ = web
    path = hook_path(SECRET, "shop", "lead_in")
    # No name: the created deal misses its required name, the run fails and keeps the body.
    run = app.test_client().post(path, json={"deal": {"amount": 5}}).get_json()
    assert run["status"] == "failed" and "name" in run["error"].lower()
    with database.reading() as conn:
        kept = runs.run_payload(conn, run["id"])
    assert kept is not None and kept["data"] == {"body": {"deal": {"amount": 5}}}
    assert kept["record"]["amount"] == "5" or float(kept["record"]["amount"]) == 5
