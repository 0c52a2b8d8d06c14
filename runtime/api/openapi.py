"""``GET /api/v1/openapi.json``: the API described by OpenAPI 3.1, generated
from the published definitions of the installed apps.

Every form gets its own schemas (record, create, patch, page, bulk) from its
field types and its own paths (``openapi_forms``); the rest — apps, forms,
users, departments, tokens, the error body, the security schemes — is the
same for every installation. The document is cached until an app's
definitions change.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app

from engine.definitions.print_templates import templates_of
from runtime.api.hooks import SCHEMAS as HOOK_SCHEMAS
from runtime.api.hooks import hook_paths
from runtime.api.openapi_flows import FLOW_SCHEMAS, flow_paths, record_flow_paths
from runtime.api.openapi_forms import ID_SCHEMA, MOMENT, FormSchemas, ref
from runtime.api.openapi_imports import IMPORT_SCHEMAS, form_import_paths, job_paths
from runtime.api.openapi_inbox import INBOX_SCHEMAS, inbox_paths
from runtime.api.openapi_reports import REPORT_SCHEMAS, report_paths
from runtime.api.outbox import SCHEMAS as OUTBOX_SCHEMAS
from runtime.api.outbox import outbox_paths
from runtime.api.printing import print_paths
from runtime.api.rules import SCHEMAS as RULE_SCHEMAS
from runtime.api.rules import rule_paths
from runtime.auth import authenticate_request
from runtime.jsonio import json_response
from runtime.services import RecordServices, current_services

bp = Blueprint("openapi", __name__)

_STATUS_TEXT = {
    400: "The request is invalid (details: per field, or per row)",
    401: "No valid token or session",
    403: "Not allowed (or a missing CSRF token on a session request)",
    404: "No such app, form or record (or outside the caller's data scope)",
    405: "Method not allowed",
    409: "A stale version, or data that conflicts with other records",
    413: "The request is too large",
    415: "The body is not of a content type this takes",
    422: "Well-formed JSON that is not what this takes",
    429: "Too many requests",
}
_ERROR_STATUSES = (400, 401, 403, 404, 405, 409, 413, 415, 422, 429)


def errors(*statuses: int) -> dict[str, Any]:
    """Error responses: the given statuses, and any other as ``default``."""
    chosen = {str(s): {"$ref": f"#/components/responses/E{s}"} for s in statuses}
    chosen["default"] = {"$ref": "#/components/responses/Error"}
    return chosen


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


LABEL = {"type": "object", "required": ["zh", "en"], "properties": {"zh": {"type": "string"}, "en": {"type": "string"}}}
NULLABLE_LABEL = {"anyOf": [LABEL, {"type": "null"}]}
COMMON_SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object", "required": ["error"], "additionalProperties": False,
        "properties": {"error": {
            "type": "object", "required": ["code", "message", "details"], "additionalProperties": False,
            "properties": {"code": {"type": "string", "examples": ["validation_error", "conflict"]},
                           "message": {"type": "string"},
                           "details": {"description": "Per-field messages, rows, or other facts"}}}},
    },
    "App": {"type": "object", "required": ["key", "label", "version", "forms"], "properties": {
        "key": {"type": "string"}, "label": LABEL, "version": {"type": "string"},
        "description": NULLABLE_LABEL, "forms": {"type": "array", "items": {"type": "string"}}}},
    "FormDefinition": {"type": "object", "required": ["key", "label", "fields", "actions"], "properties": {
        "key": {"type": "string"}, "label": LABEL, "description": NULLABLE_LABEL,
        "title_field": {"type": ["string", "null"]},
        "actions": {"type": "array", "items": {"type": "string"}},
        "fields": {"type": "array", "items": {"type": "object", "required": ["key", "type", "label"]}},
        "layout": {"type": "array"}, "list_views": {"type": "array"}}},
    "User": {"type": "object", "required": ["id", "login", "name", "active"],
             "description": "Colleagues see id, login, name, active and department_ids; admins and the user "
                            "themselves see the rest", "properties": {
        "id": ID_SCHEMA, "login": {"type": "string"}, "name": {"type": "string"},
        "email": {"type": ["string", "null"]}, "mobile": {"type": ["string", "null"]},
        "active": {"type": "boolean"}, "locale": {"type": "string"}, "is_admin": {"type": "boolean"},
        "department_ids": {"type": "array", "items": {"type": "integer"}}}},
    "File": {"type": "object", "required": ["id", "name", "size", "content_type", "sha256"], "properties": {
        "id": {"type": "string"}, "name": {"type": "string"}, "size": {"type": "integer"},
        "content_type": {"type": "string"}, "sha256": {"type": "string"}}},
    "AuditPage": {"type": "object", "required": ["entries", "next"], "properties": {
        "entries": {"type": "array", "items": {"type": "object", "required": ["id", "at", "action"]}},
        "next": {"type": ["integer", "null"], "description": "Pass as before= for the next page"}}},
    "NewUser": {"type": "object", "required": ["login", "name"], "additionalProperties": False, "properties": {
        "login": {"type": "string"}, "name": {"type": "string"}, "email": {"type": ["string", "null"]},
        "mobile": {"type": ["string", "null"]}, "password": {"type": ["string", "null"]},
        "locale": {"enum": ["zh", "en"]}, "is_admin": {"type": "boolean"}}},
    "Me": {"allOf": [ref("User"), {"type": "object", "properties": {
        "roles": {"type": "array", "items": {"type": "string"}},
        "department_ids": {"type": "array", "items": {"type": "integer"}},
        "main_department_id": {"type": ["integer", "null"]}, "via": {"enum": ["token", "session"]}}}]},
    "Department": {"type": "object", "required": ["id", "name"], "properties": {
        "id": ID_SCHEMA, "name": {"type": "string"}, "parent_id": {"type": ["integer", "null"]},
        "head_id": {"type": ["integer", "null"]}, "code": {"type": ["string", "null"]}, "sort": {"type": "integer"}}},
    "Token": {"type": "object", "required": ["id", "name", "prefix", "created_at", "active"], "properties": {
        "id": ID_SCHEMA, "name": {"type": "string"}, "prefix": {"type": "string"}, "created_at": MOMENT,
        "expires_at": {"type": ["string", "null"], "format": "date-time"},
        "revoked_at": {"type": ["string", "null"], "format": "date-time"},
        "last_used_at": {"type": ["string", "null"], "format": "date-time"}, "active": {"type": "boolean"}}},
    "NewToken": {"type": "object", "required": ["name"], "additionalProperties": False, "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 100},
        "expires_in_days": {"type": "integer", "minimum": 1, "maximum": 36500},
        "expires_at": {"type": "string", "format": "date-time"}}},
    "IssuedToken": {"allOf": [ref("Token"), {"type": "object", "required": ["token"], "properties": {
        "token": {"type": "string", "description": "The token itself: shown once, keep it safe"}}}]},
    "BulkCreated": {"type": "object", "required": ["ids", "count"], "properties": {
        "ids": {"type": "array", "items": ID_SCHEMA}, "count": {"type": "integer"}}},
    "ImportReport": {"type": "object", "required": ["form", "dry_run", "totals", "failures"], "properties": {
        "form": {"type": "string"}, "dry_run": {"type": "boolean"}, "totals": {"type": "object"},
        "stopped_at_row": {"type": ["integer", "null"]}, "cancelled": {"type": "boolean"},
        "mapping": {"type": "object"},
        "ignored_columns": {"type": "array"}, "warnings": {"type": "array", "items": {"type": "string"}},
        "failures": {"type": "array", "items": {"type": "object"}}}},
}


def _common_paths() -> dict[str, Any]:
    def get(op: str, summary: str, schema: dict[str, Any], *statuses: int, **extra: Any) -> dict[str, Any]:
        return {"operationId": op, "summary": summary, "tags": ["organization" if op != "list_apps" else "apps"],
                "responses": {"200": _json(schema, summary), **errors(401, *statuses)}, **extra}

    def listing(key: str, item: str) -> dict[str, Any]:
        return {"type": "object", "required": [key], "properties": {key: {"type": "array", "items": ref(item)}}}

    body = {"required": True, "content": {"application/json": {"schema": ref("NewToken")}}}
    return {
        "/api/v1/apps": {"get": get("list_apps", "The installed apps", listing("apps", "App"))},
        "/api/v1/me": {"get": get("me", "The signed-in user", ref("Me"))},
        "/api/v1/users": {
            "get": get("list_users", "Users", listing("users", "User"), 400, parameters=[
                {"name": "active", "in": "query", "schema": {"type": "boolean"}}]),
            "post": {"operationId": "create_user", "summary": "Create a user (admins)", "tags": ["organization"],
                     "requestBody": {"required": True, "content": {"application/json": {"schema": ref("NewUser")}}},
                     "responses": {"201": _json(ref("User"), "The new user"),
                                   **errors(400, 401, 403, 409, 413, 415, 422)}},
        },
        "/api/v1/users/{id}": {"parameters": [{"name": "id", "in": "path", "required": True, "schema": ID_SCHEMA}],
                               "get": get("get_user", "A user", ref("User"), 404)},
        "/api/v1/departments": {"get": get("list_departments", "The department tree, depth first",
                                           listing("departments", "Department"))},
        "/api/v1/tokens": {
            "get": get("list_tokens", "My API tokens", listing("tokens", "Token")),
            "post": {"operationId": "issue_token", "summary": "Issue an API token", "tags": ["organization"],
                     "requestBody": body, "responses": {"201": _json(ref("IssuedToken"), "The token, shown once"),
                                                        **errors(400, 401, 403, 413, 415, 422)}},
        },
        "/api/v1/tokens/{id}": {
            "parameters": [{"name": "id", "in": "path", "required": True, "schema": ID_SCHEMA}],
            "delete": {"operationId": "revoke_token", "summary": "Revoke one of my tokens", "tags": ["organization"],
                       "responses": {"204": {"description": "Revoked"}, **errors(401, 403, 404)}},
        },
        "/api/v1/files": {"post": {
            "operationId": "upload_file", "summary": "Upload a file (multipart, field file)", "tags": ["files"],
            "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                "type": "object", "required": ["file"], "properties": {"file": {"type": "string",
                                                                               "format": "binary"}}}}}},
            "responses": {"201": _json(ref("File"), "The stored file: put it in a file field's value"),
                          **errors(400, 401, 403, 413)}}},
        "/api/v1/files/{id}": {
            "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "get": {"operationId": "download_own_file", "summary": "A file I uploaded", "tags": ["files"],
                    "responses": {"200": {"description": "The file"}, **errors(401, 404)}}},
        "/api/v1/audit": {"get": get("audit_log", "The audit log (admins)", ref("AuditPage"), 400, 403, parameters=[
            {"name": name, "in": "query", "schema": {"type": "string"}} for name in (
                "app", "form", "record_id", "user_id", "action", "since", "until", "limit", "before")])},
    }


def build_document(records: RecordServices, bulk_limit: int) -> dict[str, Any]:
    """The whole document for the apps installed now."""
    schemas: dict[str, Any] = {**COMMON_SCHEMAS, **IMPORT_SCHEMAS, **INBOX_SCHEMAS, **OUTBOX_SCHEMAS,
                               **HOOK_SCHEMAS, **RULE_SCHEMAS, **FLOW_SCHEMAS, **REPORT_SCHEMAS}
    paths: dict[str, Any] = {**_common_paths(), **job_paths(errors), **inbox_paths(errors), **outbox_paths(errors),
                             **hook_paths(errors), **flow_paths(errors)}
    tags: list[dict[str, Any]] = []
    for app_key in records.app_keys():
        service = records.get(app_key)
        paths[f"/api/v1/apps/{app_key}/forms"] = {"get": {
            "operationId": f"{app_key}_forms", "summary": f"The forms of {service.app.label.en}", "tags": ["apps"],
            "responses": {"200": _json({"type": "object", "required": ["app", "forms"], "properties": {
                "app": ref("App"), "forms": {"type": "array", "items": ref("FormDefinition")}}}, "The forms"),
                **errors(401, 404)}}}
        paths.update(rule_paths(app_key, errors))
        paths.update(report_paths(app_key, service.app, errors))
        for form in service.app.forms:
            part = FormSchemas(app_key, service.form(form.key)[0], bulk_limit)
            schemas.update(part.schemas())
            paths.update(part.form_paths(errors))
            paths.update(part.paths(errors))
            paths.update(print_paths(app_key, form.key, form.label.en, part.name,
                                     templates_of(service.app.prints, form.key), errors))
            paths.update(form_import_paths(part.base, f"{app_key}_{form.key}", form.label.en, [part.name], errors))
            paths.update(record_flow_paths(f"{part.base}/records", f"{app_key}_{form.key}", form.label.en, errors))
            tags.append({"name": part.name, "description": f"{form.label.en} / {form.label.zh}"})
    responses = {f"E{status}": {"description": text, "content": {"application/json": {"schema": ref("Error")}}}
                 for status, text in _STATUS_TEXT.items() if status in _ERROR_STATUSES}
    responses["Error"] = {"description": "An error", "content": {"application/json": {"schema": ref("Error")}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "Qiqiao REST API", "version": "1",
                 "description": "Records of the installed apps, generated from their definitions. "
                                "See docs/api.md for authentication, filters, paging and errors."},
        "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}, {"session": []}],
        "tags": [{"name": "apps"}, {"name": "organization"}, {"name": "files"}, {"name": "imports"},
                 {"name": "notifications"}, {"name": "outbox"}, {"name": "rules"},
                 {"name": "approvals"}, {"name": "reports"}, *tags],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "responses": responses,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "qq_...",
                           "description": "An API token (POST /api/v1/tokens or qiqiao token create)"},
                "session": {"type": "apiKey", "in": "cookie", "name": "qiqiao_session",
                            "description": "A browser session from POST /auth/login; changes need X-CSRF-Token"},
            },
        },
    }


@bp.get("/openapi.json")
def openapi_document() -> Response:
    authenticate_request()
    records = current_services().records
    stamp = tuple(sorted(records.stamps().items()))
    cached = current_app.extensions.get("qiqiao.openapi")
    if cached is None or cached[0] != stamp:
        document = build_document(records, int(current_app.config.get("BULK_LIMIT", 1000)))
        cached = current_app.extensions["qiqiao.openapi"] = (stamp, document)
    return json_response(cached[1])
