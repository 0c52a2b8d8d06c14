"""Task actions (return, transfer, add-sign, complete with field edits,
reject to start/previous/choose), instance actions (withdraw, urge,
comment), what the viewer may do and see."""

from __future__ import annotations

import datetime as dt

import pytest

from engine.core.clock import FixedClock
from engine.core.errors import ConflictError, NotFoundError, PermissionDenied, ValidationError
from engine.records.access import AppAccess
from engine.records.actor import Actor
from tests.flows.conftest import World, approval


def three(world: World, **settings: object) -> None:
    world.publish({"key": "deal", "nodes": [approval("one", "ann"), approval("two", "bob", **settings),
                                            approval("three", "cat")]})


def test_return_to_previous_start_or_a_passed_node(world: World) -> None:
    three(world)
    view = world.submit(world.record())
    world.act("ann")
    world.act("bob")
    actions = world.flows.actions_for(view.id, actor=world.actor("cat"))
    ret = next(a for a in actions if a.key == "return")
    assert [n["key"] for n in ret.nodes] == ["start", "two", "one"]
    with pytest.raises(ValidationError):
        world.act("cat", "return", node="three")
    view = world.act("cat", "return", node="previous", comment="again")
    assert view.current == ["two"]
    view = world.act("bob", "return", node="start")
    assert view.current == ["start"] and view.status == "running"
    assert next(a.key for a in world.flows.actions_for(view.id, actor=world.actor("sub"))) == "complete"
    _, rights = world.flows.record_view(view.id, actor=world.actor("sub"))
    assert rights["amount"] == "editable"
    view = world.act("sub", "complete", values={"amount": 42}, comment="fixed")
    assert view.current == ["one"] and world.get(view.record_id)["amount"] == 42
    world.act("ann")
    world.act("bob")
    view = world.act("cat", "return", node="one")
    assert view.current == ["one"]
    history = world.flows.history(view.id, actor=world.actor("sub"))
    returns = [e for e in history if e.action == "return" and e.user_id is not None]
    assert [(e.user_name, e.detail) for e in returns] == [("Cat", {"to": "two"}), ("Bob", {"to": "start"}),
                                                         ("Cat", {"to": "one"})]
    resubmitted = [e for e in history if e.action == "complete"]
    assert resubmitted[0].diff == {"amount": [None, "42.00"]}


@pytest.mark.parametrize(("how", "current"), [("start", ["start"]), ("previous", ["one"]), ("end", [])])
def test_reject_as_the_node_says(world: World, how: str, current: list[str]) -> None:
    three(world, reject=how)
    world.submit(world.record())
    world.act("ann")
    view = world.act("bob", "reject", comment="no")
    assert view.current == current
    assert view.status == ("rejected" if how == "end" else "running")


def test_reject_to_a_chosen_node(world: World) -> None:
    world.publish({"key": "deal", "nodes": [approval("one", "ann"), approval("two", "bob"),
                                            approval("three", "cat", reject="choose")]})
    world.submit(world.record())
    world.act("ann")
    view = world.act("bob")
    reject = next(a for a in world.flows.actions_for(view.id, actor=world.actor("cat")) if a.key == "reject")
    assert reject.needs == ("comment", "node") and [n["key"] for n in reject.nodes] == ["start", "two", "one"]
    with pytest.raises(ValidationError):
        world.act("cat", "reject", comment="not like this")  # which node?
    with pytest.raises(ValidationError):
        world.act("cat", "reject", node="one")  # why?
    assert world.act("cat", "reject", node="one", comment="redo").current == ["one"]


def test_transfer_and_add_sign(world: World) -> None:
    world.publish({"key": "deal", "nodes": [approval("one", "ann"), approval("two", "bob")]})
    view = world.submit(world.record())
    with pytest.raises(ValidationError):
        world.act("ann", "transfer")
    world.act("ann", "transfer", to=world.users["dan"])
    assert world.todo("ann") == [] and len(world.todo("dan")) == 1
    world.act("dan", "add_sign", users=[world.users["eve"]], position="before")
    assert world.todo("dan") == [] and len(world.todo("eve")) == 1
    world.act("eve")
    assert len(world.todo("dan")) == 1  # back to dan, who still decides
    view = world.act("dan")
    assert view.current == ["two"]
    world.act("bob", "add_sign", users=[world.users["cat"]], position="after")
    assert world.flows.instance(view.id, actor=world.actor("sub")).current == ["two"]
    assert world.act("cat").status == "approved"
    outcomes = {t.node: t.outcome for t in world.flows.tasks(world.users["ann"], "done").items}
    assert outcomes == {"one": "transferred"}


def test_handle_edits_allowed_fields_and_requires_what_it_must(world: World) -> None:
    world.publish({"key": "deal", "nodes": [
        {"key": "fill", "type": "handle", "approvers": [{"type": "members", "users": ["ann"]}],
         "fields": {"note": "required", "stage": "editable", "cost": "hidden"}}]})
    record = world.record(cost=5)
    view = world.submit(record)
    seen, rights = world.flows.record_view(view.id, actor=world.actor("ann"))
    assert "cost" not in seen and "cost" not in rights
    assert rights["note"] == "required" and rights["title"] == "readonly"
    seen, rights = world.flows.record_view(view.id, actor=world.actor("sub"))  # not the assignee
    assert seen["cost"] == 5 and set(rights.values()) == {"readonly"}
    actions = [a.key for a in world.flows.actions_for(view.id, actor=world.actor("ann"))]
    assert "complete" in actions and "approve" not in actions
    with pytest.raises(ValidationError):
        world.act("ann", "complete")
    with pytest.raises(ValidationError):
        world.act("ann", "complete", values={"title": "mine"})
    view = world.act("ann", "complete", values={"note": "paid", "stage": "done"})
    assert view.status == "approved" and world.get(record)["note"] == "paid"
    complete = [e for e in world.flows.history(view.id, actor=world.actor("sub")) if e.action == "complete"]
    assert complete[0].diff == {"note": [None, "paid"], "stage": [None, "done"]}


def test_withdraw_while_nobody_acted(world: World) -> None:
    three(world)
    record = world.record()
    view = world.submit(record)
    with pytest.raises(PermissionDenied):
        world.flows.withdraw(view.id, actor=world.actor("ann"))
    assert "withdraw" in [a.key for a in world.flows.actions_for(view.id, actor=world.actor("sub"))]
    view = world.flows.withdraw(view.id, actor=world.actor("sub"), comment="oops")
    assert view.status == "withdrawn" and world.get(record)["flow_status"] == "withdrawn"
    assert world.todo("ann") == []
    again = world.submit(record)
    world.act("ann")
    with pytest.raises(ConflictError):
        world.flows.withdraw(again.id, actor=world.actor("sub"))


def test_urge_once_an_hour_and_comment(world: World) -> None:
    three(world)
    view = world.submit(world.record())
    world.flows.urge(view.id, actor=world.actor("sub"))
    with pytest.raises(ConflictError):
        world.flows.urge(view.id, actor=world.actor("sub"))
    clock = world.engine.clock
    assert isinstance(clock, FixedClock)
    clock.advance(dt.timedelta(hours=1))
    world.flows.urge(view.id, actor=world.actor("sub"))
    world.flows.comment(view.id, actor=world.actor("ann"), comment="looking")
    with pytest.raises(ValidationError):
        world.flows.comment(view.id, actor=world.actor("ann"), comment="file", files=["nope"])
    outsider = Actor(world.users["eve"], "web", access=_no_access(world))
    with pytest.raises(NotFoundError):  # someone who may not read the record does not see the flow
        world.flows.comment(view.id, actor=outsider, comment="x")
    actions = [e.action for e in world.flows.history(view.id, actor=world.actor("sub"))]
    assert actions[-3:] == ["urge", "urge", "comment"]


def test_act_many(world: World) -> None:
    world.publish({"key": "deal", "nodes": [approval("one", "ann")]})
    first = world.submit(world.record())
    second = world.submit(world.record(title="two"))
    tasks = world.todo("ann")
    results = world.flows.act_many([*tasks, 999], "approve", actor=world.actor("ann"))
    assert [r.ok for r in results] == [True, True, False]
    assert results[2].error is not None
    assert {world.flows.instance(i.id, actor=world.actor("sub")).status for i in (first, second)} == {"approved"}


def _no_access(world: World) -> AppAccess:
    return AppAccess(world.engine.org.principal(world.users["eve"], app="shop"), (), app="shop")



def test_return_into_a_branch_goes_on_after_its_branching_node(world: World) -> None:
    world.publish({"key": "deal", "nodes": [
        {"key": "both", "type": "parallel", "branches": [
            {"key": "a", "nodes": [approval("x", "ann")]}, {"key": "b", "nodes": [approval("y", "bob")]}]},
        approval("z", "cat")]})
    world.submit(world.record())
    world.act("ann")
    assert world.act("bob").current == ["z"]
    view = world.act("cat", "return", node="x")
    assert view.current == ["x"] and world.todo("bob") == []
    assert world.act("ann").current == ["z"]
    assert world.act("cat").status == "approved"
