"""The REST API under ``/api/v1`` (DESIGN §11, §12; docs/api.md).

One blueprint, ``api``, made of a blueprint per concept: the published
definitions, records, bulk calls, import and export (and import jobs), the organization,
files, printing, the audit log, the reader's notifications and todos, the outbox, the rules and their runs, approval flows and tasks, reports and dashboards, and the OpenAPI document. Every endpoint needs a signed-in user: a bearer token
or a browser session (with its CSRF token for changes).
"""

from __future__ import annotations

from flask import Blueprint

from runtime.api import (
    audit,
    bulk,
    definitions,
    exchange,
    files,
    flows,
    imports,
    inbox,
    openapi,
    outbox,
    people,
    printing,
    records,
    reports,
    rules,
)
from runtime.auth import authenticate_request


def build_api() -> Blueprint:
    """The ``api`` blueprint (a new one per app: blueprints hold their registrations)."""
    api = Blueprint("api", __name__, url_prefix="/api/v1")

    @api.before_request
    def require_identity() -> None:
        authenticate_request()

    for part in (definitions, records, bulk, exchange, imports, people, files, printing, audit, inbox,
                 outbox, rules, flows, reports, openapi):
        api.register_blueprint(part.bp)
    return api
