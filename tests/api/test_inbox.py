"""/api/v1/notifications, /api/v1/todos and /api/v1/me/notification-preferences
on both databases: one's own only, bad input a 400 naming what is wrong."""

from __future__ import annotations

from typing import Any

from engine.core.clock import SystemClock
from engine.notify.notifier import Notice, Notifier
from engine.notify.todos import add_todo
from tests.api.conftest import World


def seed(world: World) -> None:
    """Three notifications and a rule's todo for alice, one notification for the admin."""
    alice, admin = world.people.user_id, world.people.admin_id
    clock = SystemClock()
    with world.database.transaction() as conn:
        for i in range(3):
            Notifier(clock).send(conn, Notice(key=f"k{i}", title=f"Lead {i}", text="", users=(alice,),
                                              app="crm", form="lead", record_id=i + 1, link=f"/a/crm/lead/{i + 1}"))
        Notifier(clock).send(conn, Notice(key="admin", title="For the admin", text="", users=(admin,)))
        add_todo(conn, user_id=alice, title="Renew", now=clock.now(), source="rule:crm.renewal")


def test_notifications(world: World) -> None:
    seed(world)
    client, alice = world.client, world.auth(world.people.user_token, **{"Accept-Language": "en"})
    page = client.get("/api/v1/notifications?limit=2", headers=alice).get_json()
    assert [n["title"] for n in page["notifications"]] == ["Lead 2", "Lead 1"]
    assert page["unread"] == 3 and page["next"] == page["notifications"][-1]["id"]
    rest = client.get(f"/api/v1/notifications?limit=2&before={page['next']}", headers=alice).get_json()
    assert [n["title"] for n in rest["notifications"]] == ["Lead 0"] and rest["next"] is None
    first = page["notifications"][0]
    assert first["link"] == "/a/crm/lead/3" and first["read_at"] is None and first["created_at"].endswith("Z")

    read = client.post(f"/api/v1/notifications/{first['id']}/read", headers=alice)
    assert read.status_code == 200 and read.get_json()["read_at"] is not None
    assert client.get("/api/v1/notifications/unread-count", headers=alice).get_json() == {"unread": 2}
    unread = client.get("/api/v1/notifications?unread=1", headers=alice).get_json()
    assert [n["title"] for n in unread["notifications"]] == ["Lead 1", "Lead 0"]

    admins = client.get("/api/v1/notifications", headers=world.auth()).get_json()["notifications"]
    theirs = client.post(f"/api/v1/notifications/{admins[0]['id']}/read", headers=alice)
    assert theirs.status_code == 404 and theirs.get_json()["error"]["code"] == "not_found"
    assert client.post("/api/v1/notifications/read-all", headers=alice).get_json() == {"marked": 2}
    assert client.get("/api/v1/notifications/unread-count", headers=world.auth()).get_json() == {"unread": 1}

    for query, name in (("limit=0", "limit"), ("unread=maybe", "unread"), ("before=x", "before")):
        bad = client.get(f"/api/v1/notifications?{query}", headers=alice)
        assert bad.status_code == 400 and f"Parameter {name}:" in bad.get_json()["error"]["message"]
    assert "unknown parameter" in client.get("/api/v1/notifications?page=2", headers=alice).get_json()["error"][
        "message"]


def test_todos(world: World) -> None:
    seed(world)
    client, alice = world.client, world.auth(world.people.user_token, **{"Accept-Language": "en"})
    customer = client.post("/api/v1/apps/crm/forms/customer/records", json={"name": "Huawei"},
                           headers=world.auth()).get_json()
    made = client.post("/api/v1/todos", headers=alice, json={
        "title": "Call back", "due_at": "2020-01-01T09:00:00+08:00", "note": "ask for the budget"})
    assert made.status_code == 201
    todo = made.get_json()
    assert todo["status"] == "overdue" and todo["due_at"] == "2020-01-01T01:00:00Z" and todo["source"] == "user"
    listing = client.get("/api/v1/todos", headers=alice).get_json()
    assert [t["title"] for t in listing["todos"]] == ["Call back", "Renew"]
    assert (listing["open"], listing["overdue"]) == (2, 1)
    assert [t["title"] for t in client.get("/api/v1/todos?status=overdue", headers=alice).get_json()["todos"]] == [
        "Call back"]

    done = client.post(f"/api/v1/todos/{todo['id']}/done", headers=alice).get_json()
    assert done["status"] == "done" and done["done_at"] is not None
    assert [t["title"] for t in client.get("/api/v1/todos?status=done", headers=alice).get_json()["todos"]] == [
        "Call back"]
    assert client.post(f"/api/v1/todos/{todo['id']}/reopen", headers=alice).get_json()["status"] == "overdue"
    assert client.post(f"/api/v1/todos/{todo['id']}/done", headers=world.auth()).status_code == 404
    assert client.get("/api/v1/todos", headers=world.auth()).get_json()["todos"] == []

    def refused(body: Any) -> str:
        response = client.post("/api/v1/todos", headers=alice, json=body)
        assert response.status_code == 400, response.get_json()
        return str(response.get_json()["error"]["message"])

    assert refused({"title": ""}) == "A todo needs a title"
    assert "due_at: must be an ISO 8601 moment" in refused({"title": "x", "due_at": "tomorrow"})
    assert "unknown field" in refused({"title": "x", "owner": 1})
    assert "go together" in refused({"title": "x", "app": "crm"})
    linked = client.post("/api/v1/todos", headers=world.auth(), json={
        "title": "Visit", "app": "crm", "form": "customer", "record_id": customer["id"]}).get_json()
    assert linked["link"] == f"/a/crm/customer/{customer['id']}"
    missing = client.post("/api/v1/todos", headers=world.auth(), json={
        "title": "Visit", "app": "crm", "form": "customer", "record_id": customer["id"] + 1000})
    assert missing.status_code == 404
    assert client.get("/api/v1/todos?status=later", headers=alice).status_code == 400


def test_preferences(world: World) -> None:
    client, alice = world.client, world.auth(world.people.user_token, **{"Accept-Language": "en"})
    assert client.get("/api/v1/me/notification-preferences", headers=alice).get_json()["channels"][0] == {
        "channel": "in_app", "label": {"zh": "站内通知", "en": "In-app"}, "enabled": True, "default": True}
    changed = client.put("/api/v1/me/notification-preferences", headers=alice, json={"in_app": False})
    assert changed.status_code == 200 and changed.get_json()["channels"][0]["enabled"] is False
    # The admin's choices are their own.
    assert client.get("/api/v1/me/notification-preferences", headers=world.auth()).get_json()["channels"][0][
        "enabled"] is True
    with world.database.transaction() as conn:
        report = Notifier(SystemClock()).send(conn, Notice(key="off", title="t", text="", users=(world.people.user_id,)))
    assert report.in_app == 0 and report.skipped == (f"alice ({world.people.user_id}): turned off in_app",)
    bad = client.put("/api/v1/me/notification-preferences", headers=alice, json={"pager": True})
    assert bad.status_code == 400 and "There is no channel pager to choose" in bad.get_json()["error"]["message"]
    assert client.put("/api/v1/me/notification-preferences", headers=alice, json=[1]).status_code in (400, 422)
