"""The outbox: what leaves the process is written in the transaction of what
caused it, and sent after commit by the worker.

``enqueue`` is the one way in. It is idempotent by key: enqueuing a message
whose ``idempotency_key`` is already in the outbox adds nothing (a retried
rule run does not mail twice), and the key goes with the delivery so a
receiver can drop a repeat.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.store.models import OutboxMessage

OUTBOX = cast(sa.Table, OutboxMessage.__table__)

PENDING = "pending"
SENDING = "sending"
SENT = "sent"
DEAD = "dead"


def enqueue(conn: Connection, *, channel: str, recipient: str, payload: Mapping[str, Any],
            key: str, now: dt.datetime, app: str | None = None,
            rule_run_id: int | None = None) -> int | None:
    """Put a message for ``channel`` on the outbox, due now, in ``conn``'s
    transaction. Returns its id, or None when a message with ``key`` is
    already there (nothing is added)."""
    exists = conn.execute(sa.select(OUTBOX.c.id).where(OUTBOX.c.idempotency_key == key)).first()
    if exists is not None:
        return None
    return int(conn.execute(OUTBOX.insert().values(
        channel=channel, recipient=recipient[:500], payload=dict(payload), idempotency_key=key,
        status=PENDING, attempts=0, next_attempt_at=now, created_at=now, app=app,
        rule_run_id=rule_run_id,
    ).returning(OUTBOX.c.id)).scalar_one())
