"""The record lock while a flow runs, the version an instance keeps, and
two approvers acting at the same moment (real threads, both databases)."""

from __future__ import annotations

import threading

import pytest

from engine.core.errors import ConflictError, QiqiaoError
from engine.records.actor import Actor
from engine.records.bulk_writes import delete_each, update_each
from tests.flows.conftest import World, approval


def test_a_running_flow_locks_the_record_on_every_path(world: World) -> None:
    world.publish({"key": "deal", "label": {"zh": "合同审批", "en": "Contract approval"},
                   "nodes": [approval("manager", "ann", label={"zh": "经理", "en": "Manager"},
                                      fields={"note": "editable"})]})
    service = world.engine.service("shop")
    record = world.record()
    world.submit(record)
    with pytest.raises(ConflictError) as caught:
        service.update("contract", record, {"amount": 5}, version=None, actor=Actor(world.users["sub"]))
    assert "Contract approval" in caught.value.message.en and "Manager" in caught.value.message.en
    assert caught.value.details["flow"] == "deal" and caught.value.details["nodes"] == ["manager"]
    with pytest.raises(ConflictError):
        service.update("contract", record, {"note": "x"}, version=None)  # the system, a rule, an import
    with pytest.raises(ConflictError):
        service.delete("contract", record)
    unchanged = world.get(record)
    service.update("contract", record, {"amount": unchanged["amount"]}, version=None)  # nothing changes: fine
    view = world.act("ann", values={"note": "checked"})
    assert view.status == "approved" and world.get(record)["note"] == "checked"
    service.update("contract", record, {"amount": 5}, version=None)
    assert world.get(record)["amount"] == 5


def test_bulk_changes_and_deletes_skip_locked_records(world: World) -> None:
    world.publish({"key": "deal", "nodes": [approval("manager", "ann")]})
    service = world.engine.service("shop")
    locked, free = world.record(title="locked"), world.record(title="free")
    world.submit(locked)
    rows = [(r, world.get(r)["version"], {"note": "bulk"}) for r in (locked, free)]
    done, failures = update_each(service, "contract", rows, actor=Actor(world.users["sub"]), all_or_nothing=False)
    assert [r["id"] for r in done] == [free] and isinstance(failures[0], ConflictError)
    deleted, failures = delete_each(service, "contract", [(locked, world.get(locked)["version"])],
                                    actor=Actor(world.users["sub"]))
    assert deleted == [] and isinstance(failures[0], ConflictError)
    assert world.get(locked)["note"] is None


def test_an_instance_keeps_the_version_it_started_on(world: World) -> None:
    world.publish({"key": "deal", "nodes": [approval("one", "ann"), approval("two", "bob")]})
    old = world.submit(world.record())
    world.publish({"key": "deal", "nodes": [approval("only", "cat")]})
    new = world.submit(world.record(title="new"))
    assert new.current == ["only"]
    assert world.act("ann").current == ["two"]
    assert world.flows.instance(old.id, actor=world.actor("sub")).current == ["two"]
    assert world.act("bob").status == "approved"
    assert world.act("cat").status == "approved"


@pytest.mark.parametrize("rounds", [3])
def test_two_approvers_at_the_same_moment_one_transition(world: World, rounds: int) -> None:
    world.publish({"key": "deal", "nodes": [approval("either", "ann", "bob"), approval("next", "cat")]})
    for _ in range(rounds):
        view = world.submit(world.record())
        tasks = {login: world.todo(login)[0] for login in ("ann", "bob")}
        barrier = threading.Barrier(2)
        outcomes: dict[str, str] = {}

        def approve(login: str, task: int, barrier: threading.Barrier, outcomes: dict[str, str]) -> None:
            barrier.wait()
            try:
                world.flows.act(task, "approve", actor=world.actor(login))
                outcomes[login] = "ok"
            except QiqiaoError as exc:
                outcomes[login] = type(exc).__name__ + (":" + str(exc.details.get("task")))

        threads = [threading.Thread(target=approve, args=(login, tasks[login], barrier, outcomes)) for login in tasks]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(outcomes.values())[1] == "ok", outcomes
        loser = next(login for login, result in outcomes.items() if result != "ok")
        assert outcomes[loser] == f"ConflictError:{tasks[loser]}"
        after = world.flows.instance(view.id, actor=world.actor("sub"))
        assert after.current == ["next"] and after.lock_version == view.lock_version + 1
        history = world.flows.history(view.id, actor=world.actor("sub"))
        assert [e.action for e in history].count("approve") == 1
        world.act("cat")


def test_two_submits_of_one_record_at_once_start_one_flow(world: World) -> None:
    world.publish({"key": "deal", "nodes": [approval("manager", "ann")]})
    record = world.record()
    barrier = threading.Barrier(3)
    outcomes: list[str] = []

    def submit() -> None:
        barrier.wait()
        try:
            world.submit(record)
            outcomes.append("ok")
        except ConflictError:
            outcomes.append("conflict")

    threads = [threading.Thread(target=submit) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["conflict", "conflict", "ok"]
    assert len(world.flows.instances("shop", "contract", record, actor=world.actor("sub"))) == 1
