"""The OpenAPI description of the reader's notifications, todos and channel
choices (runtime/api/inbox.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from runtime.api.openapi_forms import ID_SCHEMA, MOMENT, ref

Errors = Callable[..., dict[str, Any]]
NULLABLE_MOMENT = {"type": ["string", "null"], "format": "date-time"}
TEXT_OR_NULL = {"type": ["string", "null"]}
LINK = {"app": TEXT_OR_NULL, "form": TEXT_OR_NULL, "record_id": {"type": ["integer", "null"]},
        "link": {"type": ["string", "null"], "description": "The record's page, a path"},
        "source": {"type": ["string", "null"], "description": "What made it: rule:<app>.<rule>, user"}}

INBOX_SCHEMAS: dict[str, Any] = {
    "Notification": {"type": "object", "required": ["id", "title", "created_at", "read_at"], "properties": {
        "id": ID_SCHEMA, "title": {"type": "string"}, "body": TEXT_OR_NULL, **LINK,
        "created_at": MOMENT, "read_at": NULLABLE_MOMENT}},
    "NotificationPage": {"type": "object", "required": ["notifications", "unread", "next"], "properties": {
        "notifications": {"type": "array", "items": ref("Notification")}, "unread": {"type": "integer"},
        "next": {"type": ["integer", "null"], "description": "Pass as before= for the next page"}}},
    "Todo": {"type": "object", "required": ["id", "title", "status", "due_at", "done_at"], "properties": {
        "id": ID_SCHEMA, "title": {"type": "string"}, "note": TEXT_OR_NULL, "due_at": NULLABLE_MOMENT, **LINK,
        "created_at": MOMENT, "done_at": NULLABLE_MOMENT, "status": {"enum": ["open", "overdue", "done"]}}},
    "TodoPage": {"type": "object", "required": ["todos", "open", "overdue", "next"], "properties": {
        "todos": {"type": "array", "items": ref("Todo")}, "open": {"type": "integer"},
        "overdue": {"type": "integer"},
        "next": {"type": ["integer", "null"], "description": "Pass as offset= for the next page"}}},
    "NewTodo": {"type": "object", "required": ["title"], "additionalProperties": False, "properties": {
        "title": {"type": "string", "minLength": 1, "maxLength": 300},
        "due_at": {"type": ["string", "null"], "format": "date-time"}, "note": TEXT_OR_NULL,
        "app": TEXT_OR_NULL, "form": TEXT_OR_NULL, "record_id": {"type": ["integer", "null"], "minimum": 1}},
        "description": "app, form and record_id link a record the reader can read: all three or none"},
    "ChannelChoices": {"type": "object", "required": ["channels"], "properties": {"channels": {
        "type": "array", "items": {"type": "object", "required": ["channel", "enabled", "default"], "properties": {
            "channel": {"type": "string"}, "label": {"type": "object"}, "enabled": {"type": "boolean"},
            "default": {"type": "boolean", "description": "True: the channel's default, not the user's choice"}}}}}},
}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _query(*names: str, **schemas: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"name": name, "in": "query", "schema": schemas.get(name, {"type": "string"})} for name in names]


def inbox_paths(errors: Errors) -> dict[str, Any]:
    """The paths of /notifications, /todos and /me/notification-preferences."""
    def op(name: str, summary: str, answer: dict[str, Any], *statuses: int, **extra: Any) -> dict[str, Any]:
        return {"operationId": name, "summary": summary, "tags": ["notifications"],
                "responses": {extra.pop("status", "200"): _json(answer, summary), **errors(401, *statuses)}, **extra}

    by_id = [{"name": "id", "in": "path", "required": True, "schema": ID_SCHEMA}]
    page = {"type": "integer", "minimum": 1, "maximum": 200}
    return {
        "/api/v1/notifications": {"get": op(
            "list_notifications", "My notifications, newest first", ref("NotificationPage"), 400,
            parameters=_query("unread", "limit", "before", unread={"enum": ["1", "0"]}, limit=page,
                              before=ID_SCHEMA))},
        "/api/v1/notifications/unread-count": {"get": op(
            "unread_notifications", "How many of my notifications are unread",
            {"type": "object", "required": ["unread"], "properties": {"unread": {"type": "integer"}}})},
        "/api/v1/notifications/{id}/read": {"parameters": by_id, "post": op(
            "read_notification", "Mark one of my notifications read", ref("Notification"), 403, 404)},
        "/api/v1/notifications/read-all": {"post": op(
            "read_all_notifications", "Mark all my notifications read",
            {"type": "object", "required": ["marked"], "properties": {"marked": {"type": "integer"}}}, 403)},
        "/api/v1/todos": {
            "get": op("list_todos", "My todos: open (soonest due first), overdue or done", ref("TodoPage"), 400,
                      parameters=_query("status", "limit", "offset", status={"enum": ["open", "overdue", "done"]},
                                        limit=page, offset={"type": "integer", "minimum": 0})),
            "post": op("create_todo", "Add a todo for myself", ref("Todo"), 400, 403, 404, 413, 415, 422,
                       status="201", requestBody={"required": True, "content": {
                           "application/json": {"schema": ref("NewTodo")}}})},
        "/api/v1/todos/{id}/done": {"parameters": by_id, "post": op(
            "complete_todo", "Complete one of my todos", ref("Todo"), 403, 404)},
        "/api/v1/todos/{id}/reopen": {"parameters": by_id, "post": op(
            "reopen_todo", "Reopen one of my todos", ref("Todo"), 403, 404)},
        "/api/v1/me/notification-preferences": {
            "get": op("notification_preferences", "The channels I receive", ref("ChannelChoices")),
            "put": op("set_notification_preferences", "Choose the channels I receive", ref("ChannelChoices"),
                      400, 403, 413, 415, 422, requestBody={"required": True, "content": {"application/json": {
                          "schema": {"type": "object", "additionalProperties": {"type": "boolean"},
                                     "examples": [{"in_app": True, "email": False}]}}}})},
    }
