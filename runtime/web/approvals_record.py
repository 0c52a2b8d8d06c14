"""The record page's approval panel: the status badge, the newest
instance's graph and history (older instances listed), the submit button
with the path preview and a picker per choice, and withdraw / urge /
comment when the engine offers them. Its forms post here and come back to
the record page with a notice."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, flash, redirect, request

from engine.core.errors import ConflictError, NotFoundError, PermissionDenied, ValidationError
from engine.records.actor import Actor
from runtime.api.records import check_id, form_service
from runtime.web.approvals_common import flows, instance_page, names, people_names, posted_files
from runtime.web.context import page, page_actor
from runtime.web.i18n import N_, current_language, gettext

bp = Blueprint("record_approvals", __name__)
RECORD = "/a/<app_key>/<form_key>/<int:record_id>"
DONE = {"withdraw": N_("Withdrawn."), "urge": N_("The approvers were reminded."), "comment": N_("Comment added.")}
REFUSED = (ConflictError, PermissionDenied, ValidationError, NotFoundError)


def flow_panel(app_key: str, form_key: str, record: dict[str, Any], actor: Actor) -> dict[str, Any]:
    """What the record page's template needs for its approval panel (nothing when the form has no flow)."""
    engine = flows()
    record_id = int(record["id"])
    instances = engine.instances(app_key, form_key, record_id, actor=actor)
    if not instances and not engine.flows_for(app_key, form_key):
        return {"flow_panel": None}
    newest = instance_page(instances[0].id, actor) if instances else None
    options = None
    if record.get("flow_status") != "running":
        options = engine.start_options(app_key, form_key, record_id, actor=actor)
    return {"flow_panel": {
        "status": record.get("flow_status"), "newest": newest, "older": instances[1:], "options": options,
        "people": people_names(), **names(),
        # The record holds only what the reader may see: a history diff shows no other field.
        "labels": {f.key: f.label for f in engine.records.get(app_key).form(form_key)[0].form.fields
                   if f.key in record}}}


def _back(app_key: str, form_key: str, record_id: int) -> Response:
    return redirect(f"/a/{app_key}/{form_key}/{record_id}#approval", 303)  # type: ignore[return-value]


@bp.post(f"{RECORD}/submit")
@page
def submit(app_key: str, form_key: str, record_id: int) -> Response:
    _service, compiled = form_service(app_key, form_key)
    check_id(compiled, record_id)
    chosen: dict[str, list[int]] = {}
    for name in request.form:
        if name.startswith("chosen-"):
            chosen[name[len("chosen-"):]] = [int(v) for v in request.form.getlist(name)
                                             if v.isascii() and v.isdigit() and len(v) < 11]
    try:
        flows().submit(app_key, form_key, record_id, actor=page_actor(app_key), flow=request.form.get("flow") or None,
                       chosen=chosen, comment=request.form.get("comment", "").strip() or None)
    except REFUSED as error:
        flash(error.text(current_language()), "error")
    else:
        flash(gettext("Submitted for approval."), "notice")
    return _back(app_key, form_key, record_id)


@bp.post(f"{RECORD}/flows/<int:instance_id>/<what>")
@page
def instance_action(app_key: str, form_key: str, record_id: int, instance_id: int, what: str) -> Response:
    actor = page_actor(app_key)
    try:
        if what in DONE and flows().instance(instance_id, actor=actor).record_id == record_id:
            act_on_instance(instance_id, what, actor)  # another record's instance: nothing to do here
    except REFUSED as error:
        flash(error.text(current_language()), "error")
    return _back(app_key, form_key, record_id)


def act_on_instance(instance_id: int, what: str, actor: Actor) -> None:
    """Withdraw, urge or comment (with files) from a page's dialog; the outcome becomes a notice."""
    comment = request.form.get("comment", "").strip() or None
    engine = flows()
    if what == "comment" and not comment:
        flash(gettext("Write a comment first."), "error")
        return
    try:
        if what == "withdraw":
            engine.withdraw(instance_id, actor=actor, comment=comment)
        elif what == "urge":
            engine.urge(instance_id, actor=actor, comment=comment)
        else:
            engine.comment(instance_id, actor=actor, comment=comment or "", files=posted_files())
    except REFUSED as error:
        flash(error.text(current_language()), "error")
    else:
        flash(gettext(DONE[what]), "notice")
