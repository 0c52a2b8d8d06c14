"""Actions that tell people: ``notify`` (a notice on channels) and
``add_todo`` (a todo for members).

Their texts are message templates (sandboxed Jinja2, ``engine.notify.templates``)
over the triggering record as people read it: ``record`` holds each field's
display text (an option's label, a member's name, a related record's title,
money formatted, moments in the clock's zone), ``raw`` the values as stored,
and ``link``, ``rule``, ``app``, ``form`` and ``now``. A notice goes through the
notifier in the rule's transaction (in-app rows at once, the rest on the
outbox, sent after commit); its idempotency key is the rule run's, so a
retried run reaches nobody twice.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from engine.actions.base import Action, ActionContext, ActionResult, RuleChecker
from engine.actions.people import RECIPIENTS, check_to, resolve_to, to_schema
from engine.core.i18n import Label
from engine.definitions.issues import Path
from engine.notify.channels import CHANNELS
from engine.notify.notifier import Notice
from engine.notify.templates import MessageTemplate, check_template
from engine.notify.todos import add_todo
from engine.printing.values import FieldValues, RecordDisplay

_TEMPLATE = {"type": "string", "minLength": 1, "description": "A message template (Jinja2) over record, raw, link ..."}
_CLOCK = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")


def record_link(ctx: ActionContext) -> str | None:
    if ctx.record is None:
        return None
    return f"/a/{ctx.app}/{ctx.rule.form}/{int(ctx.record['id'])}"


def message_context(ctx: ActionContext, locale: str = "zh") -> dict[str, Any]:
    """What a message template sees (see the module docstring)."""
    shown: Any = FieldValues({})
    if ctx.record is not None:
        zone = ctx.service.clock.tz
        display = RecordDisplay(ctx.service, ctx.rule.form, locale,
                                zone if isinstance(zone, ZoneInfo) else ZoneInfo("UTC"))
        shown = display.shown(ctx.conn, [ctx.record])[0]
    return {"record": shown, "raw": FieldValues(ctx.record or {}), "link": record_link(ctx),
            "rule": ctx.rule_ref, "app": ctx.app, "form": ctx.rule.form, "now": ctx.now}


def check_templates(checker: RuleChecker, settings: Mapping[str, Any], path: Path, names: tuple[str, ...]) -> None:
    for name in names:
        if name in settings and (problem := check_template(settings[name])) is not None:
            checker.report((*path, name), problem)


def render(settings: Mapping[str, Any], name: str, context: Mapping[str, Any], ctx: ActionContext,
           *, html: bool = False) -> str | None:
    if name not in settings:
        return None
    return MessageTemplate(settings[name], html=html, name=f"{ctx.rule_ref}: {name}").render(context)


def ordinal(ctx: ActionContext, settings: Mapping[str, Any], action_type: str) -> int:
    """Which of the rule's actions of this type this is (0 for the first): a
    rule with two notices keeps two idempotency keys."""
    same = [step.settings for step in ctx.rule.actions if step.type == action_type]
    return next((i for i, s in enumerate(same) if s is settings), 0)


class Notify(Action):
    key = "notify"
    label = Label("发送通知", "Notify")
    description = Label("按所选渠道通知成员、字段中的地址或群机器人",
                        "Tell members, addresses in fields or group robots, on the chosen channels")
    settings_schema: ClassVar[dict[str, Any]] = {
        "type": "object", "required": ["to", "title", "text"], "additionalProperties": False,
        "properties": {
            "channels": {"type": "array", "minItems": 1, "uniqueItems": True, "items": {"type": "string"},
                         "description": "Channel keys (default [in_app])."},
            "to": to_schema(), "title": _TEMPLATE, "text": _TEMPLATE, "html": _TEMPLATE,
            "locale": {"enum": ["zh", "en"], "description": "The language of display values (default zh)."},
        },
    }

    def check(self, checker: RuleChecker, settings: Mapping[str, Any], path: Path) -> None:
        for i, channel in enumerate(settings.get("channels", ())):
            if channel not in CHANNELS:
                checker.report((*path, "channels", i), Label(
                    f"没有渠道 '{channel}'（可用：{', '.join(CHANNELS.keys())}）",
                    f"there is no channel '{channel}' (known: {', '.join(CHANNELS.keys())})"))
        check_to(checker, settings["to"], (*path, "to"))
        check_templates(checker, settings, path, ("title", "text", "html"))

    def run(self, ctx: ActionContext, settings: Mapping[str, Any]) -> ActionResult:
        notifier = ctx.extras.get("notifier")
        if notifier is None:
            raise LookupError("the rule engine has no notifier")
        reach = resolve_to(ctx, settings["to"])
        context = message_context(ctx, settings.get("locale", "zh"))
        nth = ordinal(ctx, settings, self.key)
        key = f"rule:{ctx.rule_ref}:run:{ctx.run_id}" + (f":{nth + 1}" if nth else "")
        notice = Notice(
            key=key, title=render(settings, "title", context, ctx) or "", text=render(settings, "text", context, ctx) or "",
            html=render(settings, "html", context, ctx, html=True), users=tuple(reach.users),
            addresses=tuple(reach.addresses), robots=tuple(reach.robots),
            channels=tuple(settings.get("channels", ("in_app",))), app=ctx.app, form=ctx.rule.form,
            record_id=int(ctx.record["id"]) if ctx.record is not None else None, link=record_link(ctx),
            source=f"rule:{ctx.rule_ref}")
        report = notifier.send(ctx.conn, notice, rule_run_id=ctx.run_id)
        detail = {"in_app": report.in_app, "queued": report.queued, "skipped": list(report.skipped)}
        return ActionResult("done" if report.in_app or report.queued else "skipped", detail)


class AddTodo(Action):
    key = "add_todo"
    label = Label("添加待办", "Add a todo")
    description = Label("为成员添加关于本记录的待办，可带截止时间",
                        "Add a todo about the record for members, with an optional due time")
    settings_schema: ClassVar[dict[str, Any]] = {
        "type": "object", "required": ["title"], "additionalProperties": False,
        "properties": {
            "to": to_schema(members_only=True), "title": _TEMPLATE, "note": _TEMPLATE,
            "due": {"type": "string", "minLength": 1, "description": "A formula: a date or a date and time."},
            "at": {"type": "string", "pattern": _CLOCK.pattern, "description": "HH:MM on the due date."},
            "locale": {"enum": ["zh", "en"]},
        },
    }

    def check(self, checker: RuleChecker, settings: Mapping[str, Any], path: Path) -> None:
        check_to(checker, settings.get("to", ["owner"]), (*path, "to"), members_only=True)
        check_templates(checker, settings, path, ("title", "note"))
        if "due" in settings:
            checker.formula((*path, "due"), settings["due"])

    def run(self, ctx: ActionContext, settings: Mapping[str, Any]) -> ActionResult:
        reach = resolve_to(ctx, settings.get("to", ["owner"]))
        if not reach.users:
            return ActionResult("skipped", {"reason": "no active member to give it to"})
        context = message_context(ctx, settings.get("locale", "zh"))
        title = render(settings, "title", context, ctx) or ""
        note = render(settings, "note", context, ctx)
        due = due_at(ctx, settings)
        ids = [add_todo(ctx.conn, user_id=user, title=title, note=note, now=ctx.now, due_at=due, app=ctx.app,
                        form=ctx.rule.form, record_id=int(ctx.record["id"]) if ctx.record is not None else None,
                        source=f"rule:{ctx.rule_ref}") for user in reach.users]
        return ActionResult(detail={"todos": ids, "users": reach.users,
                                    "due_at": due.isoformat() if due is not None else None})


def due_at(ctx: ActionContext, settings: Mapping[str, Any]) -> dt.datetime | None:
    """The due moment: the formula's date or moment, at ``at`` when given; a
    date alone is due at the end of that day (in the clock's zone)."""
    if "due" not in settings:
        return None
    value = ctx.evaluate(settings["due"])
    if value is None or value == "":
        return None
    zone = ctx.service.clock.tz
    if isinstance(value, dt.datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=zone)
        day, time = moment.astimezone(zone).date(), moment.astimezone(zone).timetz().replace(tzinfo=None)
    elif isinstance(value, dt.date):
        day, time = value, dt.time(23, 59, 59)
    else:
        raise ValueError(f"due {settings['due']!r} is {value!r}, not a date or a date and time")
    if "at" in settings:
        hours, minutes = settings["at"].split(":")
        time = dt.time(int(hours), int(minutes))
    return dt.datetime.combine(day, time, tzinfo=zone)


MESSAGE_ACTIONS: tuple[Action, ...] = (Notify(), AddTodo())
__all__ = ["MESSAGE_ACTIONS", "RECIPIENTS", "message_context"]
