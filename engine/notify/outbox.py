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
from sqlalchemy.dialects import postgresql, sqlite
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
    now = now.astimezone(dt.UTC)  # SQLite keeps no offset: every moment is stored in UTC
    # Insert-or-nothing in one statement: two transactions enqueuing the same
    # key at once keep one row, and neither fails (the second waits for the
    # first's commit on the unique index, then adds nothing).
    insert = (postgresql.insert(OUTBOX) if conn.dialect.name == "postgresql" else sqlite.insert(OUTBOX)).values(
        channel=channel, recipient=recipient[:500], payload=dict(payload), idempotency_key=key,
        status=PENDING, attempts=0, next_attempt_at=now, created_at=now, app=app,
        rule_run_id=rule_run_id,
    ).on_conflict_do_nothing(index_elements=[OUTBOX.c.idempotency_key]).returning(OUTBOX.c.id)
    added = conn.execute(insert).scalar()
    return None if added is None else int(added)
