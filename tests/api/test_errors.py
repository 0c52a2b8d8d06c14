"""Every error has one shape, ``{"error": {"code", "message", "details"}}``,
the right status, and a message in the request's language."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from runtime.app import create_app
from tests.api.conftest import app_config

RECORDS = "/api/v1/apps/crm/forms/customer/records"


def error_of(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return dict(body["error"])


def test_validation_error_lists_every_field(client: FlaskClient, admin: dict[str, str]) -> None:
    response = client.post(RECORDS, json={"industry": "nonsense", "revenue": "abc"},
                           headers={**admin, "Accept-Language": "en"})
    error = error_of(response, 400, "validation_error")
    assert set(error["details"]) >= {"name", "industry", "revenue"}
    assert all(isinstance(m, list) and m for m in error["details"].values())


def test_messages_follow_accept_language(client: FlaskClient, admin: dict[str, str]) -> None:
    english = error_of(client.post(RECORDS, json={}, headers={**admin, "Accept-Language": "en-US,en;q=0.9"}),
                       400, "validation_error")
    chinese = error_of(client.post(RECORDS, json={}, headers={**admin, "Accept-Language": "zh-CN"}),
                       400, "validation_error")
    default = error_of(client.post(RECORDS, json={}, headers=admin), 400, "validation_error")
    preferred = error_of(client.post(RECORDS, json={}, headers={**admin, "Accept-Language": "fr, en;q=0.5"}),
                         400, "validation_error")
    assert "problem" in english["message"]
    assert "处" in chinese["message"] and chinese["message"] == default["message"]
    assert preferred["message"] == english["message"]


def test_bad_filter_is_a_400_saying_where(client: FlaskClient, admin: dict[str, str]) -> None:
    filter_text = '{"and": [{"field": "name", "op": "eq", "value": "x"}, {"field": "industy", "op": "eq", "value": 1}]}'
    error = error_of(client.get(RECORDS, query_string={"filter": filter_text}, headers={**admin, "Accept-Language": "en"}),
                     400, "invalid_query")
    assert any("industry" in m for messages in error["details"].values() for m in messages)
    error = error_of(client.get(RECORDS, query_string={"filter": "{not json"}, headers=admin), 400, "invalid_query")
    assert "filter" in error["details"]
    error_of(client.get(RECORDS, query_string={"limit": "0"}, headers=admin), 400, "invalid_query")
    error_of(client.get(RECORDS, query_string={"limt": "5"}, headers=admin), 400, "invalid_query")
    error_of(client.get(RECORDS, query_string={"after": "garbage"}, headers=admin), 400, "invalid_query")


def test_body_that_is_not_json_or_not_an_object(client: FlaskClient, admin: dict[str, str]) -> None:
    error_of(client.post(RECORDS, data="{broken", content_type="application/json", headers=admin), 400, "invalid_json")
    error_of(client.post(RECORDS, data="", content_type="application/json", headers=admin), 400, "invalid_json")
    error_of(client.post(RECORDS, data="NaN", content_type="application/json", headers=admin), 400, "invalid_json")
    error = error_of(client.post(RECORDS, json=[{"name": "x"}], headers=admin), 422, "unprocessable")
    assert error["details"] == {"type": "list"}
    error_of(client.post(RECORDS, data="name=x", content_type="application/x-www-form-urlencoded", headers=admin),
             415, "unsupported_media_type")
    error_of(client.post(f"{RECORDS}/bulk", json={"records": {"name": "x"}}, headers=admin), 422, "unprocessable")


def test_unauthenticated_is_401_with_a_challenge(client: FlaskClient) -> None:
    response = client.get(RECORDS)
    error_of(response, 401, "unauthenticated")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_forbidden_is_403(client: FlaskClient, alice: dict[str, str]) -> None:
    # Alice holds no role in the CRM: she may not create customers.
    error_of(client.post(RECORDS, json={"name": "Acme"}, headers=alice), 403, "permission_denied")
    error_of(client.post("/api/v1/users", json={"login": "bob", "name": "Bob"}, headers=alice),
             403, "permission_denied")


def test_not_found_is_404(client: FlaskClient, admin: dict[str, str]) -> None:
    error_of(client.get("/api/v1/apps/nope/forms/customer/records", headers=admin), 404, "not_found")
    error = error_of(client.get("/api/v1/apps/crm/forms/custmer/records", headers={**admin, "Accept-Language": "en"}),
                     404, "not_found")
    assert "did you mean customer" in error["message"]
    error_of(client.get(f"{RECORDS}/999999", headers=admin), 404, "not_found")
    error_of(client.get(f"{RECORDS}/99999999999999999999", headers=admin), 404, "not_found")
    error_of(client.get("/api/v1/nothing-here", headers=admin), 404, "not_found")


def test_method_not_allowed_is_405(client: FlaskClient, admin: dict[str, str]) -> None:
    response = client.put(RECORDS, json={}, headers=admin)
    error = error_of(response, 405, "method_not_allowed")
    assert "GET" in error["details"]["allowed"] and "POST" in response.headers["Allow"]


def test_stale_version_is_409(client: FlaskClient, admin: dict[str, str]) -> None:
    created = client.post(RECORDS, json={"name": "Acme"}, headers=admin).get_json()
    assert client.patch(f"{RECORDS}/{created['id']}", json={"version": 1, "level": "a"}, headers=admin).status_code == 200
    error = error_of(client.patch(f"{RECORDS}/{created['id']}", json={"version": 1, "level": "b"}, headers=admin),
                     409, "conflict")
    assert error["details"]["version"] == 2 and error["details"]["your_version"] == 1


def test_too_large_is_413(sqlite_copy: Any, admin: dict[str, str]) -> None:
    small = create_app(app_config(sqlite_copy, MAX_CONTENT_LENGTH=1000)).test_client()
    error = error_of(small.post(RECORDS, json={"name": "x" * 2000}, headers=admin), 413, "payload_too_large")
    assert error["details"] == {"max_bytes": 1000}


def test_rate_limited_is_429_with_retry_after(client: FlaskClient) -> None:
    for _ in range(5):
        error_of(client.post("/auth/login", json={"login": "admin", "password": "wrong-password"}), 401, "unauthenticated")
    response = client.post("/auth/login", json={"login": "admin", "password": "wrong-password"})
    error = error_of(response, 429, "rate_limited")
    assert int(response.headers["Retry-After"]) >= 1 and error["details"]["retry_after"] >= 1


@pytest.fixture
def fragile_app(app: Flask) -> Flask:
    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("secret internals: password=hunter2")

    return app


def test_a_bug_is_500_without_a_traceback(fragile_app: Flask, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="qiqiao.runtime"):
        response = fragile_app.test_client().get("/boom", headers={"Accept-Language": "en"})
    error = error_of(response, 500, "internal_error")
    text = response.get_data(as_text=True)
    assert "hunter2" not in text and "Traceback" not in text and "RuntimeError" not in text
    request_id = error["details"]["request_id"]
    assert request_id and request_id in error["message"] and response.headers["X-Request-ID"] == request_id
    assert any(request_id in record.getMessage() for record in caplog.records)
