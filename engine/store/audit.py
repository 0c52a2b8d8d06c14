"""Reading the audit log: who changed what, when, through what, from where.

Every write of a record and every change to the organization leaves an
entry in ``audit_log`` (``engine.records`` and ``engine.org`` write them).
``read_audit`` reads entries back, newest first, filtered and paged by id:
what the admin-wide listing (API and ``qiqiao audit list``) shows, and what
``engine.records.record_history`` narrows to one record for someone who may
read it. Deciding who may see which entries is the callers' job.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.store.models import AuditEntry, User

AUDIT = cast(sa.Table, AuditEntry.__table__)
USERS = cast(sa.Table, User.__table__)
MAX_LIMIT = 500


@dataclass(frozen=True)
class AuditFilter:
    """Which entries: each given criterion must hold (None: any)."""

    app: str | None = None
    form: str | None = None
    record_id: int | None = None
    user_id: int | None = None
    action: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None


@dataclass(frozen=True)
class AuditRecord:
    """One audit entry as read back (``at`` an aware UTC moment)."""

    id: int
    at: dt.datetime
    user_id: int | None
    user_name: str | None
    app: str
    form: str
    record_id: int | None
    action: str
    changes: dict[str, Any] | None = field(default=None)
    source: str | None = None
    request_id: str | None = None
    ip: str | None = None
    rule: str | None = None  # the rule whose action wrote, "<app>.<rule>"

    def as_json(self, *, private: bool = True) -> dict[str, Any]:
        """The entry as the API and CLI show it; ``private=False`` leaves out
        the address and request id (for readers who are not admins)."""
        body: dict[str, Any] = {
            "id": self.id, "at": self.at, "user_id": self.user_id, "user_name": self.user_name,
            "app": self.app, "form": self.form, "record_id": self.record_id, "action": self.action,
            "changes": self.changes, "source": self.source, "rule": self.rule,
        }
        if private:
            body.update(request_id=self.request_id, ip=self.ip)
        return body


def _utc(moment: dt.datetime) -> dt.datetime:
    # SQLite reads timestamps back without their offset; they are written in UTC.
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


def read_audit(
    conn: Connection, where: AuditFilter, *, limit: int = 100, before: int | None = None,
) -> list[AuditRecord]:
    """Entries matching ``where``, newest first, at most ``limit`` (capped at
    ``MAX_LIMIT``), those with an id below ``before`` when it is given (the
    next page starts before the last id of this one)."""
    query = (sa.select(AUDIT, USERS.c.name.label("user_name"))
             .outerjoin(USERS, USERS.c.id == AUDIT.c.user_id)
             .order_by(AUDIT.c.id.desc()).limit(max(1, min(limit, MAX_LIMIT))))
    for column, value in (("app", where.app), ("form", where.form), ("record_id", where.record_id),
                          ("user_id", where.user_id), ("action", where.action)):
        if value is not None:
            query = query.where(AUDIT.c[column] == value)
    if where.since is not None:
        query = query.where(AUDIT.c.at >= where.since.astimezone(dt.UTC))
    if where.until is not None:
        query = query.where(AUDIT.c.at < where.until.astimezone(dt.UTC))
    if before is not None:
        query = query.where(AUDIT.c.id < before)
    return [AuditRecord(
        id=int(row["id"]), at=_utc(row["at"]), user_id=row["user_id"], user_name=row["user_name"],
        app=row["app"], form=row["form"], record_id=row["record_id"], action=row["action"],
        changes=dict(row["changes"]) if isinstance(row["changes"], dict) else row["changes"],
        source=row["source"], request_id=row["request_id"], ip=row["ip"], rule=row["rule"],
    ) for row in conn.execute(query).mappings()]
