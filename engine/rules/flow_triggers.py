"""Triggers on what a record's approval flow did (the flow engine's events
on the record bus, ``engine.records.events`` FLOW_*): submitted, approved,
rejected, withdrawn, a node reached. ``flow`` narrows a rule to one flow
of the form, ``node`` (node reached) to one node. The rule runs in the
flow's transaction: while the flow runs, the record is locked, so such a
rule tells people or writes other records; once the flow has ended
(approved, rejected, withdrawn) it may update the record too."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from engine.actions.base import RuleChecker
from engine.core.i18n import Label
from engine.definitions.issues import Path
from engine.definitions.model import FormDef
from engine.records.events import (
    FLOW_APPROVED,
    FLOW_NODE_REACHED,
    FLOW_REJECTED,
    FLOW_SUBMITTED,
    FLOW_WITHDRAWN,
    RecordEvent,
)
from engine.rules.triggers import Trigger

_KEY = {"type": "string", "pattern": "^[a-z][a-z0-9_]*$"}


class FlowTrigger(Trigger):
    """One flow event kind; ``words`` say what happened, in zh and en."""

    words: ClassVar[tuple[str, str]]
    settings_schema: ClassVar[dict[str, Any]] = {
        "type": "object", "additionalProperties": False,
        "properties": {"flow": {**_KEY, "description": "Only this flow of the form (any flow when absent)."}},
    }

    def check(self, checker: RuleChecker, settings: Mapping[str, Any], path: Path) -> None:
        if settings.get("flow"):
            checker.known_flow((*path, "flow"), str(settings["flow"]))

    def matches(self, settings: Mapping[str, Any], event: RecordEvent) -> bool:
        detail = event.detail or {}
        return not settings.get("flow") or detail.get("flow") == settings["flow"]

    def describe(self, settings: Mapping[str, Any], form: FormDef) -> Label:
        zh, en = self.words
        flow = settings.get("flow")
        return Label(f"{form.label.zh}的审批{f'（{flow}）' if flow else ''}{zh}时",
                     f"when a {form.label.en}'s approval{f' ({flow})' if flow else ''} {en}")


class FlowSubmitted(FlowTrigger):
    key = "flow_submitted"
    label = Label("提交审批时", "When an approval is submitted")
    description = Label("记录提交审批（流程开始）后触发", "Fires after a record is submitted for approval (a flow starts)")
    events = frozenset({FLOW_SUBMITTED})
    words = ("提交", "is submitted")


class FlowApproved(FlowTrigger):
    key = "flow_approved"
    label = Label("审批通过时", "When an approval is approved")
    description = Label("记录的审批流程通过后触发", "Fires after a record's approval flow ends approved")
    events = frozenset({FLOW_APPROVED})
    words = ("通过", "is approved")


class FlowRejected(FlowTrigger):
    key = "flow_rejected"
    label = Label("审批驳回时", "When an approval is rejected")
    description = Label("记录的审批流程被驳回后触发", "Fires after a record's approval flow ends rejected")
    events = frozenset({FLOW_REJECTED})
    words = ("被驳回", "is rejected")


class FlowWithdrawn(FlowTrigger):
    key = "flow_withdrawn"
    label = Label("撤回审批时", "When an approval is withdrawn")
    description = Label("发起人撤回记录的审批后触发", "Fires after the submitter withdraws a record's approval")
    events = frozenset({FLOW_WITHDRAWN})
    words = ("被撤回", "is withdrawn")


class FlowNodeReached(FlowTrigger):
    key = "flow_node_reached"
    label = Label("审批到达节点时", "When an approval reaches a step")
    description = Label("记录的审批流程到达某个节点（或任一节点）时触发",
                        "Fires when a record's approval flow reaches a step (a given one, or any)")
    events = frozenset({FLOW_NODE_REACHED})
    settings_schema: ClassVar[dict[str, Any]] = {
        "type": "object", "additionalProperties": False,
        "properties": {**FlowTrigger.settings_schema["properties"],
                       "node": {**_KEY, "description": "Only this node (any node when absent)."}},
    }

    def matches(self, settings: Mapping[str, Any], event: RecordEvent) -> bool:
        return super().matches(settings, event) and (
            not settings.get("node") or (event.detail or {}).get("node") == settings["node"])

    def describe(self, settings: Mapping[str, Any], form: FormDef) -> Label:
        node = settings.get("node")
        flow = settings.get("flow")
        where_zh = f"节点 {node}" if node else "任一节点"
        where_en = f"step {node}" if node else "any step"
        of_zh = f"（{flow}）" if flow else ""
        of_en = f" ({flow})" if flow else ""
        return Label(f"{form.label.zh}的审批{of_zh}到达{where_zh}时",
                     f"when a {form.label.en}'s approval{of_en} reaches {where_en}")


FLOW_TRIGGERS = (FlowSubmitted(), FlowApproved(), FlowRejected(), FlowWithdrawn(), FlowNodeReached())
