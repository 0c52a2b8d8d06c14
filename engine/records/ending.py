"""The end of every write, in one place: audit, event, rollups of others.

``create``, ``create_many``, ``update``, ``delete`` and ``recompute`` all end
here, so the audit log and the rule and flow engines see one shape whatever
the channel:

- the audit entry holds the field-level diff of the *full* record (fields the
  actor may not see included: the log is for administrators), one entry per
  record, a batch too;
- the event carries the full record (every field and system column,
  ``flow_status`` included, never storage columns), the previous one, the
  actor and the cascade depth;
- then the rollups of the records this one counts towards are recomputed,
  one level deeper.

A recompute is not a person's edit: it is audited as ``recompute`` by the
system (no user), and it leaves the record's ``version``, ``updated_by`` and
``updated_at`` alone, so whoever is editing the record gets no 409 for a
change they did not make and cannot see (see docs/records.md).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.records.compiled import CompiledForm
from engine.records.data_versions import mark_changed
from engine.records.events import RECORD_CREATED, RECORD_DELETED, RECORD_UPDATED, RecordEvent
from engine.records.prepare import blank
from engine.records.values import jsonable, same
from engine.store.driver import DriverStatement
from engine.store.models import AuditEntry

if TYPE_CHECKING:
    from engine.records.actor import Actor
    from engine.records.service import RecordService

Record = dict[str, Any]
_AUDIT = cast(sa.Table, AuditEntry.__table__)
# Statement objects are reused: SQLAlchemy memoizes a statement's cache key on
# the object, so a reused one skips that work on every execution. Many rows at
# once go through Core (one multi-row INSERT).
AUDIT_INSERT_MANY = _AUDIT.insert()
# One row, on every write's path: to the driver as SQL text (engine.store.driver), every column given (audit_row).
AUDIT_INSERT = DriverStatement(_AUDIT.insert(), ["at", "user_id", "app", "form", "record_id", "action", "changes",
                                                 "source", "request_id", "ip", "rule"])

KINDS = {"create": RECORD_CREATED, "update": RECORD_UPDATED, "recompute": RECORD_UPDATED,
         "delete": RECORD_DELETED}


def changed_fields(compiled: CompiledForm, before: Mapping[str, Any] | None,
                   after: Mapping[str, Any] | None) -> set[str]:
    """The stored fields whose value differs (every non-blank one on create or delete)."""
    keys = set()
    for f in compiled.form.fields:
        if not compiled.types[f.key].stored:
            continue
        old = before.get(f.key) if before is not None else None
        new = after.get(f.key) if after is not None else None
        if (before is None and not blank(new)) or (after is None and not blank(old)) or (
                before is not None and after is not None and not same(old, new)):
            keys.add(f.key)
    return keys


def diff(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None,
         keys: set[str] | frozenset[str]) -> dict[str, Any]:
    """``{field: [before, after]}`` in JSON terms, for the audit log."""
    return {
        k: [jsonable(before.get(k)) if before is not None else None,
            jsonable(after.get(k)) if after is not None else None]
        for k in sorted(keys)
    }


def audit_row(service: RecordService, form: str, record_id: int | None, action: str,
              actor: Actor, changes: dict[str, Any], at: dt.datetime | None = None) -> dict[str, Any]:
    """One audit entry. A recompute is the system's doing (no user); the
    request stays, so the entry can be traced to the write that caused it.
    Every entry is stamped in UTC."""
    return {
        "at": at or service.clock.now().astimezone(dt.UTC), "app": service.app.key, "form": form,
        "record_id": record_id, "action": action, "changes": changes,
        "user_id": None if action == "recompute" else actor.user_id,
        "source": "recompute" if action == "recompute" else actor.source,
        "request_id": actor.request_id, "ip": actor.ip, "rule": actor.rule,
    }


def finish(
    service: RecordService, conn: Connection, compiled: CompiledForm, action: str, actor: Actor,
    record: Record, previous: Record | None, changed: set[str] | frozenset[str],
) -> None:
    """Audit, publish and cascade one written record (``record`` is the
    previous one on delete). Everything runs in the write's transaction."""
    after = None if action == "delete" else record
    AUDIT_INSERT.execute(conn, audit_row(service, compiled.form.key, int(record["id"]), action,
                                          actor, diff(previous, after, changed)))
    mark_changed(conn, service.app.key, compiled.form.key)
    _publish(service, conn, compiled, KINDS[action], actor, record, previous, changed)
    service.refresh_dependents(conn, compiled.form, [r for r in (previous, after) if r is not None],
                               actor)


def finish_batch(
    service: RecordService, conn: Connection, compiled: CompiledForm, actor: Actor,
    records: Sequence[Record],
) -> None:
    """``finish`` for records created together: one audit entry per record,
    written with one statement, one event each, each parent's rollups once."""
    # As ``changed_fields(compiled, None, record)``, without its per-field
    # comparisons: a batch may be an import of many thousand rows.
    stored = [f.key for f in compiled.form.fields if compiled.types[f.key].stored]
    at = service.clock.now().astimezone(dt.UTC)
    changes = []
    entries = []
    for record in records:
        values = {k: v for k in stored if not blank(v := record.get(k))}
        changes.append(frozenset(values))
        entries.append(audit_row(service, compiled.form.key, int(record["id"]), "create", actor,
                                 {k: [None, jsonable(v)] for k, v in sorted(values.items())}, at))
    conn.execute(AUDIT_INSERT_MANY, entries)
    mark_changed(conn, service.app.key, compiled.form.key)
    for record, keys in zip(records, changes, strict=True):
        _publish(service, conn, compiled, RECORD_CREATED, actor, record, None, keys)
    service.refresh_dependents(conn, compiled.form, records, actor)


def _publish(
    service: RecordService, conn: Connection, compiled: CompiledForm, kind: str, actor: Actor,
    record: Record, previous: Record | None, changed: set[str] | frozenset[str],
) -> None:
    if not service.bus:
        return
    service.bus.publish(RecordEvent(
        kind=kind, app=service.app.key, form=compiled.form.key, record_id=int(record["id"]),
        changed=frozenset(changed), record=record, previous=previous,
        user_id=actor.user_id, source=actor.source, connection=conn, actor=actor,
        depth=actor.depth,
    ))
