"""Inbound webhooks (the ``webhook`` trigger, docs/rules.md "Triggers").

- ``POST /api/v1/hooks/{app}/{rule}/{token}``: no sign-in — the token is the
  credential (``engine.rules.webhooks``). The JSON body is mapped to the
  rule's form and the rule runs; the answer is the run (``done``,
  ``skipped`` when its condition is false, ``failed`` with its error: kept
  for a retry). A wrong address is 404 and counts against the caller's
  address like a refused API token; each hook takes at most ``HOOK_RATE``
  calls (``QIQIAO_HOOK_RATE``, 60/minute by default) and answers 429 beyond.
- ``GET /api/v1/apps/{app}/rules/{rule}/hook``: the hook's URL, for the app's
  managers (it is built from ``QIQIAO_SECRET_KEY``: changing the key changes it).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, Response, current_app, request

from engine.core.errors import NotFoundError, PermissionDenied, QiqiaoError
from engine.core.i18n import Label
from engine.rules.engine import RuleEngine
from engine.rules.webhooks import Webhook, hook_path, receive
from runtime.api.openapi_forms import ref
from runtime.auth import authenticate_request
from runtime.config import parse_rate
from runtime.errors import RateLimited
from runtime.jsonio import json_body, json_response
from runtime.ratelimit import SlidingWindow
from runtime.security import client_ip
from runtime.services import current_services

bp = Blueprint("hooks", __name__)
RULES = "qiqiao_rules"
LIMITER = "qiqiao_hook_limiter"


def register_hooks(app: Flask, rules: RuleEngine) -> None:
    """Serve the hooks of ``rules`` (outside the signed-in ``api`` blueprint)."""
    app.extensions[RULES] = rules
    app.extensions[LIMITER] = SlidingWindow(*parse_rate(str(app.config.get("HOOK_RATE") or "60/minute")))
    app.register_blueprint(bp, url_prefix="/api/v1")


@bp.post("/hooks/<app_key>/<rule>/<token>")
def call_hook(app_key: str, rule: str, token: str) -> Response:
    services = current_services()
    limiter: SlidingWindow = current_app.extensions[LIMITER]
    ip_key = f"token-ip:{client_ip() or '-'}"
    hook_key = f"hook:{app_key}.{rule}"
    wait = services.token_limiter.retry_after(ip_key) or limiter.retry_after(hook_key)
    if wait is not None:
        raise RateLimited(Label(f"调用过于频繁，请 {wait} 秒后再试", f"Too many calls; try again in {wait} seconds"),
                          wait)
    body = json_body()
    try:
        entry = receive(current_app.extensions[RULES], app_key, rule, token, body,
                        secret=str(current_app.config["SECRET_KEY"]))
    except NotFoundError:
        # A wrong address counts against the caller, not against the hook's own calls.
        services.token_limiter.hit(ip_key)
        raise
    except QiqiaoError:
        limiter.hit(hook_key)
        raise
    limiter.hit(hook_key)
    return json_response(entry.as_json())


@bp.get("/apps/<app_key>/rules/<rule>/hook")
def hook_url(app_key: str, rule: str) -> Response:
    principal = authenticate_request().principal
    if not principal.manages(app_key):
        raise PermissionDenied(Label("只有应用管理员能查看 Webhook 地址", "Only the app's managers may see hook URLs"))
    rules: RuleEngine = current_app.extensions[RULES]
    found = rules.rule(app_key, rule)
    if found.rule.trigger.type != Webhook.key:
        raise NotFoundError(Label(f"规则 {rule} 不是 Webhook 触发", f"The rule {rule} is not fired by a webhook"))
    path = hook_path(str(current_app.config["SECRET_KEY"]), app_key, rule)
    return json_response({"path": path, "url": request.host_url.rstrip("/") + path,
                          "fields": dict(found.rule.trigger.settings["fields"])})


SCHEMAS: dict[str, Any] = {
    "RuleRun": {"type": "object", "required": ["id", "app", "rule", "trigger", "status", "actions"], "properties": {
        "id": {"type": "integer"}, "app": {"type": "string"}, "rule": {"type": "string"},
        "trigger": {"type": "string"}, "form": {"type": ["string", "null"]},
        "record_id": {"type": ["integer", "null"]}, "status": {"enum": ["done", "skipped", "failed", "cut"]},
        "started_at": {"type": "string", "format": "date-time"}, "duration_ms": {"type": "number"},
        "depth": {"type": "integer"}, "source": {"type": ["string", "null"]},
        "user_id": {"type": ["integer", "null"]}, "error": {"type": ["string", "null"]},
        "actions": {"type": "array", "items": {"type": "object"}}, "retry_of": {"type": ["integer", "null"]}}},
    "HookUrl": {"type": "object", "required": ["path", "url", "fields"], "properties": {
        "path": {"type": "string"}, "url": {"type": "string"},
        "fields": {"type": "object", "additionalProperties": {"type": "string"}}}},
}


def hook_paths(errors: Any) -> dict[str, Any]:
    """The hooks' paths in the OpenAPI document (``errors`` from ``runtime.api.openapi``)."""
    def ok(schema: dict[str, Any], text: str) -> dict[str, Any]:
        return {"200": {"description": text, "content": {"application/json": {"schema": schema}}}}

    def name(key: str) -> dict[str, Any]:
        return {"name": key, "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}

    return {
        "/api/v1/hooks/{app}/{rule}/{token}": {"parameters": [name("app"), name("rule"), name("token")], "post": {
            "operationId": "call_hook", "summary": "Fire a webhook rule with a JSON body (the token signs in)",
            "tags": ["rules"], "security": [],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}},
            "responses": {**ok(ref("RuleRun"), "The rule's run"), **errors(400, 404, 409, 413, 415, 422, 429)}}},
        "/api/v1/apps/{app}/rules/{rule}/hook": {"parameters": [name("app"), name("rule")], "get": {
            "operationId": "get_hook_url", "summary": "A webhook rule's URL (the app's managers)", "tags": ["rules"],
            "responses": {**ok(ref("HookUrl"), "The URL"), **errors(401, 403, 404)}}},
    }
