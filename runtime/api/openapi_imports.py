"""The OpenAPI description of import jobs (runtime/api/imports.py): their
schemas, the per-form paths that preview a file and start a job, and the
paths of a job."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from runtime.api.openapi_forms import ID_SCHEMA, MOMENT, XLSX, ref

Errors = Callable[..., dict[str, Any]]
NULLABLE_MOMENT = {"type": ["string", "null"], "format": "date-time"}

IMPORT_SCHEMAS: dict[str, Any] = {
    "ImportJob": {"type": "object", "required": ["id", "app", "form", "status", "progress", "counts"], "properties": {
        "id": ID_SCHEMA, "app": {"type": "string"}, "form": {"type": "string"},
        "user_id": {"type": ["integer", "null"]},
        "file": {"type": "object", "properties": {"id": {"type": "string"}, "name": {"type": "string"}}},
        "options": {"type": "object", "description": "ImportOptions (docs/import-export.md)"},
        "dry_run": {"type": "boolean"},
        "status": {"enum": ["queued", "running", "done", "failed", "cancelled"]},
        "cancel_requested": {"type": "boolean"},
        "progress": {"type": "object", "required": ["processed", "total"], "properties": {
            "processed": {"type": "integer"},
            "total": {"type": ["integer", "null"], "description": "Data rows in the file, once counted"}}},
        "counts": {"type": "object", "additionalProperties": {"type": "integer"}},
        "error": {"type": ["string", "null"], "description": "Why the job failed"},
        "created_at": MOMENT, "started_at": NULLABLE_MOMENT, "finished_at": NULLABLE_MOMENT,
        "report": {"anyOf": [ref("ImportReport"), {"type": "null"}]}}},
    "ImportPreview": {"type": "object", "required": ["file", "format", "header", "rows", "mapping", "columns"],
                      "properties": {
        "file": ref("File"), "format": {"enum": ["csv", "xlsx"]},
        "sheets": {"type": "array", "items": {"type": "string"}}, "sheet": {"type": ["string", "integer", "null"]},
        "header": {"type": "array", "items": {"type": "string"}},
        "rows": {"type": "array", "items": {"type": "object", "properties": {
            "row": {"type": "integer"}, "cells": {"type": "array", "items": {"type": "string"}}}}},
        "mapping": {"type": "object", "additionalProperties": {"type": "string"},
                    "description": "Column header -> field path, as the import would map them"},
        "columns": {"type": "array", "items": {"type": "object"}},
        "unmapped": {"type": "array", "items": {"type": "object"}},
        "fields": {"type": "array", "items": {"type": "object"}, "description": "What a column may be mapped to"},
        "warnings": {"type": "array", "items": {"type": "string"}}}},
}

_UPLOAD = {"required": True, "content": {"multipart/form-data": {"schema": {"type": "object", "properties": {
    "file": {"type": "string", "format": "binary", "contentMediaType": "application/octet-stream"},
    "file_id": {"type": "string", "description": "A file stored before (by a preview, or POST /files)"},
    "options": {"type": "string", "description": "ImportOptions as JSON (docs/import-export.md)"}}}}}}


def _answer(schema: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": ref(schema)}}}


def form_import_paths(base: str, op: str, label: str, tags: list[str], errors: Errors) -> dict[str, Any]:
    """The paths that preview a file for a form and start its import job."""
    refusals = errors(400, 401, 403, 404, 413, 415, 422)
    return {
        f"{base}/imports/preview": {"post": {
            "operationId": f"{op}_import_preview", "tags": tags, "requestBody": _UPLOAD,
            "summary": f"Preview a file for an import into {label}: sheets, header, rows, proposed mapping",
            "responses": {"200": _answer("ImportPreview", "The preview"), **refusals}}},
        f"{base}/imports": {"post": {
            "operationId": f"{op}_import_start", "tags": tags, "requestBody": _UPLOAD,
            "summary": f"Start importing {label} records in the background",
            "responses": {"202": {**_answer("ImportJob", "The job, queued"), "headers": {
                "Location": {"schema": {"type": "string"}, "description": "The job"}}}, **refusals}}},
    }


def job_paths(errors: Errors) -> dict[str, Any]:
    job_id = {"name": "id", "in": "path", "required": True, "schema": ID_SCHEMA}
    tags = ["imports"]
    return {
        "/api/v1/imports/{id}": {"parameters": [job_id], "get": {
            "operationId": "get_import", "summary": "An import job: status, progress, counts, report", "tags": tags,
            "responses": {"200": _answer("ImportJob", "The job"), **errors(401, 404)}}},
        "/api/v1/imports/{id}/cancel": {"parameters": [job_id], "post": {
            "operationId": "cancel_import", "summary": "Cancel an import job after its current batch", "tags": tags,
            "responses": {"200": _answer("ImportJob", "The job"), **errors(401, 403, 404, 409)}}},
        "/api/v1/imports/{id}/failed-rows": {"parameters": [job_id], "get": {
            "operationId": "import_failed_rows", "summary": "The rows that failed, with an error column",
            "tags": tags, "parameters": [
                {"name": "format", "in": "query", "schema": {"enum": ["xlsx", "csv"], "default": "xlsx"}}],
            "responses": {"200": {"description": "The file", "content": {
                XLSX: {"schema": {"type": "string", "contentMediaType": XLSX}},
                "text/csv": {"schema": {"type": "string"}}}}, **errors(400, 401, 404, 409)}}},
    }
