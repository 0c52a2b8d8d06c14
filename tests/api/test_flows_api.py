"""The approval REST API (runtime/api/flows.py) on both databases: alice
submits a contract of hers through the CRM's contract approval, the admin
(who approves when nobody heads alice's department) acts on the task."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import World

RECORDS = "/api/v1/apps/crm/forms/contract/records"


def contract(world: World, name: str, amount: str = "50000") -> int:
    customer = world.client.post("/api/v1/apps/crm/forms/customer/records", headers=world.auth(),
                                 json={"name": f"{name} customer"}).get_json()["id"]
    response = world.client.post(RECORDS, headers=world.auth(), json={
        "name": name, "status": "draft", "amount": amount, "customer": customer, "owner": world.people.user_id})
    assert response.status_code == 201, response.get_json()
    return int(response.get_json()["id"])


def submitted(world: World, name: str) -> tuple[int, dict[str, Any]]:
    record_id = contract(world, name)
    alice = world.auth(world.people.user_token)
    response = world.client.post(f"{RECORDS}/{record_id}/submit", headers=alice, json={"comment": "please"})
    assert response.status_code == 201, response.get_json()
    return record_id, response.get_json()


def todo(world: World, token: str | None = None, **query: str) -> dict[str, Any]:
    response = world.client.get("/api/v1/tasks", headers=world.auth(token), query_string={"box": "todo", **query})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_submit_then_approve(world: World) -> None:
    client, admin, alice = world.client, world.auth(), world.auth(world.people.user_token)
    record_id = contract(world, "Flow API approve")
    options = client.get(f"{RECORDS}/{record_id}/submit", headers=alice).get_json()
    assert options["can_submit"] is True and options["flow"]["key"] == "contract_approval"
    assert [step["node"] for step in options["path"]][:2] == ["manager", "finance_sign"]
    instance = client.post(f"{RECORDS}/{record_id}/submit", headers=alice, json={"comment": "please"}).get_json()
    assert instance["status"] == "running" and instance["current"] == ["manager"]
    again = client.post(f"{RECORDS}/{record_id}/submit", headers=alice, json={})
    assert again.status_code == 409

    mine = client.get("/api/v1/tasks?box=submitted", headers=alice).get_json()
    assert mine["tasks"][0]["instance_id"] == instance["id"] and mine["tasks"][0]["id"] is None
    page = todo(world, search="Flow API approve")
    task = page["tasks"][0]
    assert task["node"] == "manager" and page["counts"]["todo"] >= 1
    assert todo(world, world.people.user_token)["tasks"] == []

    # Someone else's task is not found, not forbidden: it does not say it exists.
    assert client.get(f"/api/v1/tasks/{task['id']}", headers=alice).status_code == 404
    assert client.post(f"/api/v1/tasks/{task['id']}/approve", headers=alice, json={}).status_code == 404
    shown = client.get(f"/api/v1/tasks/{task['id']}", headers=admin).get_json()
    assert shown["record"]["name"] == "Flow API approve" and shown["fields"]["payment_terms"] == "editable"
    assert {a["key"] for a in shown["actions"]} >= {"approve", "reject", "transfer"}

    done = client.post(f"/api/v1/tasks/{task['id']}/approve", headers=admin,
                       json={"comment": "ok", "version": shown["instance"]["lock_version"]})
    assert done.status_code == 200, done.get_json()
    # The admin approved already: finance (the admins again) passes by itself, legal is copied.
    assert done.get_json()["status"] == "approved"
    twice = client.post(f"/api/v1/tasks/{task['id']}/approve", headers=admin, json={})
    assert twice.status_code == 409 and twice.get_json()["error"]["details"]["task"] == task["id"]

    whole = client.get(f"/api/v1/flows/instances/{instance['id']}", headers=alice).get_json()
    assert whole["history"][0]["action"] == "submit"
    assert whole["graph"]["nodes"][0]["state"] == "done" and whole["instance"]["status"] == "approved"
    listed = client.get(f"{RECORDS}/{record_id}/flows", headers=admin).get_json()
    # alice has no right to read contracts: she sees her instance through the inbox, not the record.
    assert client.get(f"{RECORDS}/{record_id}/flows", headers=alice).status_code == 403
    assert [i["id"] for i in listed["instances"]] == [instance["id"]]
    assert client.get(f"{RECORDS}/{record_id}", headers=admin).get_json()["flow_status"] == "approved"


def test_reject_withdraw_urge_comment_batch(world: World) -> None:
    client, admin, alice = world.client, world.auth(), world.auth(world.people.user_token)
    _record, first = submitted(world, "Flow API reject")
    _record, second = submitted(world, "Flow API withdraw")
    _record, third = submitted(world, "Flow API batch")

    task = todo(world, search="Flow API reject")["tasks"][0]
    rejected = client.post(f"/api/v1/tasks/{task['id']}/reject", headers=admin, json={"comment": "no"})
    assert rejected.get_json()["status"] == "rejected" and rejected.get_json()["id"] == first["id"]

    urged = client.post(f"/api/v1/flows/instances/{second['id']}/urge", headers=alice, json={})
    assert urged.status_code == 200
    assert client.post(f"/api/v1/flows/instances/{second['id']}/urge", headers=alice).status_code == 409
    said = client.post(f"/api/v1/flows/instances/{second['id']}/comments", headers=alice, json={"comment": "hi"})
    assert said.status_code == 201
    assert client.post(f"/api/v1/flows/instances/{second['id']}/comments", headers=alice,
                       json={"comment": " "}).status_code == 400
    # Only the submitter withdraws.
    assert client.post(f"/api/v1/flows/instances/{second['id']}/withdraw", headers=admin).status_code in (403, 404)
    withdrawn = client.post(f"/api/v1/flows/instances/{second['id']}/withdraw", headers=alice, json={"comment": "x"})
    assert withdrawn.get_json()["status"] == "withdrawn"

    batch_task = todo(world, search="Flow API batch")["tasks"][0]
    batch = client.post("/api/v1/tasks/batch/approve", headers=admin,
                        json={"ids": [batch_task["id"], task["id"]], "comment": "batch"}).get_json()
    assert [r["ok"] for r in batch["results"]] == [True, False] and batch["done"] == 1
    assert batch["results"][1]["error"]["en"]
    assert client.get(f"/api/v1/flows/instances/{third['id']}", headers=alice).get_json()["instance"][
        "status"] == "approved"
    done = client.get("/api/v1/tasks?box=done", headers=admin).get_json()["tasks"]
    assert {t["id"] for t in done} >= {task["id"], batch_task["id"]}


def test_refusals(world: World) -> None:
    client, admin, alice = world.client, world.auth(), world.auth(world.people.user_token)
    assert client.get("/api/v1/tasks?box=later", headers=admin).status_code == 400
    assert client.get("/api/v1/tasks?colour=red", headers=admin).status_code == 400
    assert client.get("/api/v1/tasks/999999", headers=admin).status_code == 404
    assert client.post("/api/v1/tasks/1/dance", headers=admin, json={}).status_code == 404
    assert client.post("/api/v1/tasks/batch/approve", headers=admin, json={"ids": []}).status_code == 400
    assert client.post("/api/v1/tasks/batch/approve", headers=admin, json={"ids": ["1"]}).status_code == 400
    assert client.get("/api/v1/flows/instances/999999", headers=admin).status_code == 404
    record_id, instance = submitted(world, "Flow API refusals")
    task = todo(world, search="Flow API refusals")["tasks"][0]
    assert client.post(f"/api/v1/tasks/{task['id']}/approve", headers=admin,
                       json={"version": instance["lock_version"] + 5}).status_code == 409
    assert client.post(f"/api/v1/tasks/{task['id']}/approve", headers=admin,
                       json={"mood": "good"}).status_code == 400
    assert client.post(f"/api/v1/tasks/{task['id']}/transfer", headers=admin,
                       json={"to": "alice"}).status_code == 400
    assert client.post(f"{RECORDS}/{record_id}/submit", headers=alice,
                       json={"chosen": {"manager": "x"}}).status_code == 400
    assert client.get(f"{RECORDS}/{record_id}/submit?flow=nope", headers=alice).status_code in (200, 404)
    # The record is locked while it runs: not even an admin changes it.
    locked = client.patch(f"{RECORDS}/{record_id}", headers=admin, json={"name": "changed", "version": 1})
    assert locked.status_code in (403, 409)
