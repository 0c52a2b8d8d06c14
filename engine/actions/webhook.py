"""``call_webhook``: an HTTP call to another system, put on the outbox in the
rule's transaction and made by the worker after commit (retried, with the
run's idempotency key in the ``Idempotency-Key`` the worker sends).

The body is never JSON text with values pasted in (a quote or a newline in a
field would break it). It is a JSON structure whose string leaves are
message templates, each rendered to a string; a leaf ``{"formula": "..."}``
is replaced by the formula's value as JSON (a number stays a number, an
empty field is ``null``). The URL and header values are templates too.
``reply`` maps dotted paths of the JSON response back to fields of the
record; the worker writes them through the record service as the rule.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, ClassVar

from engine.actions.base import Action, ActionContext, ActionResult, RuleChecker
from engine.actions.messages import check_templates, message_context
from engine.core.i18n import Label
from engine.definitions.issues import Path
from engine.notify.outbox import enqueue
from engine.notify.templates import MessageTemplate, check_template
from engine.records.values import jsonable

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def json_value(value: Any) -> Any:
    """A formula's value as JSON: a decimal is a JSON number (an integer when it is whole)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, list):
        return [json_value(v) for v in value]
    return jsonable(value)


def is_formula(node: Any) -> bool:
    return isinstance(node, Mapping) and set(node) == {"formula"} and isinstance(node["formula"], str)


def walk_check(checker: RuleChecker, node: Any, path: Path) -> None:
    if is_formula(node):
        checker.formula((*path, "formula"), node["formula"])
    elif isinstance(node, Mapping):
        for key, value in node.items():
            walk_check(checker, value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            walk_check(checker, value, (*path, i))
    elif isinstance(node, str) and (problem := check_template(node)) is not None:
        checker.report(path, problem)


def build_body(ctx: ActionContext, node: Any, context: Mapping[str, Any], where: str = "body") -> Any:
    """The body's structure with its templates rendered and formulas evaluated."""
    if is_formula(node):
        return json_value(ctx.evaluate(node["formula"]))
    if isinstance(node, Mapping):
        return {key: build_body(ctx, value, context, f"{where}.{key}") for key, value in node.items()}
    if isinstance(node, list):
        return [build_body(ctx, value, context, f"{where}[{i}]") for i, value in enumerate(node)]
    if isinstance(node, str):
        return MessageTemplate(node, name=f"{ctx.rule_ref}: {where}").render(context)
    return node


class CallWebhook(Action):
    key = "call_webhook"
    label = Label("调用 Webhook", "Call a webhook")
    description = Label("向其他系统发送 HTTP 请求（JSON），可把响应写回字段",
                        "Send an HTTP request (JSON) to another system; the response can be written back to fields")
    settings_schema: ClassVar[dict[str, Any]] = {
        "type": "object", "required": ["url"], "additionalProperties": False,
        "properties": {
            "method": {"enum": list(METHODS), "description": "Default POST."},
            "url": {"type": "string", "pattern": "^(https?://|\\{\\{)", "description": "A template."},
            "headers": {"type": "object", "additionalProperties": {"type": "string"},
                        "description": "Header values are templates."},
            "body": {"description": "JSON; string leaves are templates, {formula} leaves are values."},
            "reply": {"type": "object", "minProperties": 1, "additionalProperties": {"type": "string", "minLength": 1},
                      "description": "Per field of the record: a dotted path in the JSON response."},
        },
    }

    def check(self, checker: RuleChecker, settings: Mapping[str, Any], path: Path) -> None:
        check_templates(checker, settings, path, ("url",))
        for name, value in settings.get("headers", {}).items():
            if (problem := check_template(value)) is not None:
                checker.report((*path, "headers", name), problem)
        if "body" in settings:
            walk_check(checker, settings["body"], (*path, "body"))
        for field in settings.get("reply", {}):
            checker.field((*path, "reply", field), field)

    def run(self, ctx: ActionContext, settings: Mapping[str, Any]) -> ActionResult:
        context = message_context(ctx)
        url = MessageTemplate(settings["url"], name=f"{ctx.rule_ref}: url").render(context).strip()
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"the webhook URL {url!r} is not an http(s) URL")
        headers = {name: MessageTemplate(value, name=f"{ctx.rule_ref}: headers.{name}").render(context)
                   for name, value in settings.get("headers", {}).items()}
        reply = None
        if "reply" in settings and ctx.record is not None:
            reply = {"app": ctx.app, "form": ctx.rule.form, "record_id": int(ctx.record["id"]),
                     "fields": dict(settings["reply"]), "rule": ctx.rule.key}
        payload = {"method": settings.get("method", "POST"), "url": url, "headers": headers,
                   "body": build_body(ctx, settings["body"], context) if "body" in settings else None,
                   "reply": reply}
        # One key per run and action: a retried run does not call twice, two
        # webhook actions of one rule are two calls.
        which = hashlib.sha256(repr(sorted(settings.items())).encode()).hexdigest()[:12]
        key = f"rule:{ctx.rule_ref}:run:{ctx.run_id}:webhook:{which}"
        made = enqueue(ctx.conn, channel="webhook", recipient=url, payload=payload, key=key, now=ctx.now,
                       app=ctx.app, rule_run_id=ctx.run_id)
        return ActionResult("done" if made is not None else "skipped",
                            {"outbox": made, "method": payload["method"], "url": url})


WEBHOOK_ACTIONS: tuple[Action, ...] = (CallWebhook(),)
