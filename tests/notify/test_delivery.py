"""Delivering the outbox on SQLite and PostgreSQL: claims, leases,
backoff, dead letters, the admin's retry, webhook replies — with a fixed
clock, never sleeping."""

from __future__ import annotations

import datetime as dt
import random
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from engine.core.clock import FixedClock
from engine.core.errors import ConflictError, PermissionDenied, ValidationError
from engine.core.i18n import label
from engine.definitions.model import AppDef, FormDef
from engine.fields import FIELD_TYPES
from engine.notify.admin import OutboxService
from engine.notify.delivery import BACKOFF_SECONDS, Deliverer
from engine.notify.outbox import DEAD, OUTBOX, PENDING, SENDING, SENT, enqueue
from engine.notify.settings import NotifySettings
from engine.notify.webhook import reply_writer
from engine.org.model import utc
from engine.org.service import OrgService
from engine.records import RecordService
from engine.store.database import Database
from engine.store.tables import create_form_tables
from tests.notify.sinks import HttpSink, SmtpSink, http_sink, smtp_sink

START = dt.datetime(2026, 12, 1, 9, 0)


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpSink]:
    with smtp_sink() as sink:
        yield sink


@pytest.fixture(scope="module")
def http() -> Iterator[HttpSink]:
    with http_sink() as sink:
        yield sink


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


def deliverer(database: Database, clock: FixedClock, smtp: SmtpSink | None = None, name: str = "w1",
              **options: Any) -> Deliverer:
    environ = {"QIQIAO_SMTP_URL": smtp.url if smtp else "smtp://127.0.0.1:1", "QIQIAO_HTTP_TIMEOUT": "1"}
    return Deliverer(database, clock, NotifySettings.from_env(environ), name=name, rng=random.Random(3), **options)


def mail(database: Database, clock: FixedClock, key: str, to: str = "li@example.com") -> int | None:
    with database.transaction() as conn:
        return enqueue(conn, channel="email", recipient=to, key=key, now=clock.now(),
                       payload={"to": [to], "subject": f"S {key}", "text": "body", "html": None})


class Row:
    """An outbox row with its moments as aware UTC (SQLite reads them back naive)."""

    def __init__(self, found: Any) -> None:
        self.__dict__.update({k: utc(v) if isinstance(v, dt.datetime) else v for k, v in found._mapping.items()})


def row(database: Database, message_id: int) -> Any:
    with database.reading() as conn:
        return Row(conn.execute(sa.select(OUTBOX).where(OUTBOX.c.id == message_id)).one())


def test_enqueue_is_idempotent_by_key(database: Database, clock: FixedClock) -> None:
    first = mail(database, clock, "k1")
    assert first is not None
    assert mail(database, clock, "k1") is None
    with database.reading() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(OUTBOX)).scalar_one() == 1


def test_two_transactions_enqueuing_one_key_keep_one(database: Database, clock: FixedClock) -> None:
    results: list[int | None] = []
    barrier = threading.Barrier(2)

    def add() -> None:
        barrier.wait()
        results.append(mail(database, clock, "same"))

    threads = [threading.Thread(target=add) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r is None for r in results) == [False, True]  # one added, one found it there


def test_a_due_message_is_sent_and_recorded(database: Database, clock: FixedClock, smtp: SmtpSink) -> None:
    smtp.clear()
    message_id = mail(database, clock, "sent:1")
    assert message_id is not None
    assert deliverer(database, clock, smtp).run() == 1
    smtp.wait_for(1)
    sent = row(database, message_id)
    assert (sent.status, sent.attempts, sent.sent_at, sent.lease_until) == (SENT, 1, clock.now(), None)
    assert sent.result["message_id"].endswith("@qiqiao>")
    assert deliverer(database, clock, smtp).run() == 0  # nothing due any more


def test_failures_back_off_then_end_as_dead_letters(database: Database, clock: FixedClock) -> None:
    message_id = mail(database, clock, "down:1")
    assert message_id is not None
    worker = deliverer(database, clock, max_attempts=4)  # port 1: the connection is refused
    waits = []
    for attempt in range(1, 4):
        assert worker.run() == 1
        failed = row(database, message_id)
        assert (failed.status, failed.attempts) == (PENDING, attempt)
        assert "127.0.0.1:1" in failed.last_error
        wait = (failed.next_attempt_at - clock.now()).total_seconds()
        waits.append(wait)
        assert 0.8 * BACKOFF_SECONDS[attempt - 1] <= wait <= 1.2 * BACKOFF_SECONDS[attempt - 1]
        assert worker.run() == 0  # not due before its time
        clock.advance(dt.timedelta(seconds=wait))
    assert waits == sorted(waits)
    assert worker.run() == 1
    dead = row(database, message_id)
    assert (dead.status, dead.attempts) == (DEAD, 4)


def test_a_non_retryable_failure_is_dead_at_once(database: Database, clock: FixedClock, smtp: SmtpSink) -> None:
    message_id = mail(database, clock, "bad:1", to="not-an-address")
    assert message_id is not None
    deliverer(database, clock, smtp).run()
    dead = row(database, message_id)
    assert (dead.status, dead.attempts) == (DEAD, 1)
    assert "not-an-address" in dead.last_error


def test_an_expired_lease_is_claimed_again_and_the_old_claim_cannot_record(
        database: Database, clock: FixedClock, smtp: SmtpSink) -> None:
    smtp.clear()
    message_id = mail(database, clock, "lease:1")
    first = deliverer(database, clock, smtp, name="first", lease_seconds=60)
    claimed = first.claim(clock.now())  # and then the first worker hangs
    assert [d.id for d in claimed] == [message_id]
    second = deliverer(database, clock, smtp, name="second", lease_seconds=60)
    assert second.claim(clock.now()) == []  # leased: not before it runs out
    clock.advance(dt.timedelta(seconds=61))
    assert second.run() == 1
    smtp.wait_for(1)
    first.deliver(claimed)  # the first wakes up: it sends, but the row is the second's
    sent = row(database, message_id)
    assert (sent.status, sent.claimed_by, sent.attempts) == (SENT, "second", 2)
    smtp.wait_for(2)
    assert smtp.counts() == {"lease:1": 2}  # the repeat carries the same key: the receiver drops it


def test_admin_lists_and_retries_dead_letters(database: Database, clock: FixedClock, smtp: SmtpSink) -> None:
    org = OrgService(database, clock)
    admin = org.create_user("boss", "Boss", is_admin=True)
    member = org.create_user("li", "Li")
    service = OutboxService(org, clock)
    dead_id = mail(database, clock, "retry:1", to="a@invalid")
    deliverer(database, clock, name="w").run()  # refused connection: retried later
    assert dead_id is not None
    entry = service.get(dead_id, actor_id=admin.id)
    assert entry.retryable and entry.status == PENDING and entry.attempts == 1
    with database.transaction() as conn:
        conn.execute(OUTBOX.update().where(OUTBOX.c.id == dead_id).values(status=DEAD))
    assert [e.id for e in service.list(actor_id=admin.id, status=DEAD)] == [dead_id]
    assert service.list(actor_id=admin.id, status=SENT) == []
    assert service.list(actor_id=admin.id, channel="sms") == []
    assert service.counts(actor_id=admin.id) == {PENDING: 0, SENDING: 0, SENT: 0, DEAD: 1}
    with pytest.raises(PermissionDenied):
        service.retry(dead_id, actor_id=member.id)
    with pytest.raises(ValidationError):
        service.list(actor_id=admin.id, status="lost")
    clock.advance(dt.timedelta(hours=5))
    retried = service.retry(dead_id, actor_id=admin.id)
    assert (retried.status, retried.next_attempt_at) == (PENDING, clock.now())
    deliverer(database, clock, smtp).run()
    assert service.get(dead_id, actor_id=admin.id).status == SENT
    with pytest.raises(ConflictError):
        service.retry(dead_id, actor_id=admin.id)


TASK: dict[str, Any] = {"key": "lead", "label": "Lead", "title_field": "name", "fields": [
    {"key": "name", "type": "text", "label": "Name", "required": True},
    {"key": "score", "type": "number", "label": "Score", "precision": 2},
    {"key": "ref", "type": "text", "label": "Ref"}]}


def test_a_webhook_reply_is_written_to_the_record(database: Database, clock: FixedClock, http: HttpSink) -> None:
    app = AppDef(key="crm", label=label("CRM"), forms=(FormDef.from_dict(TASK, app="crm"),))
    create_form_tables(database, app, FIELD_TYPES)
    service = RecordService(database, app, field_types=FIELD_TYPES, clock=clock)
    lead = service.create("lead", {"name": "张三"})
    http.answers["/score"] = (200, {"result": {"score": 87.5, "ids": ["R-1"]}})
    with database.transaction() as conn:
        message_id = enqueue(conn, channel="webhook", recipient=http.url("/score"), key="hook:1", now=clock.now(),
                             payload={"method": "POST", "url": http.url("/score"), "headers": {},
                                      "body": {"name": "张三"}, "reply": {
                                          "app": "crm", "form": "lead", "record_id": lead["id"], "rule": "score",
                                          "fields": {"score": "result.score", "ref": "result.ids.0"}}})
    assert message_id is not None
    deliverer(database, clock, write_reply=reply_writer(lambda app_key: service)).run()
    sent = row(database, message_id)
    assert sent.status == SENT and sent.result["body"]["result"]["score"] == 87.5
    after = service.get("lead", lead["id"])
    assert (float(after["score"]), after["ref"]) == (87.5, "R-1")
    # An answer the record refuses: the call still counts as sent, the reason is kept.
    http.answers["/score"] = (200, {"result": {"score": "lots"}})
    with database.transaction() as conn:
        again = enqueue(conn, channel="webhook", recipient=http.url("/score"), key="hook:2", now=clock.now(),
                        payload={"method": "POST", "url": http.url("/score"), "headers": {}, "body": None,
                                 "reply": {"app": "crm", "form": "lead", "record_id": lead["id"],
                                           "fields": {"score": "result.score"}}})
    assert again is not None
    deliverer(database, clock, write_reply=reply_writer(lambda app_key: service)).run()
    refused = row(database, again)
    assert refused.status == SENT and "reply_error" in refused.result


def test_what_is_left_when_the_lease_runs_short_goes_back_unsent(
        database: Database, clock: FixedClock, http: HttpSink) -> None:
    http.answers["/slow-hook"] = (200, {"ok": True})
    ids = []
    with database.transaction() as conn:
        for n in range(3):
            ids.append(enqueue(conn, channel="webhook", recipient=http.url("/slow-hook"), key=f"slow:{n}",
                               now=clock.now(), payload={"method": "POST", "url": http.url("/slow-hook"),
                                                         "headers": {}, "body": {"n": n}}))
    # Real seconds as the deliverer reads them: the batch starts, its first
    # message goes at once, then a second has passed (more than the lease's 0.4 s share).
    elapsed = iter([0.0, 0.0, *[1.0] * 10])
    worker = deliverer(database, clock, name="slow", lease_seconds=0.5, monotonic=lambda: next(elapsed))
    assert len(worker.claim(clock.now())) == 3
    worker.deliver(worker.claim(clock.now() + dt.timedelta(seconds=1)))  # the lease ran out: claimed again
    first, *rest = (row(database, message_id) for message_id in ids)
    assert (first.status, first.attempts) == (SENT, 2)
    assert [(r.status, r.attempts, r.claimed_by) for r in rest] == [(PENDING, 1, None), (PENDING, 1, None)]
