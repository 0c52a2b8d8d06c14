"""Probe 6 (part): a lone surrogate (``"x\\ud800"``: no character, no UTF-8)
in a body, a key, a filter or a file name answers a 400 that names where,
writes nothing, and the error itself is valid JSON — on both databases."""

from __future__ import annotations

import json

import pytest

from tests.security.auth_world import World, auth_world

__all__ = ["auth_world"]

CUSTOMERS = "/api/v1/apps/crm/forms/customer/records"


def _count(world: World) -> int:
    with world.database.reading() as conn:
        return int(conn.exec_driver_sql("SELECT count(*) FROM crm_customer").scalar_one())


@pytest.mark.parametrize(("body", "where"), [
    ('{"name": "x\\ud800"}', "name"),
    ('{"name": "ok", "notes": "\\udfff tail"}', "notes"),
    ('{"name": "ok", "na\\ud800me": "x"}', None),
    ('{"name": "\\ud83d\\ude00 fine", "notes": ["\\ud800"]}', "notes[0]"),
])
def test_a_lone_surrogate_in_a_body_is_a_400(auth_world: World, body: str, where: str | None) -> None:
    response = auth_world.client.post(CUSTOMERS, data=body, content_type="application/json",
                                      headers=auth_world.auth(**{"Accept-Language": "en"}))
    assert response.status_code == 400
    error = json.loads(response.get_data())  # valid JSON, though it echoes the bad text
    assert error["error"]["code"] == "validation_error"
    if where is not None:
        assert where in error["error"]["details"]
    assert _count(auth_world) == 0


def test_raw_surrogate_bytes_are_a_400_too(auth_world: World) -> None:
    response = auth_world.client.post(CUSTOMERS, data=b'{"name": "x\xed\xa0\x80"}',
                                      content_type="application/json", headers=auth_world.auth())
    assert response.status_code == 400 and _count(auth_world) == 0


def test_a_lone_surrogate_in_a_filter_is_a_400(auth_world: World) -> None:
    spec = '{"field": "name", "op": "contains", "value": "x\\ud800"}'
    response = auth_world.client.get(CUSTOMERS, query_string={"filter": spec}, headers=auth_world.auth())
    assert response.status_code == 400
    assert "filter.value" in response.get_json()["error"]["details"]
    patched = auth_world.client.patch(f"{CUSTOMERS}/1", data='{"version": 1, "name": "\\udc00"}',
                                      content_type="application/json", headers=auth_world.auth())
    assert patched.status_code == 400


def test_a_surrogate_pair_is_a_character(auth_world: World) -> None:
    response = auth_world.client.post(CUSTOMERS, data='{"name": "smile \\ud83d\\ude00"}',
                                      content_type="application/json", headers=auth_world.auth())
    assert response.status_code == 201 and response.get_json()["name"] == "smile \U0001f600"
