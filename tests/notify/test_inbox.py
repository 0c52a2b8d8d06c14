"""A member's notification centre, channel choices and todos, on both databases."""

from __future__ import annotations

import datetime as dt

import pytest

from engine.core.clock import FixedClock
from engine.core.errors import NotFoundError, ValidationError
from engine.notify.inbox import Inbox
from engine.notify.notifier import Notice, Notifier
from engine.notify.todos import Todos, add_todo
from engine.store.database import Database
from tests.notify.conftest import START, People, channel_registry


def notify(database: Database, clock: FixedClock, user_id: int, count: int) -> None:
    with database.transaction() as conn:
        for i in range(count):
            Notifier(clock).send(conn, Notice(key=f"k{i}", title=f"第 {i} 条", text="", users=(user_id,),
                                              app="crm", form="lead", record_id=i, link=f"/a/crm/lead/{i}"))
            clock.advance(dt.timedelta(minutes=1))


def test_notifications_page_newest_first_and_are_read_by_their_owner_only(
        database: Database, clock: FixedClock, people: People) -> None:
    inbox = Inbox(database, clock)
    notify(database, clock, people.zhang, 5)
    notify(database, clock, people.li, 1)
    assert inbox.unread_count(people.zhang) == 5 and inbox.unread_count(people.li) == 1
    first = inbox.notifications(people.zhang, limit=2)
    assert [n.title for n in first] == ["第 4 条", "第 3 条"]
    second = inbox.notifications(people.zhang, limit=2, before=first[-1].id)
    assert [n.title for n in second] == ["第 2 条", "第 1 条"]
    assert first[0].created_at.tzinfo is not None and first[0].created_at > second[0].created_at

    read = inbox.mark_read(people.zhang, first[0].id)
    assert read.read_at == clock.now() and not read.unread
    clock.advance(dt.timedelta(hours=1))
    assert inbox.mark_read(people.zhang, first[0].id).read_at == read.read_at  # the first reading stays
    assert [n.title for n in inbox.notifications(people.zhang, unread_only=True)] == [
        "第 3 条", "第 2 条", "第 1 条", "第 0 条"]
    other = inbox.notifications(people.li)[0]
    with pytest.raises(NotFoundError, match=f"There is no notification {other.id}"):
        inbox.mark_read(people.zhang, other.id)
    with pytest.raises(NotFoundError):
        inbox.get(people.zhang, other.id)
    assert inbox.unread_count(people.li) == 1
    assert inbox.mark_all_read(people.zhang) == 4
    assert inbox.unread_count(people.zhang) == 0 and inbox.unread_count(people.li) == 1


def test_channel_choices(database: Database, clock: FixedClock, people: People) -> None:
    inbox = Inbox(database, clock, channels=channel_registry())
    # Only channels that reach a person are a choice: not robots, not webhooks.
    assert [(c.key, c.enabled, c.chosen) for c in inbox.preferences(people.zhang)] == [
        ("in_app", True, False), ("email", True, False), ("sms", False, False)]
    inbox.set_preferences(people.zhang, {"email": False, "sms": True})
    choices = inbox.set_preferences(people.zhang, {"email": True})
    assert [(c.key, c.enabled, c.chosen) for c in choices] == [
        ("in_app", True, False), ("email", True, True), ("sms", True, True)]
    assert choices[1].as_json() == {"channel": "email", "label": {"zh": "email", "en": "email"},
                                    "enabled": True, "default": False}
    with pytest.raises(ValidationError, match=r"no channel dingtalk to choose \(known: email, in_app, sms\)"):
        inbox.set_preferences(people.zhang, {"sms": False, "dingtalk": True})
    with pytest.raises(ValidationError, match="email must be true or false"):
        inbox.set_preferences(people.zhang, {"email": "yes"})
    assert [c.enabled for c in inbox.preferences(people.zhang)] == [True, True, True]  # all or nothing
    assert [c.enabled for c in inbox.preferences(people.li)] == [True, True, False]


def test_todos_open_overdue_done(database: Database, clock: FixedClock, people: People) -> None:
    todos = Todos(database, clock)
    with database.transaction() as conn:
        renew = add_todo(conn, user_id=people.zhang, title=" 续约：华为 ", now=clock.now(),
                         due_at=START + dt.timedelta(days=2), app="crm", form="contract", record_id=9,
                         source="rule:crm.renewal")
        late = add_todo(conn, user_id=people.zhang, title="回访", now=clock.now(),
                        due_at=START - dt.timedelta(hours=1))
        add_todo(conn, user_id=people.li, title="李娜的", now=clock.now())
    mine = todos.create(people.zhang, "写周报", note="周五前")
    assert mine.source == "user" and mine.due_at is None
    assert [t.title for t in todos.list_todos(people.zhang)] == ["回访", "续约：华为", "写周报"]
    assert [t.title for t in todos.list_todos(people.zhang, "overdue")] == ["回访"]
    assert todos.counts(people.zhang) == (3, 1)
    first = todos.get(people.zhang, renew)
    assert first.link == "/a/crm/contract/9" and first.due_at == START + dt.timedelta(days=2)
    assert first.as_json()["status"] == "open" and todos.get(people.zhang, late).as_json()["status"] == "overdue"

    done = todos.complete(people.zhang, late)
    assert done.done_at == clock.now() and done.as_json()["status"] == "done" and not done.overdue
    clock.advance(dt.timedelta(days=3))  # the renewal is now late too
    assert [t.title for t in todos.list_todos(people.zhang, "overdue")] == ["续约：华为"]
    assert todos.complete(people.zhang, late).done_at == done.done_at
    assert [t.title for t in todos.list_todos(people.zhang, "done")] == ["回访"]
    assert todos.reopen(people.zhang, late).done_at is None
    assert todos.counts(people.zhang) == (3, 2)

    other = todos.list_todos(people.li)[0]
    with pytest.raises(NotFoundError, match=f"There is no todo {other.id}"):
        todos.complete(people.zhang, other.id)
    with pytest.raises(ValidationError, match="status must be one of open, overdue, done"):
        todos.list_todos(people.zhang, "later")
    with pytest.raises(ValidationError, match="A todo needs a title"):
        todos.create(people.zhang, "   ")
    with pytest.raises(ValidationError, match="due_at must carry a time zone"):
        todos.create(people.zhang, "x", due_at=dt.datetime(2026, 12, 5, 9, 0))
    with pytest.raises(ValidationError, match="at most 300"):
        todos.create(people.zhang, "长" * 301)
    assert todos.counts(people.zhang) == (3, 2)
