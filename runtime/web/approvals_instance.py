"""An instance's own page, ``/inbox/flows/<instance_id>``, for whoever takes
part in a flow without the right to read its record (a submitter whose
role cannot open contracts, a cc recipient): the record as the flow shows
it, the graph, the history and withdraw / urge / comment. Also the people
the dialogs search (``/inbox/people?q=``) and the files attached to the
instance's events (``/inbox/flows/<id>/files/<file>``): a participant gets
them even when they could not download them from the record.

The engine decides who takes part (anyone else gets the 404 page)."""

from __future__ import annotations

from flask import Blueprint, Response, redirect, request

from engine.core.errors import NotFoundError
from engine.core.i18n import Label
from runtime.api.files import send_stored, stored_file
from runtime.jsonio import json_response
from runtime.web.approvals_common import flows, instance_page, names, readable, record_display
from runtime.web.approvals_record import DONE, act_on_instance
from runtime.web.context import page, page_actor, render, services
from runtime.web.form_pickers import matching

bp = Blueprint("approval_instances", __name__)
INSTANCE = "/inbox/flows/<int:instance_id>"


@bp.get("/inbox/people")
@page
def people() -> Response:
    """Active people whose name or login holds ``q`` (transfer and add-sign pick from all of them)."""
    return json_response({"options": matching(services().org.list_users(active=True),
                                              (request.args.get("q") or "").strip()[:100])})


@bp.get(INSTANCE)
@page
def instance_view(instance_id: int) -> Response:
    actor = page_actor(flows().app_of(instance_id))
    shown = instance_page(instance_id, actor)
    display = record_display(shown.instance, actor)
    i = shown.instance
    # The record page's approval panel, its dialogs posting here.
    panel = {"status": i.status, "newest": shown, "older": [], "options": None, "labels": display["labels"],
             "flow_url": f"/inbox/flows/{instance_id}", **names()}
    return render("approvals/instance.html", shown=shown, display=display, flow_panel=panel,
                  record_url=f"/a/{i.app}/{i.form}/{i.record_id}" if readable(i, actor) else None)


@bp.post(f"{INSTANCE}/<what>")
@page
def instance_post(instance_id: int, what: str) -> Response:
    if what in DONE:
        act_on_instance(instance_id, what, page_actor(flows().app_of(instance_id)))
    return redirect(f"/inbox/flows/{instance_id}", 303)  # type: ignore[return-value]


@bp.get(f"{INSTANCE}/files/<file_id>")
@page
def instance_file(instance_id: int, file_id: str) -> Response:
    actor = page_actor(flows().app_of(instance_id))
    attached = {f for e in flows().history(instance_id, actor=actor) for f in e.files}
    if file_id not in attached:  # one stored for something else is not theirs to learn of
        raise NotFoundError(Label("该审批中没有这个附件", "This approval has no such attachment"),
                            details={"file": file_id[:40]})
    return send_stored(stored_file(file_id))
