"""Printing records over HTTP (docs/printing.md).

- ``GET /apps/{app}/forms/{form}/print``: the form's print templates, with
  the addresses that print a record through each;
- ``GET /apps/{app}/forms/{form}/records/{id}/print/{template}``: the record
  printed, as HTML; ``?format=pdf`` as PDF (``inline``, with the template's
  label and the record's id as the file name). ``locale`` (zh, en) and
  ``tz`` (an IANA zone) say how values read; by default the reader's own
  language and zone (their settings), else the deployment's zone.

The record is read as ``GET .../records/{id}`` reads it: 404 outside the
caller's data scope, 403 without the right to read the form, and fields
they may not read are not in the print. The HTML carries a policy that lets
it load nothing but its own inline styles and ``data:`` pictures.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import Blueprint, Response, current_app, request

from engine.core.errors import ValidationError
from engine.core.i18n import Label
from engine.definitions.model import PrintTemplateDef
from engine.printing import PrintService
from runtime.api.records import RECORDS, check_id, check_parameters, form_service
from runtime.auth import actor_for, authenticate_request
from runtime.errors import request_locale
from runtime.jsonio import json_response
from runtime.services import current_services

bp = Blueprint("printing", __name__)

PRINT_PARAMETERS = frozenset({"format", "locale", "tz"})
FORMATS = ("html", "pdf")
PRINT_POLICY = ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; font-src data:; "
                "base-uri 'none'; form-action 'none'; frame-ancestors 'self'")


def _printer(app_key: str) -> PrintService:
    return PrintService(current_services().records.get(app_key), current_services().files)


def template_json(app_key: str, form_key: str, template: PrintTemplateDef) -> dict[str, Any]:
    prefix = f"{request.script_root}/api/v1/apps/{app_key}/forms/{form_key}/records/{{id}}/print/{template.key}"
    return {"key": template.key, "label": {"zh": template.label.zh, "en": template.label.en},
            "paper": template.paper, "orientation": template.orientation,
            "html": prefix, "pdf": f"{prefix}?format=pdf"}


@bp.get("/apps/<app_key>/forms/<form_key>/print")
def list_print_templates(app_key: str, form_key: str) -> Response:
    service, _ = form_service(app_key, form_key)
    actor_for(app_key).policy(service, form_key).require("read")
    templates = _printer(app_key).templates(form_key)
    return json_response({"templates": [template_json(app_key, form_key, t) for t in templates]})


@bp.get(f"{RECORDS}/<int:record_id>/print/<template_key>")
def print_record(app_key: str, form_key: str, record_id: int, template_key: str) -> Response:
    check_parameters(PRINT_PARAMETERS)
    _, compiled = form_service(app_key, form_key)
    check_id(compiled, record_id)
    wanted = request.args.get("format", "html")
    if wanted not in FORMATS:
        message = Label(f"format 应为 html 或 pdf，而不是 {wanted[:20]}",
                        f"format must be html or pdf, not {wanted[:20]}")
        raise ValidationError(message, field_errors={"format": [message]})
    printer = _printer(app_key)
    principal = authenticate_request().principal
    options: dict[str, Any] = {
        "actor": actor_for(app_key),
        "locale": request.args.get("locale") or principal.locale or request_locale(),
        "time_zone": request.args.get("tz") or principal.time_zone or current_app.config.get("TIME_ZONE"),
    }
    if wanted == "pdf":
        template = printer.template(form_key, template_key)
        pdf = printer.pdf(form_key, record_id, template_key, **options)
        name = f"{template.label.text(options['locale'])}-{record_id}.pdf"
        return Response(pdf, mimetype="application/pdf",
                        headers={"Content-Disposition": inline_disposition(name)})
    html = printer.render(form_key, record_id, template_key, **options)
    return Response(html, mimetype="text/html",
                    headers={"Content-Security-Policy": PRINT_POLICY, "X-Frame-Options": "SAMEORIGIN"})


def inline_disposition(name: str) -> str:
    """``inline`` with an ASCII ``filename`` for old clients and the real
    name in ``filename*`` (RFC 6266 / RFC 5987): 报价单-7.pdf stays readable."""
    fallback = "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "_" for c in name)
    return f"inline; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


PRINT_TEMPLATES_SCHEMA: dict[str, Any] = {
    "type": "object", "required": ["templates"], "properties": {"templates": {"type": "array", "items": {
        "type": "object", "required": ["key", "label", "paper", "orientation", "html", "pdf"],
        "properties": {"key": {"type": "string"},
                       "label": {"type": "object", "required": ["zh", "en"],
                                 "properties": {"zh": {"type": "string"}, "en": {"type": "string"}}},
                       "paper": {"type": "string"}, "orientation": {"enum": ["portrait", "landscape"]},
                       "html": {"type": "string", "description": "The address printing record {id} as HTML"},
                       "pdf": {"type": "string", "description": "The address printing record {id} as PDF"}}}}},
}


def print_paths(app_key: str, form_key: str, label: str, tag: str, templates: list[PrintTemplateDef],
                errors: Any) -> dict[str, Any]:
    """The OpenAPI paths of one form's print templates (``errors(*statuses)``
    gives an operation's error responses)."""
    base = f"/api/v1/apps/{app_key}/forms/{form_key}"
    op = f"{app_key}_{form_key}"
    paths: dict[str, Any] = {f"{base}/print": {"get": {
        "operationId": f"{op}_print_templates", "summary": f"The print templates of {label}", "tags": [tag],
        "responses": {"200": {"description": "The templates", "content": {"application/json": {
            "schema": PRINT_TEMPLATES_SCHEMA}}}, **errors(401, 403, 404)}}}}
    if not templates:
        return paths
    paths[f"{base}/records/{{id}}/print/{{template}}"] = {"get": {
        "operationId": f"{op}_print", "summary": f"Print a {label} record (HTML, or PDF)", "tags": [tag],
        "parameters": [
            {"name": "id", "in": "path", "required": True,
             "schema": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}},
            {"name": "template", "in": "path", "required": True, "schema": {"enum": [t.key for t in templates]}},
            {"name": "format", "in": "query", "schema": {"enum": list(FORMATS), "default": "html"}},
            {"name": "locale", "in": "query", "schema": {"enum": ["zh", "en"]}},
            {"name": "tz", "in": "query", "schema": {"type": "string"}, "description": "An IANA time zone"},
        ],
        "responses": {"200": {"description": "The printed record", "content": {
            "text/html": {"schema": {"type": "string"}},
            "application/pdf": {"schema": {"type": "string", "contentMediaType": "application/pdf"}}}},
            **errors(400, 401, 403, 404)}}}
    return paths
