"""An app's rules over HTTP (docs/rules.md "Pages and API").

- ``GET /apps/{app}/rules``: every rule with its trigger in words, counts of
  its runs by status and its last run;
- ``GET /apps/{app}/rules/{rule}``, ``PATCH`` it with ``{"enabled": bool}``
  (a new version of the rule's definition, by the caller);
- ``GET /apps/{app}/rules/{rule}/runs`` and ``GET /apps/{app}/runs``
  (``form``, ``record_id``, ``rule``): the run log, newest first, by
  ``status``, ``limit`` (1-200, default 50) and ``before`` (the ``next`` of
  the previous page);
- ``POST /apps/{app}/runs/{id}/retry``: run a failed run's rule again;
- ``POST /apps/{app}/rules/{rule}/run`` with ``{"record_id": n}``: run a
  manual rule on a record.

Everything goes through ``RuleAdmin``: the app's admins and owners manage
its rules; a manual run needs the right to read and update the record.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, request

from engine.core.errors import ValidationError
from engine.core.i18n import Label
from engine.rules import runs
from engine.rules.admin import RuleAdmin
from runtime.api.openapi_forms import ID_SCHEMA, MOMENT, ref
from runtime.api.params import known, whole
from runtime.api.records import MAX_ID
from runtime.auth import actor_for, authenticate_request
from runtime.jsonio import json_body, json_response
from runtime.services import current_services

bp = Blueprint("rules", __name__)
APP = "/apps/<app_key>"
RUN_PARAMETERS = ("status", "limit", "before")
LOG_PARAMETERS = ("form", "record_id", "rule", *RUN_PARAMETERS)


def rule_admin() -> RuleAdmin:
    return RuleAdmin(current_services().rules)


def _invalid(name: str, zh: str, en: str) -> ValidationError:
    message = Label(f"{name}：{zh}", f"{name}: {en}")
    return ValidationError(message, field_errors={name: [message]})


def _body(allowed: str) -> dict[str, Any]:
    body = json_body()
    extra = sorted(set(body) - {allowed})
    if extra:
        raise _invalid(extra[0], f"未知字段（可用：{allowed}）", f"unknown field (known: {allowed})")
    if allowed not in body:
        raise _invalid(allowed, "必填", "is required")
    return body


def _page(entries: list[runs.RunEntry], limit: int) -> Response:
    return json_response({"runs": [e.as_json() for e in entries],
                          "next": entries[-1].id if len(entries) == limit else None})


@bp.get(f"{APP}/rules")
def list_rules(app_key: str) -> Response:
    me = authenticate_request().user_id
    known(())
    return json_response({"rules": [s.as_json() for s in rule_admin().summaries(app_key, user_id=me)]})


@bp.get(f"{APP}/rules/<rule_key>")
def get_rule(app_key: str, rule_key: str) -> Response:
    me = authenticate_request().user_id
    known(())
    return json_response(rule_admin().summary(app_key, rule_key, user_id=me).as_json())


@bp.patch(f"{APP}/rules/<rule_key>")
def patch_rule(app_key: str, rule_key: str) -> Response:
    me = authenticate_request().user_id
    enabled = _body("enabled")["enabled"]
    if not isinstance(enabled, bool):
        raise _invalid("enabled", "应为 true 或 false", "must be true or false")
    return json_response(rule_admin().set_enabled(app_key, rule_key, enabled, user_id=me).as_json())


def _log(app_key: str, allowed: tuple[str, ...], **where: Any) -> Response:
    me = authenticate_request().user_id
    known(allowed)
    limit = whole("limit", high=runs.MAX_LIMIT) or 50
    for name in ("form", "rule"):
        if name in allowed:
            where[name] = request.args.get(name) or None
    if "record_id" in allowed:
        where["record_id"] = whole("record_id")
    entries = rule_admin().run_log(app_key, user_id=me, status=request.args.get("status") or None,
                                   before=whole("before"), limit=limit, **where)
    return _page(entries, limit)


@bp.get(f"{APP}/rules/<rule_key>/runs")
def rule_runs(app_key: str, rule_key: str) -> Response:
    return _log(app_key, RUN_PARAMETERS, rule=rule_key)


@bp.get(f"{APP}/runs")
def app_runs(app_key: str) -> Response:
    return _log(app_key, LOG_PARAMETERS)


@bp.post(f"{APP}/runs/<int:run_id>/retry")
def retry_run(app_key: str, run_id: int) -> Response:
    me = authenticate_request().user_id
    return json_response(rule_admin().retry(app_key, run_id if run_id <= MAX_ID else 0, user_id=me).as_json())


@bp.post(f"{APP}/rules/<rule_key>/run")
def run_rule(app_key: str, rule_key: str) -> Response:
    authenticate_request()
    record_id = _body("record_id")["record_id"]
    if isinstance(record_id, bool) or not isinstance(record_id, int) or not 1 <= record_id <= MAX_ID:
        raise _invalid("record_id", "应为正整数", "must be a positive whole number")
    entry = rule_admin().run_manual(app_key, rule_key, record_id, actor=actor_for(app_key))
    return json_response(entry.as_json())


TEXT = {"type": "object", "required": ["zh", "en"], "properties": {"zh": {"type": "string"},
                                                                   "en": {"type": "string"}}}
NULLABLE_TEXT = {"anyOf": [TEXT, {"type": "null"}]}
SCHEMAS: dict[str, Any] = {
    "RuleRun": {"type": "object", "required": ["id", "app", "rule", "trigger", "status", "started_at", "actions"],
                "properties": {
                    "id": ID_SCHEMA, "app": {"type": "string"}, "rule": {"type": "string"},
                    "trigger": {"type": "string"}, "form": {"type": ["string", "null"]},
                    "record_id": {"type": ["integer", "null"]}, "status": {"enum": list(runs.STATUSES)},
                    "started_at": MOMENT, "duration_ms": {"type": "number"}, "depth": {"type": "integer"},
                    "source": {"type": ["string", "null"]}, "user_id": {"type": ["integer", "null"]},
                    "actions": {"type": "array", "items": {"type": "object"},
                                "description": "Each action: type, outcome, detail"},
                    "error": {"type": ["string", "null"]}, "retry_of": {"type": ["integer", "null"]}}},
    "RuleRunPage": {"type": "object", "required": ["runs", "next"], "properties": {
        "runs": {"type": "array", "items": ref("RuleRun")},
        "next": {"type": ["integer", "null"], "description": "Pass as before= for the next page"}}},
    "Rule": {"type": "object", "required": ["key", "label", "form", "trigger", "when", "enabled", "counts"],
             "properties": {
                 "key": {"type": "string"}, "label": TEXT, "description": NULLABLE_TEXT, "form": {"type": "string"},
                 "trigger": {"type": "string"}, "when": {**TEXT, "description": "The trigger in words"},
                 "condition": {"type": ["string", "null"]},
                 "actions": {"type": "array", "items": {"type": "object", "properties": {
                     "type": {"type": "string"}, "label": TEXT}}},
                 "enabled": {"type": "boolean"}, "on_import": {"type": "boolean"}, "manual": {"type": "boolean"},
                 "button": NULLABLE_TEXT, "confirm": NULLABLE_TEXT,
                 "counts": {"type": "object", "properties": {s: {"type": "integer"} for s in runs.STATUSES}},
                 "last_run": {"anyOf": [ref("RuleRun"), {"type": "null"}]}}},
}


def rule_paths(app_key: str, errors: Any) -> dict[str, Any]:
    """One app's rule paths in the OpenAPI document (``errors`` from ``runtime.api.openapi``)."""
    def ok(schema: dict[str, Any], text: str) -> dict[str, Any]:
        return {"200": {"description": text, "content": {"application/json": {"schema": schema}}}}

    def body(schema: dict[str, Any]) -> dict[str, Any]:
        return {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "additionalProperties": False, "required": list(schema), "properties": schema}}}}

    base, tag = f"/api/v1/apps/{app_key}", ["rules"]
    rule = [{"name": "rule", "in": "path", "required": True, "schema": {"type": "string"}}]
    paged = [{"name": "status", "in": "query", "schema": {"enum": list(runs.STATUSES)}},
             {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": runs.MAX_LIMIT}},
             {"name": "before", "in": "query", "schema": ID_SCHEMA}]
    return {
        f"{base}/rules": {"get": {
            "operationId": f"{app_key}_rules", "summary": "The app's rules (its admins and owners)", "tags": tag,
            "responses": {**ok({"type": "object", "required": ["rules"], "properties": {
                "rules": {"type": "array", "items": ref("Rule")}}}, "The rules"), **errors(400, 401, 403, 404)}}},
        f"{base}/rules/{{rule}}": {"parameters": rule, "get": {
            "operationId": f"{app_key}_rule", "summary": "One rule", "tags": tag,
            "responses": {**ok(ref("Rule"), "The rule"), **errors(400, 401, 403, 404)}}, "patch": {
            "operationId": f"{app_key}_enable_rule", "summary": "Enable or disable a rule", "tags": tag,
            "requestBody": body({"enabled": {"type": "boolean"}}),
            "responses": {**ok(ref("Rule"), "The rule as published now"),
                          **errors(400, 401, 403, 404, 415, 422)}}},
        f"{base}/rules/{{rule}}/runs": {"parameters": rule, "get": {
            "operationId": f"{app_key}_rule_runs", "summary": "A rule's runs, newest first", "tags": tag,
            "parameters": paged,
            "responses": {**ok(ref("RuleRunPage"), "A page of runs"), **errors(400, 401, 403, 404)}}},
        f"{base}/runs": {"get": {
            "operationId": f"{app_key}_runs", "summary": "The app's rule runs, newest first", "tags": tag,
            "parameters": [{"name": "form", "in": "query", "schema": {"type": "string"}},
                           {"name": "record_id", "in": "query", "schema": ID_SCHEMA},
                           {"name": "rule", "in": "query", "schema": {"type": "string"}}, *paged],
            "responses": {**ok(ref("RuleRunPage"), "A page of runs"), **errors(400, 401, 403, 404)}}},
        f"{base}/runs/{{id}}/retry": {
            "parameters": [{"name": "id", "in": "path", "required": True, "schema": ID_SCHEMA}], "post": {
                "operationId": f"{app_key}_retry_run", "summary": "Run a failed run's rule again", "tags": tag,
                "responses": {**ok(ref("RuleRun"), "The new run"), **errors(401, 403, 404, 409)}}},
        f"{base}/rules/{{rule}}/run": {"parameters": rule, "post": {
            "operationId": f"{app_key}_run_rule", "summary": "Run a manual rule on a record", "tags": tag,
            "requestBody": body({"record_id": ID_SCHEMA}),
            "responses": {**ok(ref("RuleRun"), "The run"), **errors(400, 401, 403, 404, 409, 415, 422)}}},
    }
