"""Signing in: bearer tokens (bad, expired, revoked), browser sessions with
CSRF protection, login rate limits, security headers and cookie flags."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine.core.clock import FixedClock
from engine.org.service import OrgService
from engine.store.database import Database
from runtime.app import create_app
from tests.api.conftest import ADMIN_PASSWORD, USER_PASSWORD, People, app_config

RECORDS = "/api/v1/apps/crm/forms/customer/records"
NOW = dt.datetime(2025, 3, 1, 9, 0, tzinfo=dt.UTC)


def code(response: Any) -> str:
    return str(response.get_json()["error"]["code"])


def reason(response: Any) -> str | None:
    details = response.get_json()["error"]["details"]
    return details.get("reason") if isinstance(details, dict) else None


# --- tokens ----------------------------------------------------------------------------

@pytest.mark.parametrize("header", [
    None, "Bearer", "Bearer ", "Basic YWRtaW46YWRtaW4=", "Token qq_x", "Bearer qq_not-a-real-token",
    "Bearer nonsense", "Bearer " + "qq_" + "a" * 500,
])
def test_without_a_good_token_every_call_is_401(client: FlaskClient, header: str | None) -> None:
    headers = {"Authorization": header} if header is not None else {}
    for path in (RECORDS, "/api/v1/apps", "/api/v1/openapi.json", "/api/v1/me", f"{RECORDS}/1"):
        response = client.get(path, headers=headers)
        assert response.status_code == 401, (path, header)
        assert code(response) == "unauthenticated"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_token_signs_in_as_its_user(client: FlaskClient, admin: dict[str, str], alice: dict[str, str],
                                      people: People) -> None:
    assert client.get("/api/v1/me", headers=admin).get_json()["id"] == people.admin_id
    me = client.get("/api/v1/me", headers=alice).get_json()
    assert me["id"] == people.user_id and me["via"] == "token" and me["is_admin"] is False


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def timed_app(sqlite_copy: Database, clock: FixedClock) -> Flask:
    return create_app(app_config(sqlite_copy, CLOCK=clock))


def test_an_expired_token_is_refused(timed_app: Flask, sqlite_copy: Database, clock: FixedClock,
                                     people: People) -> None:
    org = OrgService(sqlite_copy, clock)
    token, _ = org.issue_token(people.user_id, "short", expires_in_days=1)
    client = timed_app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    clock.advance(dt.timedelta(hours=23, minutes=59, seconds=58))
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    clock.advance(dt.timedelta(seconds=3))  # past the expiry, well inside the cache's time
    response = client.get("/api/v1/me", headers=headers)
    assert response.status_code == 401 and reason(response) == "expired"


def test_a_token_revoked_through_the_api_stops_at_once(client: FlaskClient, alice: dict[str, str]) -> None:
    issued = client.post("/api/v1/tokens", json={"name": "ci"}, headers=alice)
    assert issued.status_code == 201
    token = issued.get_json()
    headers = {"Authorization": f"Bearer {token['token']}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    assert client.delete(f"/api/v1/tokens/{token['id']}", headers=alice).status_code == 204
    response = client.get("/api/v1/me", headers=headers)
    assert response.status_code == 401 and reason(response) == "revoked"


def test_a_token_revoked_elsewhere_stops_within_the_cache_time(
    timed_app: Flask, sqlite_copy: Database, clock: FixedClock, people: People
) -> None:
    org = OrgService(sqlite_copy, clock)
    token, info = org.issue_token(people.user_id, "elsewhere")
    client = timed_app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    org.revoke_token(info.id)  # another process, say: this app is not told
    clock.advance(dt.timedelta(seconds=6))
    response = client.get("/api/v1/me", headers=headers)
    assert response.status_code == 401 and reason(response) == "revoked"


def test_a_deactivated_user_is_refused(sqlite_copy: Database, people: People) -> None:
    client = create_app(app_config(sqlite_copy, AUTH_CACHE_SECONDS=0)).test_client()
    headers = {"Authorization": f"Bearer {people.user_token}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    OrgService(sqlite_copy).deactivate_user(people.user_id)
    response = client.get("/api/v1/me", headers=headers)
    assert response.status_code == 401 and reason(response) == "deactivated"


def test_nobody_revokes_another_users_token(client: FlaskClient, alice: dict[str, str], admin: dict[str, str]) -> None:
    mine = client.post("/api/v1/tokens", json={"name": "admin's"}, headers=admin).get_json()
    assert client.delete(f"/api/v1/tokens/{mine['id']}", headers=alice).status_code == 404
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {mine['token']}"}).status_code == 200
    listed = client.get("/api/v1/tokens", headers=alice).get_json()["tokens"]
    assert mine["id"] not in [t["id"] for t in listed]
    assert all("token" not in t for t in listed)


# --- sessions and CSRF -----------------------------------------------------------------

def sign_in(client: FlaskClient, login: str = "admin", password: str = ADMIN_PASSWORD) -> str:
    response = client.post("/auth/login", json={"login": login, "password": password})
    assert response.status_code == 200, response.get_data(as_text=True)
    return str(response.get_json()["csrf_token"])


def test_session_cookie_is_signed_httponly_and_lax(client: FlaskClient) -> None:
    response = client.post("/auth/login", json={"login": "admin", "password": ADMIN_PASSWORD})
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("qiqiao_session=") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie
    assert ADMIN_PASSWORD not in cookie


def test_secure_mode_sets_secure_cookies_and_hsts(sqlite_copy: Database) -> None:
    client = create_app(app_config(sqlite_copy, SECURE=True)).test_client()
    response = client.post("/auth/login", json={"login": "admin", "password": ADMIN_PASSWORD},
                           base_url="https://localhost")
    assert "Secure" in response.headers["Set-Cookie"]
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_a_session_reads_without_csrf_but_changes_only_with_it(client: FlaskClient) -> None:
    token = sign_in(client)
    assert client.get(RECORDS).status_code == 200
    assert client.get("/api/v1/me").get_json()["via"] == "session"
    refused = client.post(RECORDS, json={"name": "Acme"})
    assert refused.status_code == 403 and code(refused) == "csrf_failed"
    wrong = client.post(RECORDS, json={"name": "Acme"}, headers={"X-CSRF-Token": "not-it"})
    assert wrong.status_code == 403
    created = client.post(RECORDS, json={"name": "Acme"}, headers={"X-CSRF-Token": token})
    assert created.status_code == 201
    assert client.get("/auth/csrf").get_json()["csrf_token"] == token


def test_a_form_post_may_carry_the_csrf_token_as_a_field(client: FlaskClient) -> None:
    token = sign_in(client)
    refused = client.post("/auth/logout", data={})
    assert refused.status_code == 403
    signed_out = client.post("/auth/logout", data={"csrf_token": token})
    assert signed_out.status_code == 303 and signed_out.headers["Location"] == "/auth/login"
    assert client.get(RECORDS).status_code == 401


def test_a_session_change_from_another_site_is_refused(client: FlaskClient) -> None:
    token = sign_in(client)
    response = client.post(RECORDS, json={"name": "Acme"},
                           headers={"X-CSRF-Token": token, "Origin": "https://evil.example"})
    assert response.status_code == 403 and code(response) == "csrf_failed"
    same = client.post(RECORDS, json={"name": "Acme"}, headers={"X-CSRF-Token": token, "Origin": "http://localhost"})
    assert same.status_code == 201


def test_bearer_requests_need_no_csrf(client: FlaskClient, admin: dict[str, str]) -> None:
    assert client.post(RECORDS, json={"name": "Acme"}, headers=admin).status_code == 201


def test_logout_ends_the_session(client: FlaskClient) -> None:
    token = sign_in(client)
    assert client.post("/auth/logout", headers={"X-CSRF-Token": token}).status_code == 204
    assert client.get(RECORDS).status_code == 401


def test_a_tampered_session_cookie_is_ignored(client: FlaskClient, people: People) -> None:
    client.set_cookie("qiqiao_session", f'{{"uid": {people.admin_id}}}', domain="localhost")
    assert client.get(RECORDS).status_code == 401


def test_wrong_password_and_missing_fields(client: FlaskClient) -> None:
    wrong = client.post("/auth/login", json={"login": "admin", "password": "nope-nope"})
    assert wrong.status_code == 401 and code(wrong) == "unauthenticated"
    missing = client.post("/auth/login", json={"login": "admin"})
    assert missing.status_code == 400 and "password" in missing.get_json()["error"]["details"]
    form = client.post("/auth/login", data={"login": "alice", "password": USER_PASSWORD},
                       headers={"Origin": "http://localhost"})
    assert form.status_code == 303 and form.headers["Location"] == "/"  # a page form goes on to a page


# --- rate limits -------------------------------------------------------------------------

def test_failed_logins_are_limited_per_login_and_per_address(sqlite_copy: Database) -> None:
    app = create_app(app_config(sqlite_copy, LOGIN_RATE="3/minute"))
    client = app.test_client()
    for _ in range(3):
        assert client.post("/auth/login", json={"login": "alice", "password": "wrong-one"}).status_code == 401
    blocked = client.post("/auth/login", json={"login": "alice", "password": USER_PASSWORD})
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) <= 60
    # Another address may still sign in as someone else, and this one is blocked for all logins.
    other = client.post("/auth/login", json={"login": "admin", "password": ADMIN_PASSWORD},
                        environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert other.status_code == 200
    same_address = client.post("/auth/login", json={"login": "admin", "password": ADMIN_PASSWORD})
    assert same_address.status_code == 429


def test_the_window_slides(sqlite_copy: Database) -> None:
    app = create_app(app_config(sqlite_copy, LOGIN_RATE="2/minute"))
    moment = [1000.0]
    app.extensions["qiqiao"].login_limiter.now = lambda: moment[0]
    client = app.test_client()
    for _ in range(2):
        client.post("/auth/login", json={"login": "alice", "password": "wrong-one"})
    assert client.post("/auth/login", json={"login": "alice", "password": USER_PASSWORD}).status_code == 429
    moment[0] += 61
    assert client.post("/auth/login", json={"login": "alice", "password": USER_PASSWORD}).status_code == 200


# --- headers ------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/api/v1/apps", "/auth/csrf", "/nowhere", RECORDS])
def test_security_headers_on_every_response(client: FlaskClient, admin: dict[str, str], path: str) -> None:
    response = client.get(path, headers=admin)
    headers = response.headers
    assert headers["Content-Security-Policy"].startswith("default-src 'self'")
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in headers  # not in secure mode
    assert len(headers["X-Request-ID"]) >= 8
    if path.startswith(("/api", "/auth")):
        assert headers["Cache-Control"] == "no-store"
