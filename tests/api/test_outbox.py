"""``/api/v1/outbox``: admins browse the outbox and retry dead letters, on both databases."""

from __future__ import annotations

import datetime as dt

from engine.notify.outbox import DEAD, OUTBOX, enqueue
from tests.api.conftest import World


def _fill(world: World) -> list[int]:
    now = dt.datetime.now(dt.UTC)
    ids = []
    with world.database.transaction() as conn:
        for n, channel in enumerate(("email", "sms", "webhook")):
            message_id = enqueue(conn, channel=channel, recipient=f"r{n}", key=f"api:{n}", now=now,
                                 payload={"subject": f"<b>S{n}</b>", "text": "x"})
            assert message_id is not None
            ids.append(message_id)
        conn.execute(OUTBOX.update().where(OUTBOX.c.id == ids[0]).values(
            status=DEAD, attempts=8, last_error="SMTP 550: mailbox unavailable"))
    return ids


def test_admins_list_filter_and_page_the_outbox(world: World) -> None:
    dead, sms, hook = _fill(world)
    client = world.client
    page = client.get("/api/v1/outbox", headers=world.auth()).get_json()
    assert [m["id"] for m in page["messages"]] == [hook, sms, dead]
    assert page["counts"] == {"pending": 2, "sending": 0, "sent": 0, "dead": 1}
    assert page["next"] is None
    only_dead = client.get("/api/v1/outbox?status=dead", headers=world.auth()).get_json()["messages"]
    assert [(m["id"], m["last_error"], m["attempts"], m["retryable"], m["subject"]) for m in only_dead] == [
        (dead, "SMTP 550: mailbox unavailable", 8, True, "<b>S0</b>")]
    by_channel = client.get("/api/v1/outbox?channel=sms", headers=world.auth()).get_json()["messages"]
    assert [m["id"] for m in by_channel] == [sms]
    first = client.get("/api/v1/outbox?limit=2", headers=world.auth()).get_json()
    assert [m["id"] for m in first["messages"]] == [hook, sms] and first["next"] == sms
    rest = client.get(f"/api/v1/outbox?limit=2&before={first['next']}", headers=world.auth()).get_json()
    assert [m["id"] for m in rest["messages"]] == [dead]


def test_retry_makes_a_dead_letter_due_and_refuses_what_is_not_retryable(world: World) -> None:
    dead, sms, _ = _fill(world)
    client = world.client
    retried = client.post(f"/api/v1/outbox/{dead}/retry", headers=world.auth())
    assert retried.status_code == 200
    assert retried.get_json()["status"] == "pending"
    again = client.post(f"/api/v1/outbox/{sms}/retry", headers=world.auth(**{"Accept-Language": "en"}))
    assert again.status_code == 409
    assert "nothing to retry" in again.get_json()["error"]["message"]
    assert client.get("/api/v1/outbox/999999", headers=world.auth()).status_code == 404


def test_only_admins_and_bad_parameters_are_refused(world: World) -> None:
    dead, _, _ = _fill(world)
    client = world.client
    member = world.auth(world.people.user_token)
    assert client.get("/api/v1/outbox", headers=member).status_code == 403
    assert client.post(f"/api/v1/outbox/{dead}/retry", headers=member).status_code == 403
    assert client.get("/api/v1/outbox").status_code == 401
    for query, name in (("status=lost", "status"), ("channel=fax", "channel"), ("limit=0", "limit"),
                        ("colour=red", "colour")):
        refused = client.get(f"/api/v1/outbox?{query}", headers=world.auth(**{"Accept-Language": "en"}))
        assert refused.status_code == 400, query
        assert name in refused.get_json()["error"]["message"]


def test_the_outbox_is_in_the_openapi_document(world: World) -> None:
    document = world.client.get("/api/v1/openapi.json", headers=world.auth()).get_json()
    assert {"/api/v1/outbox", "/api/v1/outbox/{id}", "/api/v1/outbox/{id}/retry"} <= set(document["paths"])
    assert "OutboxMessage" in document["components"]["schemas"]
