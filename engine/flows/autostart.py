"""Flows that start themselves: trigger ``create`` (every new record of the
form) and ``condition`` (a create or update that makes the condition true,
not one that leaves it true). A bus subscriber (composed after the rules):
it runs in the writer's transaction, so the record and its flow commit
together. The submitter is the person whose write it was, else the
record's owner; a record already in a flow is left alone.

``start_flow`` (engine/actions) is the other way in: a rule starts a flow.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from engine.core.errors import ConflictError
from engine.definitions.flow_files import FlowDef
from engine.definitions.model import AppDef
from engine.expr import EvaluationContext, compile_formula, is_error
from engine.records.actor import Actor
from engine.records.events import RECORD_CREATED, RECORD_UPDATED, RecordEvent

if TYPE_CHECKING:
    from engine.flows.engine import FlowEngine
    from engine.records import RecordService

AUTO_TRIGGERS = ("create", "condition")


class AutoStart:
    """Starts the ``create`` and ``condition`` flows of the written record's form."""

    def __init__(self, flows: FlowEngine) -> None:
        self.flows = flows
        # By app definition (a new install or upgrade gives a new AppDef).
        self._index: dict[str, tuple[AppDef, dict[str, list[FlowDef]]]] = {}

    def by_form(self, app: AppDef) -> dict[str, list[FlowDef]]:
        known = self._index.get(app.key)
        if known is not None and known[0] is app:
            return known[1]
        index: dict[str, list[FlowDef]] = {}
        for flow in getattr(app, "flows", ()):
            if flow.enabled and flow.trigger.type in AUTO_TRIGGERS:
                index.setdefault(flow.form, []).append(flow)
        self._index[app.key] = (app, index)
        return index

    def handle(self, event: RecordEvent) -> None:
        if event.kind not in (RECORD_CREATED, RECORD_UPDATED) or event.source == "flow":
            return
        service = self.flows.records.cached(event.app) or self.flows.records.get(event.app)
        flows = self.by_form(service.app).get(event.form)
        if not flows or event.record.get("flow_status") == "running":
            return
        for flow in flows:
            # Imported records (a year of old tickets) start nothing unless asked, as rules do.
            if event.source == "import" and not flow.trigger.settings.get("on_import"):
                continue
            if self.fires(service, flow, event):
                submitter = event.user_id or event.record.get("owner")
                try:
                    self.flows.start(service, event.connection, flow, int(event.record["id"]),
                                     actor=Actor(int(submitter) if submitter else None, "flow"),
                                     check_rights=False)
                except ConflictError:
                    continue
                return  # one flow at a time per record

    def fires(self, service: RecordService, flow: FlowDef, event: RecordEvent) -> bool:
        if flow.trigger.type == "create":
            return event.kind == RECORD_CREATED
        condition = str(flow.trigger.settings.get("condition") or "")
        if not condition or not holds(service, flow.form, condition, event.record):
            return False
        return event.previous is None or not holds(service, flow.form, condition, event.previous)


def holds(service: RecordService, form: str, condition: str, record: Mapping[str, Any]) -> bool:
    """The condition over the record's own fields (an error value is false)."""
    compiled, _ = service.form(form)
    result = compile_formula(condition).evaluate(compiled.formula_values(record),
                                                 EvaluationContext(clock=service.clock))
    return not is_error(result) and bool(result)
