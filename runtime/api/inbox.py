"""The reader's notifications, todos and channel choices over HTTP.

- ``GET /notifications`` (``unread=1``, ``limit`` 1-200, ``before``): newest
  first, with the unread count and ``next`` (pass it as ``before``);
  ``GET /notifications/unread-count``; ``POST /notifications/{id}/read``;
  ``POST /notifications/read-all``;
- ``GET /todos`` (``status=open|overdue|done``, ``limit``, ``offset``), with
  the open and overdue counts; ``POST /todos`` ``{"title", "due_at"?, "note"?,
  "app"?, "form"?, "record_id"?}`` adds one for oneself (a linked record must
  be one the reader can read); ``POST /todos/{id}/done`` and ``/reopen``;
- ``GET | PUT /me/notification-preferences``: ``{"<channel>": true|false}``.

Only one's own: another user's notification or todo is 404.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, Response, request

from engine.core.errors import ValidationError
from engine.core.i18n import Label
from engine.notify.inbox import Inbox
from engine.notify.todos import STATUSES, Todos
from runtime.api.params import known, refuse, whole
from runtime.api.records import check_id, form_service
from runtime.auth import actor_for, authenticate_request
from runtime.jsonio import json_body, json_response
from runtime.services import current_services

bp = Blueprint("inbox", __name__)

TODO_FIELDS = ("title", "due_at", "note", "app", "form", "record_id")


def inbox() -> Inbox:
    services = current_services()
    return Inbox(services.database, services.clock)


def todos() -> Todos:
    services = current_services()
    return Todos(services.database, services.clock)


@bp.get("/notifications")
def list_notifications() -> Response:
    me = authenticate_request().user_id
    known(("unread", "limit", "before"))
    unread = _flag("unread")
    limit = whole("limit", high=200) or 50
    found = inbox().notifications(me, unread_only=unread, limit=limit, before=whole("before"))
    return json_response({"notifications": [n.as_json() for n in found], "unread": inbox().unread_count(me),
                          "next": found[-1].id if len(found) == limit else None})


@bp.get("/notifications/unread-count")
def unread_count() -> Response:
    known(())
    return json_response({"unread": inbox().unread_count(authenticate_request().user_id)})


@bp.post("/notifications/<int:notification_id>/read")
def read_notification(notification_id: int) -> Response:
    return json_response(inbox().mark_read(authenticate_request().user_id, notification_id).as_json())


@bp.post("/notifications/read-all")
def read_all() -> Response:
    return json_response({"marked": inbox().mark_all_read(authenticate_request().user_id)})


@bp.get("/todos")
def list_todos() -> Response:
    me = authenticate_request().user_id
    known(("status", "limit", "offset"))
    status = _status()
    limit = whole("limit", high=200) or 100
    offset = whole("offset", low=0) or 0
    found = todos().list_todos(me, status, limit=limit, offset=offset)
    open_count, overdue = todos().counts(me)
    return json_response({"todos": [t.as_json() for t in found], "open": open_count, "overdue": overdue,
                          "next": offset + limit if len(found) == limit else None})


@bp.post("/todos")
def create_todo() -> Response:
    me = authenticate_request().user_id
    body = json_body()
    extra = sorted(set(body) - set(TODO_FIELDS))
    if extra:
        raise _invalid(extra[0], f"未知字段（可用：{', '.join(TODO_FIELDS)}）",
                       f"unknown field (known: {', '.join(TODO_FIELDS)})")
    title, note, app, form = (_text(body, key) for key in ("title", "note", "app", "form"))
    record_id = body.get("record_id")
    if record_id is not None and (isinstance(record_id, bool) or not isinstance(record_id, int) or record_id < 1):
        raise _invalid("record_id", "应为正整数", "must be a positive whole number")
    if (app, form, record_id).count(None) not in (0, 3):
        raise _invalid("record_id", "app、form 和 record_id 须一起给出", "app, form and record_id go together")
    if app is not None and form is not None and record_id is not None:
        service, compiled = form_service(app, form)
        check_id(compiled, record_id)
        service.get(form, record_id, actor=actor_for(app))  # a record the reader cannot read is not found
    todo = todos().create(me, title or "", due_at=_moment(body.get("due_at")), note=note, app=app, form=form,
                          record_id=record_id)
    return json_response(todo.as_json(), 201)


@bp.post("/todos/<int:todo_id>/done")
def complete_todo(todo_id: int) -> Response:
    return json_response(todos().complete(authenticate_request().user_id, todo_id).as_json())


@bp.post("/todos/<int:todo_id>/reopen")
def reopen_todo(todo_id: int) -> Response:
    return json_response(todos().reopen(authenticate_request().user_id, todo_id).as_json())


@bp.get("/me/notification-preferences")
def get_preferences() -> Response:
    choices = inbox().preferences(authenticate_request().user_id)
    return json_response({"channels": [c.as_json() for c in choices]})


@bp.put("/me/notification-preferences")
def put_preferences() -> Response:
    me = authenticate_request().user_id
    choices = inbox().set_preferences(me, json_body())
    return json_response({"channels": [c.as_json() for c in choices]})


def _flag(name: str) -> bool:
    raw = request.args.get(name, "")
    if raw.lower() not in ("", "0", "1", "true", "false"):
        raise refuse(name, "应为 1 或 0", "must be 1 or 0")
    return raw.lower() in ("1", "true")


def _status() -> str:
    status = request.args.get("status") or "open"
    if status not in STATUSES:
        raise refuse("status", f"应为 {' / '.join(STATUSES)}", f"must be one of {', '.join(STATUSES)}")
    return status


def _invalid(name: str, zh: str, en: str) -> ValidationError:
    message = Label(f"{name}：{zh}", f"{name}: {en}")
    return ValidationError(message, field_errors={name: [message]})


def _text(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise _invalid(key, "应为文本", "must be text")
    return value


def _moment(value: Any) -> dt.datetime | None:
    if value is None:
        return None
    try:
        found = dt.datetime.fromisoformat(value.replace("Z", "+00:00")) if isinstance(value, str) else None
    except ValueError:
        found = None
    if found is None or found.tzinfo is None:
        raise _invalid("due_at", "应为带时区的 ISO 8601 时间，如 2026-12-05T09:00:00+08:00",
                       "must be an ISO 8601 moment with a time zone, like 2026-12-05T09:00:00+08:00")
    return found
