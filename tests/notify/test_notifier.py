"""The notifier on both databases: who gets a notice where, by their choices,
in the caller's transaction, never twice."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.core.clock import FixedClock
from engine.core.errors import ValidationError
from engine.notify.inbox import Inbox
from engine.notify.notifier import NOTIFICATIONS, Notice, Notifier
from engine.store.database import Database
from tests.notify.conftest import People, channel_registry, outbox


def notifier(clock: FixedClock) -> Notifier:
    return Notifier(clock, channels=channel_registry(), public_url="https://crm.example.com/")


def test_a_notice_reaches_each_member_on_the_channels_they_accept(
        database: Database, clock: FixedClock, people: People) -> None:
    channels = channel_registry()
    Inbox(database, clock, channels=channels).set_preferences(people.zhang, {"sms": True})
    Inbox(database, clock, channels=channels).set_preferences(people.li, {"in_app": False})
    notice = Notice(key="rule:crm.assign_lead:run:7", title="新线索：<华为>", text="请跟进", html="<p>请跟进</p>",
                    users=(people.zhang, people.li, people.gone, 999_999, people.zhang),
                    channels=("in_app", "email", "sms"), app="crm", form="lead", record_id=42,
                    link="/a/crm/lead/42", source="rule:crm.assign_lead")
    with database.transaction() as conn:
        report = notifier(clock).send(conn, notice, rule_run_id=None)
    assert report.in_app == 1 and report.queued == 2
    assert report.skipped == (
        f"li.na ({people.li}): no email for email",  # she turned in-app off; sms is off by default
        f"gone ({people.gone}): deactivated",
        "user 999999: no such user",
    )
    with database.reading() as conn:
        rows = conn.execute(sa.select(NOTIFICATIONS)).mappings().all()
    assert [(r["user_id"], r["title"], r["link"], r["source"]) for r in rows] == [
        (people.zhang, "新线索：<华为>", "/a/crm/lead/42", "rule:crm.assign_lead")]
    sent = outbox(database)
    assert [(m["channel"], m["recipient"], m["idempotency_key"], m["app"]) for m in sent] == [
        ("email", "zhang.wei@example.com", "rule:crm.assign_lead:run:7:email:zhang.wei@example.com", "crm"),
        ("sms", "13800000001", "rule:crm.assign_lead:run:7:sms:13800000001", "crm"),
    ]
    email, sms = sent[0]["payload"], sent[1]["payload"]
    assert email == {"to": ["zhang.wei@example.com"], "subject": "新线索：<华为>",
                     "text": "请跟进\n\nhttps://crm.example.com/a/crm/lead/42",
                     "html": '<p>请跟进</p>\n<p><a href="https://crm.example.com/a/crm/lead/42">'
                             'https://crm.example.com/a/crm/lead/42</a></p>'}
    assert sms == {"to": "13800000001", "text": "新线索：<华为>\n请跟进 https://crm.example.com/a/crm/lead/42"}

    # The same notice again (a retried run) adds no outbox message.
    with database.transaction() as conn:
        again = notifier(clock).send(conn, notice)
    assert again.queued == 0 and len(outbox(database)) == 2


def test_addresses_and_robots(database: Database, clock: FixedClock, people: People) -> None:
    notice = Notice(key="n1", title="SLA", text="**工单超时**", robots=("service", "service"),
                    addresses=("a@example.com", "+86 138-0000-0002", "not an address", "b@example.com"),
                    channels=("email", "dingtalk"), link="/a/crm/ticket/3")
    with database.transaction() as conn:
        report = notifier(clock).send(conn, notice)
    assert report.in_app == 0 and report.queued == 3
    assert report.skipped == ("+86 138-0000-0002: the notice is not sent by sms",
                              "not an address: neither an e-mail address nor a phone number")
    sent = outbox(database)
    assert [(m["channel"], m["recipient"]) for m in sent] == [
        ("email", "a@example.com"), ("email", "b@example.com"), ("dingtalk", "service")]
    assert sent[2]["payload"] == {"robot": "service", "title": "SLA", "text": "**工单超时**",
                                  "link": "/a/crm/ticket/3"}
    assert sent[0]["next_attempt_at"] is not None and sent[0]["status"] == "pending"


def test_a_robot_channel_without_robots_and_robots_without_a_channel_are_reported(
        database: Database, clock: FixedClock) -> None:
    with database.transaction() as conn:
        one = notifier(clock).send(conn, Notice(key="n2", title="t", text="", channels=("dingtalk",)))
        two = notifier(clock).send(conn, Notice(key="n3", title="t", text="", robots=("ops",)))
    assert one.skipped == ("dingtalk: no robot named",)
    assert two.skipped == ("robots ops: no robot channel asked (dingtalk, wecom, feishu)",)
    assert outbox(database) == []


def test_a_failed_transaction_leaves_nothing_and_an_unknown_channel_is_refused(
        database: Database, clock: FixedClock, people: People) -> None:
    notice = Notice(key="n4", title="t", text="x", users=(people.zhang,), channels=("in_app", "email"))
    with pytest.raises(RuntimeError), database.transaction() as conn:
        notifier(clock).send(conn, notice)
        raise RuntimeError("the rule run fails after notifying")
    assert outbox(database) == [] and Inbox(database, clock).unread_count(people.zhang) == 0
    with pytest.raises(ValidationError, match=r"no channel emial \(known: in_app, email, sms, dingtalk, webhook"), \
            database.transaction() as conn:
        notifier(clock).send(conn, Notice(key="n5", title="t", text="x", channels=("emial",)))


def test_post_writes_the_in_app_rows_send_would_in_one_statement(
        database: Database, clock: FixedClock, people: People) -> None:
    channels = channel_registry()
    wang = people.org.create_user("wang.fang", "王芳").id
    Inbox(database, clock, channels=channels).set_preferences(people.li, {"in_app": False})
    Inbox(database, clock, channels=channels).set_preferences(wang, {"in_app": True})
    notices = [Notice(key=f"flow-task:{n}", title=f"待审批 {n}", text=f"正文 {n}", app="crm", form="contract",
                      record_id=n, link=f"/inbox/{n}", source="flow",
                      users=(people.zhang, people.li, people.gone, 999_999, wang, people.zhang))
               for n in (1, 2)]
    columns = [c for c in NOTIFICATIONS.c if c.key != "id"]

    def written(write: Callable[[Connection], object]) -> tuple[list[tuple[Any, ...]], list[str]]:
        """The rows ``write`` leaves (then removed) and the statements it ran."""
        statements: list[str] = []

        def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            statements.append(statement)

        sa.event.listen(database.engine, "before_cursor_execute", count)
        try:
            with database.transaction() as conn:
                write(conn)
        finally:
            sa.event.remove(database.engine, "before_cursor_execute", count)
        with database.transaction() as conn:
            rows = [tuple(r) for r in conn.execute(sa.select(*columns).order_by(NOTIFICATIONS.c.id))]
            conn.execute(NOTIFICATIONS.delete())
        return rows, [s for s in statements if s.startswith(("INSERT", "SELECT users"))]

    posted, by_post = written(lambda conn: notifier(clock).post(conn, notices))
    sent, by_send = written(lambda conn: [notifier(clock).send(conn, n) for n in notices])
    assert posted == sent and [r[0] for r in posted] == [people.zhang, wang] * 2
    assert len(by_post) == 1 and len(by_send) == 4  # each send reads the accounts, then inserts
    with pytest.raises(ValueError, match="in-app notices to members only"), database.transaction() as conn:
        notifier(clock).post(conn, [Notice(key="n", title="t", text="", users=(wang,), channels=("email",))])
