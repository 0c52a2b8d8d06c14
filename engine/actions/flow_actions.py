"""``start_flow``: a rule starts an approval flow on its record (on create,
on a condition, by a button ...). The flow engine is the rule engine's
extra ``flows`` (set at composition, as the notifier is). The submitter is
the record's owner, or the person whose write fired the rule
(``submitter: user``); the record's form must have the flow."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from engine.actions.base import Action, ActionContext, ActionResult, RuleChecker
from engine.core.errors import NotFoundError
from engine.core.i18n import Label
from engine.definitions.issues import Path
from engine.records.actor import Actor

_KEY = {"type": "string", "pattern": "^[a-z][a-z0-9_]*$"}


class StartFlow(Action):
    key = "start_flow"
    label = Label("发起审批", "Start an approval")
    description = Label("以记录负责人（或触发规则的人）的名义对这条记录发起审批流程",
                        "Starts an approval flow on the record, submitted by its owner (or by the person "
                        "whose change fired the rule)")
    settings_schema: ClassVar[dict[str, Any]] = {
        "type": "object", "additionalProperties": False, "properties": {
            "flow": {**_KEY, "description": "The flow's key (the form's first flow when absent)."},
            "submitter": {"enum": ["owner", "user"],
                          "description": "Who submits: the record's owner (default) or the rule's user."},
            "comment": {"type": "string", "maxLength": 1000},
        }}

    def check(self, checker: RuleChecker, settings: Mapping[str, Any], path: Path) -> None:
        if settings.get("flow"):
            checker.known_flow((*path, "flow"), str(settings["flow"]))

    def run(self, ctx: ActionContext, settings: Mapping[str, Any]) -> ActionResult:
        flows = ctx.extras.get("flows")
        if flows is None or ctx.record is None:
            return ActionResult("skipped", {"reason": "no record" if flows is not None else "no flow engine"})
        if ctx.record.get("flow_status") == "running":
            return ActionResult("skipped", {"reason": "running"})
        form = ctx.rule.form
        wanted = settings.get("flow")
        candidates = [f for f in flows.newest(ctx.conn, ctx.app).values() if f.form == form and f.enabled]
        flow = next((f for f in candidates if f.key == wanted), None) if wanted else \
            next(iter(sorted(candidates, key=lambda f: f.key)), None)
        if flow is None:
            raise NotFoundError(Label(f"表单 {form} 没有流程 {wanted or ''}".rstrip(),
                                      f"Form {form} has no flow {wanted or ''}".rstrip()),
                                details={"flow": wanted, "form": form})
        owner = ctx.record.get("owner")
        first, second = (ctx.user_id, owner) if settings.get("submitter") == "user" else (owner, ctx.user_id)
        submitter = first or second
        view = flows.start(ctx.service, ctx.conn, flow, int(ctx.record["id"]),
                           actor=Actor(int(submitter) if submitter else None, "rule", rule=ctx.rule_ref),
                           comment=settings.get("comment"), check_rights=False)
        return ActionResult("done", {"flow": flow.key, "instance": view.id})


FLOW_ACTIONS = (StartFlow(),)
