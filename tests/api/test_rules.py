"""``/api/v1/apps/{app}/rules`` and ``/runs``: the app's managers list rules,
turn them off and on, read the run log and retry; a member runs a manual rule
on a record they may update — on both databases."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine.fields import FIELD_TYPES
from engine.org.service import OrgService
from engine.packages import install_package
from engine.store.database import Database
from runtime.app import create_app
from tests.api.conftest import World, app_config, populate
from tests.rules.conftest import write_package

BIG = {"key": "flag_big", "label": {"zh": "标记大单", "en": "Flag big deals"}, "form": "deal",
       "trigger": {"type": "record_created"}, "condition": "amount >= 100000",
       "actions": [{"type": "update_record", "values": {"flag": '"big"'}}]}
CLOSE = {"key": "close", "label": "Close the deal", "form": "deal",
         "trigger": {"type": "manual", "confirm": "Close it?"},
         "actions": [{"type": "update_record", "values": {"stage": '"won"'}}]}
FRAGILE = {"key": "fragile", "label": "Fragile", "form": "deal", "trigger": {"type": "record_updated"},
           "condition": 'stage = "lost"', "actions": [{"type": "update_record", "values": {"amount": "1 / 0"}}]}


@pytest.fixture
def shop(database: Database, tmp_path: Path) -> World:
    people = populate(database, passwords=False)
    install_package(database, write_package(tmp_path / "shop", [BIG, CLOSE, FRAGILE]), FIELD_TYPES)
    OrgService(database).create_role("closer", "Closer", {"deal": {"actions": ["read", "update"], "write": "all"}},
                                      app="shop")
    return World(create_app(app_config(database, FILES=str(tmp_path / "files"), AUTH_CACHE_SECONDS=0)),
                 database, people)


def _deal(world: World, **values: Any) -> dict[str, Any]:
    response = world.client.post("/api/v1/apps/shop/forms/deal/records", json={"name": "D", **values},
                                 headers=world.auth())
    assert response.status_code == 201, response.get_json()
    # Read again: the rules ran after the create's own answer was made.
    again = world.client.get(f"/api/v1/apps/shop/forms/deal/records/{response.get_json()['id']}",
                             headers=world.auth())
    return dict(again.get_json())


def test_managers_list_rules_and_turn_one_off_and_on(shop: World) -> None:
    client, admin, alice = shop.client, shop.auth(), shop.auth(shop.people.user_token)
    _deal(shop, amount=500000)
    listed = client.get("/api/v1/apps/shop/rules", headers=admin).get_json()["rules"]
    assert [r["key"] for r in listed] == ["close", "flag_big", "fragile"]
    flag = listed[1]
    assert flag["when"] == {"zh": "新建Deal时", "en": "when a Deal is created"}
    assert flag["counts"]["done"] == 1 and flag["last_run"]["status"] == "done" and flag["enabled"] is True
    assert listed[0]["confirm"] == {"zh": "Close it?", "en": "Close it?"} and listed[0]["manual"] is True
    assert client.get("/api/v1/apps/shop/rules", headers=alice).status_code == 403
    assert client.get("/api/v1/apps/shop/rules/nope", headers=admin).status_code == 404
    assert client.get("/api/v1/apps/nope/rules", headers=admin).status_code == 404

    off = client.patch("/api/v1/apps/shop/rules/flag_big", json={"enabled": False}, headers=admin)
    assert off.status_code == 200 and off.get_json()["enabled"] is False
    assert _deal(shop, amount=500000)["flag"] is None
    assert client.patch("/api/v1/apps/shop/rules/flag_big", json={"enabled": True}, headers=admin).status_code == 200
    assert _deal(shop, amount=500000)["flag"] == "big"
    for body, status in (({"enabled": "no"}, 400), ({}, 400), ({"enabled": True, "x": 1}, 400)):
        assert client.patch("/api/v1/apps/shop/rules/flag_big", json=body, headers=admin).status_code == status
    assert client.patch("/api/v1/apps/shop/rules/flag_big", data="x", headers=admin).status_code == 415
    refused = client.patch("/api/v1/apps/shop/rules/flag_big", json={"enabled": False}, headers=alice)
    assert refused.status_code == 403 and "负责人" in refused.get_json()["error"]["message"]


def test_the_run_log_pages_filters_and_retries(shop: World) -> None:
    client, admin = shop.client, shop.auth()
    deals = [_deal(shop, amount=10) for _ in range(3)]
    for deal in deals:
        patched = client.patch(f"/api/v1/apps/shop/forms/deal/records/{deal['id']}", json={"stage": "lost"},
                               headers={**admin, "If-Match": f'"{deal["version"]}"'})
        assert patched.status_code == 200, patched.get_json()
    failed = client.get("/api/v1/apps/shop/rules/fragile/runs?status=failed", headers=admin).get_json()
    assert [r["record_id"] for r in failed["runs"]] == [d["id"] for d in reversed(deals)]
    assert "div" in failed["runs"][0]["error"].lower()
    first = client.get("/api/v1/apps/shop/runs?status=failed&limit=2", headers=admin).get_json()
    rest = client.get(f"/api/v1/apps/shop/runs?status=failed&limit=2&before={first['next']}", headers=admin)
    assert [r["id"] for r in first["runs"] + rest.get_json()["runs"]] == [r["id"] for r in failed["runs"]]
    by_record = client.get(f"/api/v1/apps/shop/runs?form=deal&record_id={deals[0]['id']}", headers=admin)
    # flag_big's skips of the three deals are one row naming them (no record of its own).
    assert {r["rule"] for r in by_record.get_json()["runs"]} == {"fragile"}
    for query in ("status=boom", "limit=0", "record_id=x", "colour=red"):
        answer = client.get(f"/api/v1/apps/shop/runs?{query}", headers=admin)
        assert answer.status_code == 400, query
    retried = client.post(f"/api/v1/apps/shop/runs/{failed['runs'][0]['id']}/retry", headers=admin)
    assert retried.status_code == 200 and retried.get_json()["retry_of"] == failed["runs"][0]["id"]
    skipped = client.get("/api/v1/apps/shop/runs?status=skipped", headers=admin).get_json()["runs"][0]
    assert client.post(f"/api/v1/apps/shop/runs/{skipped['id']}/retry", headers=admin).status_code == 409
    assert client.post("/api/v1/apps/shop/runs/99999999/retry", headers=admin).status_code == 404
    assert client.post(f"/api/v1/apps/shop/runs/{failed['runs'][0]['id']}/retry",
                       headers=shop.auth(shop.people.user_token)).status_code == 403


def test_a_manual_run_needs_the_right_to_update_the_record(shop: World) -> None:
    client, admin, alice = shop.client, shop.auth(), shop.auth(shop.people.user_token)
    deal = _deal(shop, amount=10)
    url = "/api/v1/apps/shop/rules/close/run"
    assert client.post(url, json={"record_id": deal["id"]}, headers=alice).status_code == 403  # may not read deals
    OrgService(shop.database).create_role("reader", "Reader", {"deal": {"actions": ["read"]}}, app="shop")
    OrgService(shop.database).assign_role("reader", shop.people.user_id)
    assert client.post(url, json={"record_id": deal["id"]}, headers=alice).status_code == 403
    OrgService(shop.database).assign_role("closer", shop.people.user_id)
    ran = client.post(url, json={"record_id": deal["id"]}, headers=alice)
    assert ran.status_code == 200 and ran.get_json()["status"] == "done"
    assert ran.get_json()["user_id"] == shop.people.user_id
    assert client.get(f"/api/v1/apps/shop/forms/deal/records/{deal['id']}", headers=admin).get_json()["stage"] == "won"
    for body, status in (({"record_id": "1"}, 400), ({"record_id": 0}, 400), ({}, 400),
                         ({"record_id": 99999999}, 404)):
        assert client.post(url, json=body, headers=admin).status_code == status, body
    assert client.post("/api/v1/apps/shop/rules/flag_big/run", json={"record_id": deal["id"]},
                       headers=admin).status_code == 409
