"""A record's history from the audit log, for someone who may read the record.

The check is the record's own: whoever ``RecordService.get`` refuses (no
read right, outside their data scope, a record that does not exist — all
404 alike) gets no history either. What they may see of each entry is what
they may see of the record: an entry's diff keeps only the fields the
record, as read by them, shows; a field hidden from them never appears, not
even as "changed".
"""

from __future__ import annotations

import dataclasses

from engine.records.service import SYSTEM, Actor, RecordService
from engine.store.audit import AuditFilter, AuditRecord, read_audit


def record_history(
    service: RecordService, form_key: str, record_id: int, *, actor: Actor = SYSTEM,
    limit: int = 100, before: int | None = None,
) -> list[AuditRecord]:
    """The audit entries of one record, newest first (paged like ``read_audit``)."""
    policy = actor.policy(service, form_key)
    with service.reading() as conn:
        record = service.get(form_key, record_id, actor=actor, connection=conn)
        where = AuditFilter(app=service.app.key, form=form_key, record_id=record_id)
        entries = read_audit(conn, where, limit=limit, before=before)
    if policy.unrestricted:
        return entries
    shown = set(record)
    return [dataclasses.replace(entry, changes={k: v for k, v in (entry.changes or {}).items() if k in shown})
            for entry in entries]
