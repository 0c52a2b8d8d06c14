"""The worker's flow work (``engine.flows.timeouts``): reminders once then
repeating, time-outs that approve, reject or transfer, delays by duration
and until a date field, and two workers doing each thing once."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path
from typing import Any, cast

import pytest
import sqlalchemy as sa
import yaml

from engine.composition import compose
from engine.core.clock import FixedClock
from engine.fields import FIELD_TYPES
from engine.packages import install_package
from engine.store.database import Database
from engine.store.models import Notification
from tests.flows.conftest import FORMS, NOW, PEOPLE, World, approval, write_package

NOTICES = cast(sa.Table, Notification.__table__)
HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)


@pytest.fixture
def world(database: Database, tmp_path: Path) -> World:
    """The flows' small package with a date field to wait for."""
    root = write_package(tmp_path / "shop")
    form = {"schema_version": 1, **FORMS["contract"]}
    form["fields"] = [*form["fields"], {"key": "starts_on", "type": "date", "label": "Starts on"},
                      {"key": "received_on", "type": "date", "label": "Received on"}]
    (root / "forms" / "contract.yaml").write_text(yaml.safe_dump(form), encoding="utf-8")
    install_package(database, root, FIELD_TYPES)
    engine = compose(database, clock=FixedClock(NOW))
    users = {login: engine.org.create_user(login, login.title()).id for login in PEOPLE}
    return World(engine, users, database)


def actions(world: World, instance: int) -> list[str]:
    return [e.action for e in world.flows.history(instance, actor=world.actor("sub"))]


def titles(world: World, login: str) -> list[str]:
    with world.database.reading() as conn:
        return list(conn.execute(sa.select(NOTICES.c.title).where(NOTICES.c.user_id == world.users[login])
                                 .order_by(NOTICES.c.id)).scalars())


def start(world: World, timeout: dict[str, Any], node_type: str = "approval", **values: Any) -> int:
    node = {**approval("manager", "ann", timeout=timeout), "type": node_type}
    world.publish({"key": "deal", "nodes": [node]})
    return int(world.submit(world.record(**values)).id)


def at(delta: dt.timedelta) -> dt.datetime:
    return NOW.replace(tzinfo=FixedClock(NOW).tz) + delta


def tick(world: World, delta: dt.timedelta) -> int:
    """The worker's tick ``delta`` after the submission, the clock moved there."""
    cast(FixedClock, world.engine.clock).set(at(delta))
    return int(world.flows.run_due(at(delta)))


def utc(moment: dt.datetime | None) -> dt.datetime | None:
    """A moment as read back (naive UTC on SQLite)."""
    return None if moment is None else (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC))


def test_reminds_once_then_every_period_then_approves(world: World) -> None:
    instance = start(world, {"remind_after": "4h", "remind_every": "1d", "after": "3d", "then": "approve"})
    task = world.todo("ann")[0]
    assert world.flows.tasks(world.users["ann"], "todo").items[0].due_at is not None
    assert tick(world, 4 * HOUR - dt.timedelta(minutes=1)) == 0
    assert tick(world, 4 * HOUR) == 1
    assert tick(world, 5 * HOUR) == 0  # once: the next is a day later
    assert tick(world, DAY + 4 * HOUR) == 1
    # A worker stopped for a while reminds once, not once per missed day.
    assert tick(world, 2 * DAY + 5 * HOUR) == 1
    assert actions(world, instance).count("remind") == 3
    assert titles(world, "ann").count("催办提醒：deal · Big deal（manager）") == 3
    assert tick(world, 3 * DAY) == 1
    view = world.flows.instance(instance, actor=world.actor("sub"))
    assert view.status == "approved"
    assert actions(world, instance)[-3:] == ["timeout", "approve", "end"]
    assert world.flows.tasks(world.users["ann"], "done").items[0].id == task
    assert tick(world, 4 * DAY) == 0


def test_a_time_out_rejects(world: World) -> None:
    instance = start(world, {"after": "2d", "then": "reject"})
    assert tick(world, 2 * DAY - HOUR) == 0
    assert tick(world, 2 * DAY) == 1
    assert world.flows.instance(instance, actor=world.actor("sub")).status == "rejected"
    assert world.get(world.flows.instance(instance, actor=world.actor("sub")).record_id)["flow_status"] == "rejected"


def test_a_time_out_transfers_and_the_new_assignee_gets_the_time_again(world: World) -> None:
    instance = start(world, {"after": "1d", "then": "transfer",
                             "transfer_to": [{"type": "members", "users": ["bob", "ann"]}]})
    assert tick(world, DAY) == 1
    assert world.todo("ann") == []
    bob = world.flows.tasks(world.users["bob"], "todo").items
    assert len(bob) == 1 and utc(bob[0].due_at) == at(2 * DAY)
    assert world.flows.tasks(world.users["ann"], "done").items[0].outcome == "transferred"
    assert actions(world, instance)[-2:] == ["timeout", "transfer"]
    world.act("bob")
    assert world.flows.instance(instance, actor=world.actor("sub")).status == "approved"


def test_a_person_acting_first_leaves_nothing_due(world: World) -> None:
    instance = start(world, {"remind_after": "1h", "after": "1d", "then": "reject"})
    world.act("ann")
    assert tick(world, 2 * DAY) == 0
    assert world.flows.instance(instance, actor=world.actor("sub")).status == "approved"


def test_a_handle_task_without_its_required_field_stays_with_its_assignee(world: World) -> None:
    world.publish({"key": "deal", "nodes": [
        {"key": "fill", "type": "handle", "approvers": [{"type": "members", "users": ["ann"]}],
         "fields": {"received_on": "required"}, "timeout": {"after": "1h", "then": "approve"}}]})
    instance = int(world.submit(world.record()).id)
    assert tick(world, HOUR) == 0
    assert tick(world, 2 * HOUR) == 0  # not tried again each tick
    assert world.flows.instance(instance, actor=world.actor("sub")).status == "running"
    world.act("ann", "complete", values={"received_on": "2026-12-05"})
    assert world.flows.instance(instance, actor=world.actor("sub")).status == "approved"


def test_a_delay_until_a_date_field_at_an_hour(world: World) -> None:
    world.publish({"key": "deal", "nodes": [{"key": "wait", "type": "delay", "until": "starts_on", "at": "09:00"},
                                            approval("manager", "ann")]})
    view = world.submit(world.record(starts_on="2026-12-06"))
    assert view.current == ["wait"]
    assert tick(world, dt.timedelta(days=1, hours=23)) == 0  # 2026-12-06 08:30 local
    assert tick(world, dt.timedelta(days=1, hours=23, minutes=30)) == 1  # 09:00 local
    assert world.flows.instance(view.id, actor=world.actor("sub")).current == ["manager"]


def test_a_delay_by_duration(world: World) -> None:
    world.publish({"key": "deal", "nodes": [{"key": "wait", "type": "delay", "duration": "30m"},
                                            approval("manager", "ann")]})
    world.submit(world.record())
    assert tick(world, dt.timedelta(minutes=29)) == 0
    assert tick(world, dt.timedelta(minutes=30)) == 1
    assert world.todo("ann")


def test_two_workers_do_each_thing_once(world: World) -> None:
    world.publish({"key": "deal", "nodes": [
        {"key": "wait", "type": "delay", "duration": "1h"},
        approval("manager", "ann", timeout={"remind_after": "1h", "after": "1d", "then": "approve"})]})
    instances = [int(world.submit(world.record(title=f"Deal {n}")).id) for n in range(4)]
    other = compose(world.database, clock=world.engine.clock)

    def both(delta: dt.timedelta) -> int:
        moment = at(delta)
        cast(FixedClock, world.engine.clock).set(moment)
        # SQLite writes one transaction at a time: there the workers take turns.
        together = world.database.engine.dialect.name == "postgresql"
        barrier = threading.Barrier(2 if together else 1)
        done: list[int] = []

        def work(flows: Any) -> None:
            barrier.wait()
            done.append(flows.run_due(moment))

        threads = [threading.Thread(target=work, args=(f,)) for f in (world.flows, other.flows)]
        for thread in threads:
            thread.start()
            if not together:
                thread.join()
        for thread in threads:
            thread.join()
        return sum(done)

    assert both(HOUR) == 4  # each delay woken once
    assert both(2 * HOUR) == 4  # each reminder sent once
    assert both(DAY + 2 * HOUR) == 4  # each time-out decided once
    for instance in instances:
        history = actions(world, instance)
        assert history.count("remind") == 1 and history.count("timeout") == 1
        assert world.flows.instance(instance, actor=world.actor("sub")).status == "approved"
    assert titles(world, "ann").count("催办提醒：deal · Deal 0（manager）") == 1


def test_the_worker_runs_the_flows_task(world: World) -> None:
    from engine.notify.settings import NotifySettings
    from runtime.worker import Worker, build_tasks

    world.publish({"key": "deal", "nodes": [{"key": "wait", "type": "delay", "duration": "1h"},
                                            approval("manager", "ann")]})
    view = world.submit(world.record())
    tasks = [t for t in build_tasks(world.engine, NotifySettings.from_env({}), name="w") if t.key == "flows"]
    worker = Worker(world.engine, tasks, name="w")
    assert worker.run_once() == 0
    cast(FixedClock, world.engine.clock).set(at(HOUR))
    assert worker.run_once() == 1
    assert world.flows.instance(view.id, actor=world.actor("sub")).current == ["manager"]
