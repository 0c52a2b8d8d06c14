"""The outbox for administrators: what is waiting, sent or dead, and
retrying a dead (or failing) message now.

``OutboxService`` is what the REST API (``/api/v1/outbox``) and the admin
page (``/admin/outbox``) call; it checks that the caller is an admin, so
neither can allow what it refuses.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from engine.core.clock import Clock
from engine.core.errors import ConflictError, NotFoundError, ValidationError
from engine.core.i18n import Label
from engine.notify.channels import CHANNELS
from engine.notify.outbox import DEAD, OUTBOX, PENDING, SENDING, SENT
from engine.org.model import utc
from engine.org.service import OrgService

STATUSES = (PENDING, SENDING, SENT, DEAD)
MAX_LIMIT = 500


@dataclass(frozen=True)
class OutboxEntry:
    """One outbox message as an admin sees it."""

    id: int
    channel: str
    recipient: str
    status: str
    attempts: int
    next_attempt_at: dt.datetime
    last_error: str | None
    created_at: dt.datetime
    sent_at: dt.datetime | None
    claimed_by: str | None
    app: str | None
    rule_run_id: int | None
    subject: str
    result: dict[str, Any] | None

    @property
    def retryable(self) -> bool:
        """Dead letters, and pending messages that failed at least once."""
        return self.status == DEAD or (self.status == PENDING and self.attempts > 0)

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "channel": self.channel, "recipient": self.recipient, "status": self.status,
                "attempts": self.attempts, "next_attempt_at": self.next_attempt_at.isoformat(),
                "last_error": self.last_error, "created_at": self.created_at.isoformat(),
                "sent_at": self.sent_at.isoformat() if self.sent_at else None, "claimed_by": self.claimed_by,
                "app": self.app, "rule_run_id": self.rule_run_id, "subject": self.subject,
                "result": self.result, "retryable": self.retryable}


def _subject(payload: dict[str, Any]) -> str:
    for key in ("subject", "title", "url", "text"):
        if payload.get(key):
            return str(payload[key])[:200]
    return ""


def _entry(row: Any) -> OutboxEntry:
    return OutboxEntry(
        id=row.id, channel=row.channel, recipient=row.recipient, status=row.status, attempts=row.attempts,
        next_attempt_at=_utc(row.next_attempt_at), last_error=row.last_error, created_at=_utc(row.created_at),
        sent_at=utc(row.sent_at), claimed_by=row.claimed_by, app=row.app, rule_run_id=row.rule_run_id,
        subject=_subject(row.payload or {}), result=row.result)


def _utc(value: dt.datetime) -> dt.datetime:
    moment = utc(value)
    assert moment is not None
    return moment


def _refuse(name: str, zh: str, en: str) -> ValidationError:
    message = Label(f"{name}：{zh}", f"{name}: {en}")
    return ValidationError(message, field_errors={name: [message]})


class OutboxService:
    """Browse and retry the outbox; every call needs an admin ``actor_id``."""

    def __init__(self, org: OrgService, clock: Clock) -> None:
        self.org = org
        self.database = org.database
        self.clock = clock

    def list(self, *, actor_id: int | None, status: str | None = None, channel: str | None = None,
             limit: int = 50, before: int | None = None) -> list[OutboxEntry]:
        """Messages newest first, by status and channel, ``limit`` per page before id ``before``."""
        self.org.ensure_admin(actor_id)
        if status is not None and status not in STATUSES:
            raise _refuse("status", f"应为 {', '.join(STATUSES)} 之一", f"must be one of {', '.join(STATUSES)}")
        if channel is not None and channel not in CHANNELS:
            raise _refuse("channel", f"未知渠道（可用：{', '.join(CHANNELS.keys())}）",
                          f"unknown channel (known: {', '.join(CHANNELS.keys())})")
        if not 1 <= limit <= MAX_LIMIT:
            raise _refuse("limit", f"应为 1 到 {MAX_LIMIT} 的整数", f"must be a whole number from 1 to {MAX_LIMIT}")
        query = sa.select(OUTBOX).order_by(OUTBOX.c.id.desc()).limit(limit)
        if status is not None:
            query = query.where(OUTBOX.c.status == status)
        if channel is not None:
            query = query.where(OUTBOX.c.channel == channel)
        if before is not None:
            query = query.where(OUTBOX.c.id < before)
        with self.database.reading() as conn:
            return [_entry(row) for row in conn.execute(query)]

    def counts(self, *, actor_id: int | None) -> dict[str, int]:
        """How many messages are in each status."""
        self.org.ensure_admin(actor_id)
        with self.database.reading() as conn:
            found: dict[str, int] = {str(s): int(n) for s, n in conn.execute(
                sa.select(OUTBOX.c.status, sa.func.count()).group_by(OUTBOX.c.status))}
        return {status: int(found.get(status, 0)) for status in STATUSES}

    def get(self, message_id: int, *, actor_id: int | None) -> OutboxEntry:
        self.org.ensure_admin(actor_id)
        with self.database.reading() as conn:
            row = conn.execute(sa.select(OUTBOX).where(OUTBOX.c.id == message_id)).first()
        if row is None:
            raise NotFoundError(Label(f"发件箱中没有消息 {message_id}", f"No message {message_id} in the outbox"),
                                details={"id": message_id})
        return _entry(row)

    def retry(self, message_id: int, *, actor_id: int | None) -> OutboxEntry:
        """Make a dead (or failing) message due now: the worker tries it once
        more (a dead letter that fails again is dead again at once)."""
        entry = self.get(message_id, actor_id=actor_id)
        if not entry.retryable:
            raise ConflictError(Label(f"消息 {message_id} 状态为 {entry.status}，无需重试",
                                      f"Message {message_id} is {entry.status}: there is nothing to retry"),
                                details={"id": message_id, "status": entry.status})
        with self.database.transaction() as conn:
            conn.execute(OUTBOX.update().where(OUTBOX.c.id == message_id, OUTBOX.c.status == entry.status)
                         .values(status=PENDING, next_attempt_at=self.clock.now().astimezone(dt.UTC), lease_until=None,
                                 claimed_by=None))
        return self.get(message_id, actor_id=actor_id)


__all__ = ["SENDING", "STATUSES", "OutboxEntry", "OutboxService"]
