"""Every node type: exclusive and parallel branches (nested), cc, automation,
delay (woken by the worker), end; when nobody is found, auto-pass,
delegation and the submitter's choice."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from engine.core.errors import ValidationError
from engine.flows.store import JOBS, TASKS
from engine.records.events import FLOW_APPROVED, FLOW_NODE_REACHED, FLOW_SUBMITTED, RecordEvent
from tests.flows.conftest import World, approval


def branch_flow(world: World) -> None:
    world.publish({"key": "deal", "nodes": [
        approval("manager", "ann"),
        {"key": "size", "type": "exclusive", "branches": [
            {"key": "normal", "default": True, "nodes": []},
            {"key": "big", "condition": "amount > 1000000", "priority": 1, "nodes": [approval("gm", "bob")]},
            {"key": "huge", "condition": "amount > 5000000", "priority": 0, "nodes": [
                {"key": "both", "type": "parallel", "branches": [
                    {"key": "a", "nodes": [approval("board", "cat")]},
                    {"key": "b", "nodes": [approval("chair", "dan"), {"key": "note", "type": "cc",
                                                                      "recipients": [{"type": "members",
                                                                                      "users": ["eve"]}]}]},
                ]}]},
        ]},
        approval("finance", "eve"),
    ]})


@pytest.mark.parametrize(("amount", "path"), [
    (10, ["ann", "eve"]),
    (2_000_000, ["ann", "bob", "eve"]),
])
def test_exclusive_takes_the_first_branch_that_holds(world: World, amount: int, path: list[str]) -> None:
    branch_flow(world)
    record = world.record(amount=amount)
    view = world.submit(record)
    for login in path:
        view = world.act(login)
    assert view.status == "approved"
    graph = world.flows.graph(view.id, actor=world.actor("sub"))
    size = graph.nodes[1]
    taken = {b.key: b.taken for b in size.branches}
    assert taken == {"normal": amount < 1_000_000, "big": amount >= 1_000_000, "huge": False}
    assert [n.state for n in graph.nodes] == ["done", "done", "done"]


def test_parallel_branches_all_finish_and_a_copy_does_not_wait(world: World) -> None:
    branch_flow(world)
    view = world.submit(world.record(amount=6_000_000))
    view = world.act("ann")
    assert sorted(view.current) == ["board", "both", "chair", "size"]
    world.act("dan")
    assert [t.node for t in world.flows.tasks(world.users["eve"], "cc").items] == ["note"]
    assert world.flows.counts(world.users["eve"]) == {"todo": 0, "cc": 1}
    view = world.act("cat")
    assert view.current == ["finance"]
    task = world.flows.tasks(world.users["eve"], "cc").items[0]
    assert world.flows.read_task(int(task.id), actor=world.actor("eve")).outcome == "read"
    assert world.flows.counts(world.users["eve"]) == {"todo": 1, "cc": 0}
    assert world.act("eve").status == "approved"


def test_a_rejection_in_one_parallel_branch_cancels_the_other(world: World) -> None:
    branch_flow(world)
    view = world.submit(world.record(amount=6_000_000))
    world.act("ann")
    view = world.act("cat", "reject", comment="no")
    assert view.status == "rejected" and view.current == []
    assert world.todo("dan") == []
    done = world.flows.tasks(world.users["dan"], "done").items
    assert done == []  # cancelled tasks are not what they did
    graph = world.flows.graph(view.id, actor=world.actor("sub"))
    both = graph.nodes[1].branches[2].nodes[0]
    assert graph.nodes[1].branches[2].taken and both.state == "skipped"


def test_automation_end_and_events_on_the_bus(world: World) -> None:
    world.publish({"key": "deal", "nodes": [
        approval("manager", "ann"),
        {"key": "stamp", "type": "automation", "actions": [{"type": "update_record",
                                                            "values": {"stage": "\"signed\""}}]},
        {"key": "stop", "type": "end", "status": "rejected"},
        approval("never", "bob"),
    ]})
    heard: list[RecordEvent] = []
    world.engine.bus.subscribe(heard.append)
    record = world.record()
    world.submit(record)
    view = world.act("ann")
    assert view.status == "rejected" and world.get(record)["stage"] == "signed"
    kinds = [(e.kind, (e.detail or {}).get("node")) for e in heard if e.kind.startswith("flow.")]
    assert kinds[0] == (FLOW_SUBMITTED, None) and (FLOW_NODE_REACHED, "stamp") in kinds
    assert kinds[-1] == ("flow.rejected", "stop")
    assert all(e.detail and e.detail["flow"] == "deal" for e in heard if e.kind.startswith("flow."))
    assert FLOW_APPROVED not in [k for k, _ in kinds]


def test_delay_waits_for_the_worker(world: World) -> None:
    world.publish({"key": "deal", "nodes": [{"key": "wait", "type": "delay", "duration": "2h"},
                                            approval("manager", "ann")]})
    view = world.submit(world.record())
    assert view.current == ["wait"]
    assert world.flows.run_due(world.engine.clock.now() + dt.timedelta(minutes=119)) == 0
    later = world.engine.clock.now() + dt.timedelta(hours=2)
    assert world.flows.run_due(later) == 1
    assert world.flows.instance(view.id, actor=world.actor("sub")).current == ["manager"]


@pytest.mark.parametrize(("when_none", "status"), [("auto_pass", "approved"), ("reject", "rejected"),
                                                   ("admins", "running")])
def test_when_nobody_is_found(world: World, when_none: str, status: str) -> None:
    world.engine.org.set_admin(world.users["eve"], True)
    world.publish({"key": "deal", "nodes": [approval("n", "nobody", when_none=when_none)]})
    view = world.submit(world.record())
    assert view.status == status
    if when_none == "admins":
        assert world.act("eve").status == "approved"


def test_auto_pass_for_the_submitter_and_who_approved_before(world: World) -> None:
    world.publish({"key": "deal", "nodes": [approval("one", "sub", "ann", mode="all"), approval("two", "ann"),
                                            approval("three", "ann", "bob", mode="all")]})
    view = world.submit(world.record())
    assert view.current == ["one"] and world.todo("sub") == []
    view = world.act("ann")
    assert view.current == ["three"]  # ann approved before: "two" passed, and her part of "three"
    assert world.act("bob").status == "approved"
    actions = [e.action for e in world.flows.history(view.id, actor=world.actor("sub"))]
    assert actions.count("auto_pass") == 3


def test_auto_pass_can_be_turned_off(world: World) -> None:
    world.publish({"key": "deal", "auto_pass": {"submitter": False, "repeated": False},
                   "nodes": [approval("one", "sub")]})
    world.submit(world.record())
    assert len(world.todo("sub")) == 1


def test_an_away_approver_s_delegate_gets_the_task(world: World) -> None:
    start = world.engine.clock.now() - dt.timedelta(days=1)
    world.engine.org.add_delegation(world.users["ann"], world.users["bob"], start, start + dt.timedelta(days=3))
    world.publish({"key": "deal", "nodes": [approval("n", "ann")]})
    world.submit(world.record())
    assert world.todo("ann") == [] and len(world.todo("bob")) == 1
    assert world.act("bob").status == "approved"


def test_the_submitter_chooses_an_approver(world: World) -> None:
    world.publish({"key": "deal", "nodes": [{"key": "pick", "type": "approval", "approvers": [
        {"type": "chosen", "from": [{"type": "members", "users": ["ann", "bob"]}]}]}]})
    record = world.record()
    options = world.flows.start_options("shop", "contract", record, actor=world.actor("sub"))
    assert options.can_submit and [(c.node, sorted(c.candidates)) for c in options.choices] == \
        [("pick", sorted([world.users["ann"], world.users["bob"]]))]
    with pytest.raises(ValidationError):
        world.submit(record)
    with pytest.raises(ValidationError):
        world.submit(record, chosen={"pick": [world.users["cat"]]})
    world.submit(record, chosen={"pick": [world.users["bob"]]})
    assert world.todo("ann") == [] and len(world.todo("bob")) == 1
    assert not world.flows.start_options("shop", "contract", record, actor=world.actor("sub")).can_submit


def test_a_time_out_gives_tasks_a_due_moment_and_a_reminder(world: World) -> None:
    world.publish({"key": "deal", "nodes": [approval("n", "ann", timeout={"remind_after": "4h", "after": "3d"})]})
    world.submit(world.record())
    now = world.engine.clock.now()
    [task] = world.flows.tasks(world.users["ann"], "todo").items
    assert task.due_at is not None and task.due_at.astimezone(dt.UTC) == (now + dt.timedelta(days=3)).astimezone(dt.UTC)
    # The task carries its moments (engine.flows.timeouts); a job wakes only for a delay.
    with world.database.reading() as conn:
        wake = conn.execute(sa.select(JOBS.c.wake_at).where(JOBS.c.node == "n")).scalar_one()
        remind = conn.execute(sa.select(TASKS.c.remind_at).where(TASKS.c.id == task.id)).scalar_one()
    assert wake is None
    assert remind.replace(tzinfo=dt.UTC) == (now + dt.timedelta(hours=4)).astimezone(dt.UTC)


def test_a_delay_until_a_date_field_at_a_local_hour(world: World) -> None:
    world.publish({"key": "deal", "nodes": [{"key": "wait", "type": "delay", "until": "signed_on", "at": "09:00"},
                                            approval("manager", "ann")]})
    today = world.engine.clock.now().date()
    view = world.submit(world.record(signed_on=(today + dt.timedelta(days=1)).isoformat()))
    assert view.current == ["wait"]
    local_nine = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(9), tzinfo=world.engine.clock.tz)
    assert world.flows.run_due(local_nine - dt.timedelta(minutes=1)) == 0
    assert world.flows.run_due(local_nine) == 1
    past = world.submit(world.record(signed_on=(today - dt.timedelta(days=1)).isoformat()))
    assert past.current == ["manager"]  # a date gone by waits for nothing
