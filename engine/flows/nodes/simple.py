"""Nodes nobody acts on: automation (runs actions of the shared registry as
the flow), delay (waits for a duration or a date field) and end."""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, Any, ClassVar

from engine.core.i18n import Label
from engine.definitions.flow_files import NodeDef
from engine.flows.nodes import RunnableNode
from engine.flows.run import DONE, WAIT

if TYPE_CHECKING:
    from engine.flows.run import FlowRun, Job

_DURATION = re.compile(r"^([0-9]+)([mhd])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def duration(text: str) -> dt.timedelta:
    """``"<n>m|h|d"`` as a timedelta (the schema lets nothing else through)."""
    found = _DURATION.match(text.strip())
    if found is None:
        raise ValueError(f"not a duration: {text!r} (write <n>m, <n>h or <n>d)")
    return dt.timedelta(**{_UNITS[found.group(2)]: int(found.group(1))})


class AutomationNode(RunnableNode):
    key = "automation"
    label = Label("自动化", "Automation")
    description = Label("以流程身份执行动作（更新记录、新建记录、通知、Webhook……）",
                        "Runs actions as the flow (update or create records, notify, webhooks ...)")
    settings_schema: ClassVar[dict[str, Any]] = {"type": "object", "required": ["actions"], "properties": {
        "actions": {"type": "array", "minItems": 1, "items": {
            "type": "object", "required": ["type"], "properties": {"type": {"type": "string"}}}}}}

    def enter(self, run: FlowRun, node: NodeDef, job: Job) -> str:
        job.result["actions"] = run.engine.automate(run, node, job)
        return DONE


class DelayNode(RunnableNode):
    key = "delay"
    label = Label("延时", "Delay")
    description = Label("等待一段时间，或等到记录的某个日期", "Waits a while, or until a date of the record")
    settings_schema: ClassVar[dict[str, Any]] = {"type": "object", "properties": {
        "duration": {"type": "string", "pattern": "^[0-9]+[mhd]$"},
        "until": {"type": "string"}, "at": {"type": "string", "pattern": "^[0-2][0-9]:[0-5][0-9]$"}},
        "oneOf": [{"required": ["duration"]}, {"required": ["until"]}]}

    def enter(self, run: FlowRun, node: NodeDef, job: Job) -> str:
        wake = self.wake_at(run, node)
        if wake is None or wake <= run.now:
            return DONE
        run.wake(job, wake)
        return WAIT

    @staticmethod
    def wake_at(run: FlowRun, node: NodeDef) -> dt.datetime | None:
        if node.setting("duration"):
            return run.now + duration(str(node.setting("duration")))
        value = run.record.get(str(node.setting("until")))
        if value is None:
            return None  # no date to wait for: nothing to wait
        local = run.engine.clock.tz  # a date, and a date-time without offset, are the site's local time
        if isinstance(value, str):
            value = dt.datetime.fromisoformat(value) if len(value) > 10 else dt.date.fromisoformat(value)
        if isinstance(value, dt.datetime):
            return (value if value.tzinfo else value.replace(tzinfo=local)).astimezone(dt.UTC)
        hour, minute = (int(p) for p in str(node.setting("at") or "00:00").split(":"))
        return dt.datetime.combine(value, dt.time(hour, minute), tzinfo=local).astimezone(dt.UTC)

    def resume(self, run: FlowRun, node: NodeDef, job: Job) -> bool:
        return True


class EndNode(RunnableNode):
    key = "end"
    label = Label("结束", "End")
    description = Label("在此结束流程，结果为通过或驳回", "Ends the flow here, approved or rejected")
    settings_schema: ClassVar[dict[str, Any]] = {"type": "object", "properties": {"status": {"enum": ["approved", "rejected"]}}}

    def enter(self, run: FlowRun, node: NodeDef, job: Job) -> str:
        run.close_job(job, "done")
        run.finish(str(node.setting("status", "approved")), node=node.key)
        return WAIT


SIMPLE_NODES = (AutomationNode(), DelayNode(), EndNode())
