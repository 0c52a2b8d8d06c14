"""Probes 8 and 9 on tokens and people: a short-lived token cannot mint a
longer one, naive expiries are refused, colleagues see each other's names
and departments but not contact details or admin flags; and the probes that
held: another user's token or account cannot be reached by its id."""

from __future__ import annotations

import datetime as dt

from engine.org.service import OrgService
from tests.security.auth_world import World, auth_world

__all__ = ["auth_world"]


def _day_token(world: World) -> str:
    plaintext, _ = OrgService(world.database).issue_token(world.people.user_id, "one day", expires_in_days=1)
    return plaintext


def test_a_token_cannot_outlive_the_token_that_made_it(auth_world: World) -> None:
    client, short = auth_world.client, _day_token(auth_world)
    headers = auth_world.auth(short, **{"Accept-Language": "en"})
    century = client.post("/api/v1/tokens", json={"name": "forever", "expires_in_days": 36_500}, headers=headers)
    assert century.status_code == 400
    assert "outlive" in century.get_json()["error"]["details"]["expires_in_days"][0]
    later = (dt.datetime.now(dt.UTC) + dt.timedelta(days=30)).isoformat()
    assert client.post("/api/v1/tokens", json={"name": "month", "expires_at": later},
                       headers=headers).status_code == 400
    unbounded = client.post("/api/v1/tokens", json={"name": "no expiry"}, headers=headers)
    assert unbounded.status_code == 201
    minted = dt.datetime.fromisoformat(unbounded.get_json()["expires_at"].replace("Z", "+00:00"))
    assert minted <= dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    hour = client.post("/api/v1/tokens", json={"name": "an hour", "expires_at": (
        dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat()}, headers=headers)
    assert hour.status_code == 201


def test_naive_expiries_are_refused(auth_world: World) -> None:
    naive = (dt.datetime.now() + dt.timedelta(days=3)).replace(microsecond=0).isoformat()
    response = auth_world.client.post("/api/v1/tokens", json={"name": "naive", "expires_at": naive},
                                      headers=auth_world.auth(**{"Accept-Language": "en"}))
    assert response.status_code == 400
    assert "time zone" in response.get_json()["error"]["details"]["expires_at"][0]


def test_colleagues_see_names_and_departments_only(auth_world: World) -> None:
    org = OrgService(auth_world.database)
    people = auth_world.people
    org.update_user(people.admin_id, email="boss@example.com", mobile="13812345678")
    org.update_user(people.user_id, email="alice@example.com")
    sales = org.create_department("Sales")
    org.add_member(people.admin_id, sales.id)
    as_alice = auth_world.auth(people.user_token)
    listed = {u["id"]: u for u in auth_world.client.get("/api/v1/users", headers=as_alice).get_json()["users"]}
    boss = listed[people.admin_id]
    assert boss == {"id": people.admin_id, "login": "admin", "name": "管理员", "active": True,
                    "department_ids": [sales.id]}
    assert listed[people.user_id]["email"] == "alice@example.com"  # her own, in full
    one = auth_world.client.get(f"/api/v1/users/{people.admin_id}", headers=as_alice).get_json()
    assert "email" not in one and "mobile" not in one and "is_admin" not in one
    as_admin = auth_world.client.get("/api/v1/users", headers=auth_world.auth()).get_json()["users"]
    everything = {u["id"]: u for u in as_admin}[people.admin_id]
    assert everything["email"] == "boss@example.com" and everything["is_admin"] is True


def test_another_users_token_is_not_found(auth_world: World) -> None:
    org = OrgService(auth_world.database)
    admin_tokens = org.list_tokens(auth_world.people.admin_id)
    as_alice = auth_world.auth(auth_world.people.user_token)
    for token in admin_tokens:
        response = auth_world.client.delete(f"/api/v1/tokens/{token.id}", headers=as_alice)
        assert response.status_code == 404
    listed = auth_world.client.get("/api/v1/tokens", headers=as_alice).get_json()["tokens"]
    assert {t["id"] for t in listed}.isdisjoint({t.id for t in admin_tokens})
    assert auth_world.client.get("/api/v1/me", headers=auth_world.auth()).status_code == 200


def test_people_cannot_make_or_promote_accounts(auth_world: World) -> None:
    as_alice = auth_world.auth(auth_world.people.user_token)
    made = auth_world.client.post("/api/v1/users", json={"login": "eve", "name": "Eve", "is_admin": True},
                                  headers=as_alice)
    assert made.status_code == 403
    assert OrgService(auth_world.database).find_user_by_login("eve") is None
    assert auth_world.client.get("/api/v1/audit", headers=as_alice).status_code == 403
