"""The approval inbox, ``/inbox`` (tabs todo / done / cc / submitted, with
counts; filters app and search; keyset "load more"; batch approve or reject
on the todo tab), and one task, ``/inbox/<task_id>``: the record as the
flow shows it (inputs for the fields the node lets the assignee change),
the graph, the history and the action buttons with their dialogs.

Thin: the engine decides who sees and does what (someone else's task is a
404 page); an action it refuses comes back as a notice on the task page.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, flash, g, redirect, request
from sqlalchemy.exc import SQLAlchemyError

from engine.core.errors import ConflictError, PermissionDenied, ValidationError
from runtime.web.approvals_common import (
    OUTCOME_NAMES,
    STATUS_NAMES,
    flows,
    instance_page,
    names,
    person,
    posted_files,
    readable,
    record_display,
)
from runtime.web.context import identity, is_htmx, page, page_actor, render, services
from runtime.web.form_inputs import FORM_INPUTS, InputContext, decode_values
from runtime.web.form_page import FieldView
from runtime.web.i18n import N_, current_language, gettext, label_text
from runtime.web.record_names import name_ids

bp = Blueprint("approvals", __name__)

BOXES = {"todo": N_("To do"), "done": N_("Done"), "cc": N_("Copied to me"), "submitted": N_("Submitted by me")}
PAGE = 30
EDITS = ("editable", "required")


@bp.app_template_global()
def approval_count() -> int:
    """The reader's open approval tasks, for the header (none when the database cannot say)."""
    reader = g.get("identity")
    if reader is None:
        return 0
    found: int | None = g.get("approval_count")
    if found is None:
        try:
            found = g.approval_count = flows().counts(reader.user_id)["todo"]
        except SQLAlchemyError:
            return 0  # the error page of a database that is down still renders
    return found


def _number(name: str) -> int | None:
    raw = request.values.get(name, "")
    return int(raw) if raw.isascii() and raw.isdigit() and 0 < len(raw) < 11 else None


def _apps() -> list[tuple[str, str]]:
    records = services().records
    return [(key, label_text(records.app(key).label)) for key in records.app_keys()]


@bp.get("/inbox")
@page
def inbox_page() -> Response:
    me = identity().user_id
    box = request.args.get("box", "todo")
    box = box if box in BOXES else "todo"
    app = request.args.get("app") or None
    app = app if app in dict(_apps()) else None
    search = (request.args.get("search") or "").strip()[:100] or None
    found = flows().tasks(me, box, app=app, search=search, before=_number("before"), limit=PAGE)
    context: dict[str, Any] = {"box": box, "page": found, "app": app, "search": search or "",
                               "status_names": STATUS_NAMES, "outcome_names": OUTCOME_NAMES}
    if is_htmx() and request.args.get("before"):
        return render("approvals/_rows.html", **context)
    return render("approvals/inbox.html", boxes=BOXES, counts=flows().counts(me), apps=_apps(), **context)


@bp.post("/inbox/batch")
@page
def batch() -> Response:
    action = request.form.get("action", "")
    ids = [int(v) for v in request.form.getlist("task") if v.isascii() and v.isdigit() and len(v) < 11]
    if action not in ("approve", "reject") or not ids:
        flash(gettext("Choose the tasks first."), "error")
        return redirect("/inbox", 303)  # type: ignore[return-value]
    comment = request.form.get("comment", "").strip() or None
    results = flows().act_many(ids, action, actor=person(), comment=comment)
    done = sum(1 for r in results if r.ok)
    flash(gettext("%(done)s of %(count)s done.", done=done, count=len(results)), "notice")
    for r in results:
        if not r.ok and r.error is not None:
            flash(f"#{r.task_id}: {r.error.text(current_language())}", "error")
    return redirect("/inbox", 303)  # type: ignore[return-value]


def _edit_views(display: dict[str, Any], actor: Any, is_assignee: bool) -> list[FieldView]:
    """Inputs for the fields the current node lets the assignee change (the form page's inputs)."""
    if not is_assignee:
        return []
    compiled, record, rights = display["compiled"], display["record"], display["rights"]
    views = []
    for f in compiled.form.fields:
        if rights.get(f.key) in EDITS and f.type != "subform" and FORM_INPUTS.find(f.type) is not None:
            views.append(FieldView(f, compiled.types[f.key], FORM_INPUTS.get(f.type), f.key, f"f-{f.key}",
                                   record.get(f.key), required=rights[f.key] == "required", path=f.key))
    if views:
        ctx = InputContext(zone=g.get("ui_zone") or InputContext().zone, locale=current_language())
        ctx.names = name_ids(display["service"], compiled, views, services().org, actor)
        for view in views:
            view.shown = view.input.shown(view.f, view.ftype, view.value, ctx, view.path)
    return views


@bp.get("/inbox/<int:task_id>")
@page
def task_page(task_id: int) -> Response:
    task = flows().read_task(task_id, actor=person())
    actor = page_actor(task.app)
    shown = instance_page(task.instance_id, actor)
    display = record_display(shown.instance, actor)
    mine = [a for a in shown.task_actions if a.task_id == task_id]
    g.form_page = {"base_url": f"/a/{task.app}/{task.form}", "record_id": task.record_id,
                   "files_url": f"/api/v1/apps/{task.app}/forms/{task.form}/records/{task.record_id}/files/"}
    return render("approvals/task.html", task=task, shown=shown, mine=mine, display=display,
                  edits=_edit_views(display, actor, task.box == "todo"), **names(),
                  record_url=f"/a/{task.app}/{task.form}/{task.record_id}" if readable(shown.instance, actor) else None)


@bp.post("/inbox/<int:task_id>")
@page
def act(task_id: int) -> Response:
    task = flows().read_task(task_id, actor=person())
    actor = page_actor(task.app)
    action = request.form.get("action", "")
    values: dict[str, Any] | None = None
    if action in ("approve", "complete"):
        display = record_display(flows().instance(task.instance_id, actor=actor), actor)
        fields = [f for f in display["compiled"].form.fields if display["rights"].get(f.key) in EDITS]
        values = decode_values(fields, request.form) or None
    users = [int(v) for v in request.form.getlist("users") if v.isascii() and v.isdigit() and len(v) < 11]
    try:
        flows().act(task_id, action, actor=actor, comment=request.form.get("comment", "").strip() or None,
                    files=posted_files(), values=values, version=_number("version"), to=_number("to"), users=users,
                    position=request.form.get("position") or None, node=request.form.get("node") or None)
    except (ConflictError, PermissionDenied, ValidationError) as error:
        flash(error.text(current_language()), "error")
        for path, messages in getattr(error, "field_errors", {}).items():
            flash(f"{path}: {'; '.join(m.text(current_language()) for m in messages)}", "error")
        return redirect(f"/inbox/{task_id}", 303)  # type: ignore[return-value]
    flash(gettext("Done: %(title)s.", title=task.title), "notice")
    return redirect("/inbox", 303)  # type: ignore[return-value]
