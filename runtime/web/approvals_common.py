"""What the approval pages share: an instance as the pages draw it (graph,
history, actions, the record as the flow shows it) and the people to pick
from. Everything is asked of ``FlowEngine`` with the reader's ``Actor``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import g, request

from engine.core.errors import NotFoundError, PermissionDenied
from engine.core.i18n import Label
from engine.flows.engine import FlowEngine
from engine.flows.views import AvailableAction, EventView, GraphView, InstanceView
from engine.records.actor import Actor
from engine.store.uploads import accept_upload
from runtime.web.context import identity, services
from runtime.web.display import Shown
from runtime.web.i18n import N_
from runtime.web.record_page_layout import lay_out

# The record's flow_status (and an instance's status) in words, and the badge's colour class.
STATUS_NAMES = {None: N_("Draft"), "draft": N_("Draft"), "running": N_("In approval"), "approved": N_("Approved"),
                "rejected": N_("Rejected"), "withdrawn": N_("Withdrawn")}
STATE_NAMES = {"done": N_("Done"), "current": N_("In progress"), "waiting": N_("Waiting"), "skipped": N_("Skipped"),
               "rejected": N_("Rejected")}
OUTCOME_NAMES = {None: N_("Awaiting"), "approved": N_("Approved"), "rejected": N_("Rejected"),
                 "returned": N_("Returned"), "transferred": N_("Transferred"), "cancelled": N_("Not needed"),
                 "read": N_("Read")}
EVENT_NAMES = {"submit": N_("submitted"), "approve": N_("approved"), "reject": N_("rejected"),
               "return": N_("returned it"), "transfer": N_("transferred it"), "add_sign": N_("added a signer"),
               "complete": N_("completed"), "withdraw": N_("withdrew it"), "urge": N_("urged the approvers"),
               "comment": N_("commented"), "auto_pass": N_("passed automatically"), "end": N_("ended"),
               "node": N_("reached"), "auto_reject": N_("rejected automatically"), "branch": N_("took a branch"), "cc": N_("copied"), "timeout": N_("timed out"), "remind": N_("reminded")}


def names() -> dict[str, Any]:
    """What the approval templates look words up in."""
    return {"node_label": node_label, "state_names": STATE_NAMES, "outcome_names": OUTCOME_NAMES,
            "status_names": STATUS_NAMES, "event_names": EVENT_NAMES}


def flows() -> FlowEngine:
    return services().flows  # type: ignore[no-any-return]


def person() -> Actor:
    """The reader with no app's rights: enough to find their own task (the engine checks the assignee)."""
    return Actor(user_id=identity().user_id, source="web")


@dataclass
class InstancePage:
    """One instance as a page draws it."""

    instance: InstanceView
    graph: GraphView
    history: list[EventView]
    actions: list[AvailableAction]

    @property
    def task_actions(self) -> list[AvailableAction]:
        return [a for a in self.actions if a.task_id is not None]

    def instance_action(self, key: str) -> AvailableAction | None:
        return next((a for a in self.actions if a.task_id is None and a.key == key), None)


def instance_page(instance_id: int, actor: Actor) -> InstancePage:
    engine = flows()
    return InstancePage(engine.instance(instance_id, actor=actor), engine.graph(instance_id, actor=actor),
                        engine.history(instance_id, actor=actor), engine.actions_for(instance_id, actor=actor))


def record_display(instance: InstanceView, actor: Actor) -> dict[str, Any]:
    """The record as the flow shows it to ``actor``: the record page's sections, hidden fields absent."""
    record, rights = flows().record_view(instance.id, actor=actor)
    service = flows().records.get(instance.app)
    compiled, _ = service.form(instance.form)
    form = compiled.form
    fields = [f for f in form.fields if rights.get(f.key) != "hidden" and f.key in record]
    shown = Shown.prepare(service, instance.app, instance.form, fields, [record], guard=None, compact=False,
                          record_id=instance.record_id)
    visible = {k: v for k, v in record.items() if rights.get(k) != "hidden"}
    return {"record": visible, "rights": rights, "labels": {f.key: f.label for f in fields}, "sections": lay_out(form, visible, shown), "form": form,
            "service": service, "compiled": compiled}


def people_names() -> dict[int, str]:
    """The active people, by id (the pickers of transfer, add-sign and the submitter's choices)."""
    found: dict[int, str] | None = g.get("approval_people")
    if found is None:
        found = g.approval_people = {u.id: u.name for u in services().org.list_users(active=True)}
    return found


def node_label(value: Any) -> Label:
    """A node's label as the engine gives it (a Label, or ``{"zh", "en"}`` in an action's choices)."""
    if isinstance(value, Label):
        return value
    return Label(str(value.get("zh", "")), str(value.get("en", "")))


def readable(instance: InstanceView, actor: Actor) -> bool:
    """Whether the reader may open the record itself (else the pages keep them on the flow's own pages)."""
    try:
        flows().records.get(instance.app).get(instance.form, instance.record_id, actor=actor)
    except (NotFoundError, PermissionDenied):
        return False
    return True


def posted_files() -> list[str]:
    """The files a dialog sent (``files``), stored as the upload endpoint stores them: their ids for the
    engine. A refused file raises the storage's ``ValidationError`` before the action runs."""
    chosen = [f for f in request.files.getlist("files") if f.filename]
    return [accept_upload(services().files, f.stream, f.filename or "file", f.mimetype or None,
                          created_by=identity().user_id).id for f in chosen]
