"""The outbox over HTTP, for admins: what waits, what was sent, the dead
letters, and retrying one now (docs/rules.md "Outbox and worker").

- ``GET /outbox``: messages newest first, by ``status`` (pending, sending,
  sent, dead) and ``channel``; ``limit`` (1-500, default 50) and ``before``
  (the ``next`` of the previous page); with the count of each status;
- ``GET /outbox/{id}``: one message, with the receiver's answer;
- ``POST /outbox/{id}/retry``: a dead (or failing) message is due now.

Everything goes through ``OutboxService``, which refuses anyone but an admin.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, request

from engine.notify.admin import MAX_LIMIT, STATUSES, OutboxService
from engine.notify.channels import CHANNELS
from runtime.api.audit import _known, _whole
from runtime.api.openapi_forms import ID_SCHEMA, MOMENT, ref
from runtime.auth import authenticate_request
from runtime.jsonio import json_response
from runtime.services import current_services

bp = Blueprint("outbox", __name__)
PARAMETERS = ("status", "channel", "limit", "before")


def outbox_service() -> OutboxService:
    services = current_services()
    return OutboxService(services.org, services.clock)


@bp.get("/outbox")
def list_outbox() -> Response:
    actor_id = authenticate_request().user_id
    _known(PARAMETERS)
    service = outbox_service()
    limit = _whole("limit", high=MAX_LIMIT) or 50
    entries = service.list(actor_id=actor_id, status=request.args.get("status") or None,
                           channel=request.args.get("channel") or None, limit=limit, before=_whole("before"))
    return json_response({"messages": [e.as_json() for e in entries], "counts": service.counts(actor_id=actor_id),
                          "next": entries[-1].id if len(entries) == limit else None})


@bp.get("/outbox/<int:message_id>")
def get_message(message_id: int) -> Response:
    actor_id = authenticate_request().user_id
    return json_response(outbox_service().get(message_id, actor_id=actor_id).as_json())


@bp.post("/outbox/<int:message_id>/retry")
def retry_message(message_id: int) -> Response:
    actor_id = authenticate_request().user_id
    return json_response(outbox_service().retry(message_id, actor_id=actor_id).as_json())


NULLABLE_MOMENT = {"type": ["string", "null"], "format": "date-time"}
SCHEMAS: dict[str, Any] = {
    "OutboxMessage": {"type": "object", "required": [
        "id", "channel", "recipient", "status", "attempts", "next_attempt_at", "created_at", "retryable"],
        "properties": {
            "id": ID_SCHEMA, "channel": {"type": "string"}, "recipient": {"type": "string"},
            "status": {"enum": list(STATUSES)}, "attempts": {"type": "integer"}, "next_attempt_at": MOMENT,
            "last_error": {"type": ["string", "null"]}, "created_at": MOMENT, "sent_at": NULLABLE_MOMENT,
            "claimed_by": {"type": ["string", "null"]}, "app": {"type": ["string", "null"]},
            "rule_run_id": {"type": ["integer", "null"]}, "subject": {"type": "string"},
            "result": {"type": ["object", "null"], "description": "What the receiver answered"},
            "retryable": {"type": "boolean", "description": "Dead, or pending after a failure"}}},
    "OutboxPage": {"type": "object", "required": ["messages", "counts", "next"], "properties": {
        "messages": {"type": "array", "items": ref("OutboxMessage")},
        "counts": {"type": "object", "properties": {s: {"type": "integer"} for s in STATUSES}},
        "next": {"type": ["integer", "null"], "description": "Pass as before= for the next page"}}},
}


def outbox_paths(errors: Any) -> dict[str, Any]:
    """The outbox's paths in the OpenAPI document (``errors`` from ``runtime.api.openapi``)."""
    def ok(schema: dict[str, Any], text: str) -> dict[str, Any]:
        return {"200": {"description": text, "content": {"application/json": {"schema": schema}}}}

    path_id = [{"name": "id", "in": "path", "required": True, "schema": ID_SCHEMA}]
    return {
        "/api/v1/outbox": {"get": {
            "operationId": "list_outbox", "summary": "Outbox messages, newest first (admins)", "tags": ["outbox"],
            "parameters": [
                {"name": "status", "in": "query", "schema": {"enum": list(STATUSES)}},
                {"name": "channel", "in": "query", "schema": {"enum": [c.key for c in CHANNELS if c.external]}},
                {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}},
                {"name": "before", "in": "query", "schema": ID_SCHEMA}],
            "responses": {**ok(ref("OutboxPage"), "A page of messages"), **errors(400, 401, 403)}}},
        "/api/v1/outbox/{id}": {"parameters": path_id, "get": {
            "operationId": "get_outbox_message", "summary": "One outbox message (admins)", "tags": ["outbox"],
            "responses": {**ok(ref("OutboxMessage"), "The message"), **errors(401, 403, 404)}}},
        "/api/v1/outbox/{id}/retry": {"parameters": path_id, "post": {
            "operationId": "retry_outbox_message", "summary": "Retry a dead or failing message now (admins)",
            "tags": ["outbox"],
            "responses": {**ok(ref("OutboxMessage"), "The message, due now"), **errors(401, 403, 404, 409)}}},
    }
