"""Submit, approval modes, approve and reject, flow_status and the views."""

from __future__ import annotations

import pytest

from engine.core.errors import ConflictError
from tests.flows.conftest import World, approval


def test_two_approvals_approve_the_flow(world: World) -> None:
    world.publish({"key": "deal", "nodes": [approval("manager", "ann"), approval("finance", "bob")]})
    record = world.record(amount=10)
    view = world.submit(record, comment="please")
    assert view.status == "running" and view.current == ["manager"]
    assert world.get(record)["flow_status"] == "running"
    assert world.flows.counts(world.users["ann"]) == {"todo": 1, "cc": 0}
    world.act("ann", comment="ok")
    assert world.todo("ann") == [] and len(world.todo("bob")) == 1
    view = world.act("bob")
    assert view.status == "approved" and view.current == []
    assert world.get(record)["flow_status"] == "approved"
    history = world.flows.history(view.id, actor=world.actor("sub"))
    assert [e.action for e in history] == ["submit", "node", "approve", "node", "approve", "end"]
    assert history[0].comment == "please" and history[2].user_name == "Ann"
    assert all(e.user_id is None for e in history if e.action in ("node", "end"))  # the engine's doing
    done = world.flows.tasks(world.users["ann"], "done").items
    assert [(t.node, t.outcome, t.instance_status) for t in done] == [("manager", "approved", "approved")]
    submitted = world.flows.tasks(world.users["sub"], "submitted").items
    assert [(t.task_id, t.instance_status) for t in submitted] == [(None, "approved")]


def test_reject_ends_the_flow_and_a_new_submit_starts_again(world: World) -> None:
    world.publish({"key": "deal", "nodes": [approval("manager", "ann", "bob", mode="all")]})
    record = world.record()
    world.submit(record)
    with pytest.raises(ConflictError):
        world.submit(record)
    world.act("ann")
    view = world.act("bob", "reject", comment="no")
    assert view.status == "rejected" and world.get(record)["flow_status"] == "rejected"
    again = world.submit(record)
    assert again.id != view.id and again.status == "running"
    assert [i.id for i in world.flows.instances("shop", "contract", record, actor=world.actor("sub"))] == \
        [again.id, view.id]


@pytest.mark.parametrize(("mode", "extra", "acts", "done_after"), [
    ("any", {}, ["ann"], 1),
    ("all", {}, ["ann", "bob", "cat"], 3),
    ("sequential", {}, ["ann", "bob", "cat"], 3),
    ("ratio", {"ratio": 0.6}, ["ann", "bob"], 2),
])
def test_modes(world: World, mode: str, extra: dict[str, float], acts: list[str], done_after: int) -> None:
    world.publish({"key": "deal", "nodes": [approval("n", "ann", "bob", "cat", mode=mode, **extra)]})
    record = world.record()
    view = world.submit(record)
    if mode == "sequential":
        assert world.todo("bob") == [] and world.flows.tasks(world.users["bob"], "todo").items == []
    for n, login in enumerate(acts, 1):
        view = world.act(login)
        assert view.status == ("approved" if n == done_after else "running"), (mode, login)
    others = {"ann", "bob", "cat"} - set(acts)
    assert all(world.todo(o) == [] for o in others)


def test_a_stale_version_or_a_second_act_is_already_handled(world: World) -> None:
    world.publish({"key": "deal", "nodes": [approval("n", "ann", "bob")]})
    view = world.submit(world.record())
    ann, bob = world.todo("ann")[0], world.todo("bob")[0]
    world.flows.act(ann, "approve", actor=world.actor("ann"), version=view.lock_version)
    with pytest.raises(ConflictError) as caught:
        world.flows.act(bob, "approve", actor=world.actor("bob"), version=view.lock_version)
    assert caught.value.details["task"] == bob


def test_inbox_pages_filters_and_search(world: World) -> None:
    world.publish({"key": "deal", "nodes": [approval("n", "ann")]})
    for title in ("Alpha 50%", "Beta", "Gamma 50%", "Delta"):
        world.submit(world.record(title=title))
    ann = world.users["ann"]
    first = world.flows.tasks(ann, "todo", limit=3)
    assert [t.title for t in first.items] == ["Delta", "Gamma 50%", "Beta"] and first.next_before is not None
    rest = world.flows.tasks(ann, "todo", limit=3, before=first.next_before)
    assert [t.title for t in rest.items] == ["Alpha 50%"] and rest.next_before is None
    assert [t.title for t in world.flows.tasks(ann, "todo", search="50%").items] == ["Gamma 50%", "Alpha 50%"]
    assert world.flows.tasks(ann, "todo", app="other").items == []
    assert len(world.flows.tasks(ann, "todo", app="shop").items) == 4
    assert first.items[0].submitter_name == "Sub" and first.items[0].flow_label.en == "deal"
    assert first.as_json()["items"][0]["title"] == "Delta"
