"""The audit log over HTTP: who changed what.

- ``GET /apps/{app}/forms/{form}/records/{id}/history``: one record's
  entries, newest first, for whoever may read the record; fields hidden
  from them are left out of every diff, and so are the address and request
  id (an admin sees those);
- ``GET /audit``: every entry, admins only, filtered by ``app``, ``form``,
  ``record_id``, ``user_id``, ``action``, ``since`` and ``until`` (ISO 8601
  moments with a time zone).

Both page by id: ``limit`` (1-500, default 100) and ``before`` (the
``next`` of the previous page).
"""

from __future__ import annotations

from flask import Blueprint, Response, request

from engine.records.record_history import record_history
from engine.store.audit import MAX_LIMIT, AuditFilter, AuditRecord, read_audit
from runtime.api.params import known as _known
from runtime.api.params import moment as _moment
from runtime.api.params import whole as _whole
from runtime.api.records import RECORDS, check_id, form_service
from runtime.auth import actor_for, authenticate_request
from runtime.jsonio import json_response
from runtime.services import current_services

bp = Blueprint("audit", __name__)

AUDIT_PARAMETERS = ("app", "form", "record_id", "user_id", "action", "since", "until", "limit", "before")


def _page(entries: list[AuditRecord], limit: int, *, private: bool) -> Response:
    next_before = entries[-1].id if len(entries) == limit else None
    return json_response({"entries": [e.as_json(private=private) for e in entries], "next": next_before})


@bp.get(f"{RECORDS}/<int:record_id>/history")
def history(app_key: str, form_key: str, record_id: int) -> Response:
    _known(("limit", "before"))
    service, compiled = form_service(app_key, form_key)
    check_id(compiled, record_id)
    actor = actor_for(app_key)
    limit = _whole("limit", high=MAX_LIMIT) or 100
    entries = record_history(service, form_key, record_id, actor=actor, limit=limit, before=_whole("before"))
    return _page(entries, limit, private=authenticate_request().principal.is_admin)


@bp.get("/audit")
def audit_log() -> Response:
    identity = authenticate_request()
    services = current_services()
    services.org.ensure_admin(identity.user_id)
    _known(AUDIT_PARAMETERS)
    where = AuditFilter(
        app=request.args.get("app") or None, form=request.args.get("form") or None,
        record_id=_whole("record_id"), user_id=_whole("user_id"), action=request.args.get("action") or None,
        since=_moment("since"), until=_moment("until"))
    limit = _whole("limit", high=MAX_LIMIT) or 100
    with services.database.reading() as conn:
        entries = read_audit(conn, where, limit=limit, before=_whole("before"))
    return _page(entries, limit, private=True)
