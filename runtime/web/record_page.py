"""The record page, ``/a/<app>/<form>/<id>``: the record's title, key facts
and the actions the reader may take; its fields as the form lays them out,
each shown by its type; the related lists (loaded when they come into view)
and the history (a page at a time).

Every read goes through the engine with the reader's ``Actor``: a record
outside their read scope is not found (a 404 page, as the API answers; a
403 would confirm that it exists), and the fields they may not see are not
in what the engine returns, so nothing here has to leave them out.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, request

from engine.core.errors import ConflictError, PermissionDenied
from engine.definitions.print_templates import templates_of
from engine.records.columns import system_field
from runtime.api.records import check_id, form_service
from runtime.web.approvals_record import flow_panel
from runtime.web.context import page, page_actor, render, services
from runtime.web.display import Shown
from runtime.web.i18n import current_language, gettext
from runtime.web.navigation import app_context, form_url
from runtime.web.record_page_history import history_page
from runtime.web.record_page_layout import lay_out
from runtime.web.record_page_related import (
    find_relation,
    related_list,
    relations_to,
    title_column_label,
)
from runtime.web.record_page_rules import rules_context

bp = Blueprint("records", __name__)

RECORD = "/a/<app_key>/<form_key>/<int:record_id>"
FACT_FIELDS = ("owner", "created_at", "updated_at")
FACT_SELECTS = 3  # the first select fields with a value show as tags under the title


def _record(app_key: str, form_key: str, record_id: int) -> tuple[Any, Any, dict[str, Any], Any]:
    service, compiled = form_service(app_key, form_key)
    check_id(compiled, record_id)
    actor = page_actor(app_key)
    record = dict(service.get(form_key, record_id, actor=actor))
    return service, compiled, record, actor


def title_of(form: Any, record: dict[str, Any]) -> str:
    title = record.get(form.title_field) if form.title_field else None
    return str(title) if title not in (None, "") else f"{form.label.text('en')} #{record['id']}"


@bp.get(RECORD)
@page
def record_page(app_key: str, form_key: str, record_id: int) -> Response:
    context = app_context(app_key, form_key)
    service, compiled, record, actor = _record(app_key, form_key, record_id)
    form = compiled.form
    policy = actor.policy(service, form_key)
    facts = [f for k in FACT_FIELDS if k in record and (f := system_field(k)) is not None]
    shown = Shown.prepare(service, app_key, form_key, [*form.fields, *facts], [record],
                          guard=policy.guard(), compact=False, record_id=record_id)
    tags = [f for f in form.fields if f.type == "select" and record.get(f.key) not in (None, "")]
    entries, next_before = history_page(service, app_key, form_key, record_id, actor)
    prints = templates_of(context["app"].prints, form_key)
    can_edit = policy.rights.allows("update")
    # Under approval the record is locked (engine.records.flow_lock): no edit
    # or delete button that could only be refused.
    locked = record.get("flow_status") == "running"
    return render(
        "records/page.html", **context, form=form, record=record, record_id=record_id,
        form_key=form_key, entries=entries, next_before=next_before,
        title=title_of(form, record), shown=shown, sections=lay_out(form, record, shown),
        tags=tags[:FACT_SELECTS], facts=facts, prints=prints,
        can_edit=can_edit and not locked, can_delete=policy.rights.allows("delete") and not locked,
        **rules_context(app_key, form_key, record_id, actor, can_edit),
        **flow_panel(app_key, form_key, record, actor),
        relations=relations_to(context["app"], form_key, actor, service),
        list_url=form_url(app_key, form_key),
        api_url=f"/api/v1/apps/{app_key}/forms/{form_key}/records/{record_id}")


@bp.get(f"{RECORD}/history")
@page
def history(app_key: str, form_key: str, record_id: int) -> Response:
    """A further page of the history (htmx: "show more")."""
    service, _compiled, _values, actor = _record(app_key, form_key, record_id)
    raw = request.args.get("before", "")
    before = int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 11 else None
    entries, next_before = history_page(service, app_key, form_key, record_id, actor, before)
    return render("records/_history.html", app_key=app_key, form_key=form_key, record_id=record_id,
                  entries=entries, next_before=next_before)


@bp.get(f"{RECORD}/related/<source_form>/<field_key>")
@page
def related(app_key: str, form_key: str, record_id: int, source_form: str, field_key: str) -> Response:
    """One related list (htmx, when it comes into view)."""
    service, _compiled, _values, actor = _record(app_key, form_key, record_id)
    app = services().records.app(app_key)
    relation = find_relation(app, form_key, source_form, field_key)
    if relation is None or relation not in relations_to(app, form_key, actor, service):
        abort(404)
    found = related_list(service, app_key, relation, record_id, actor)
    return render("records/_related.html", app_key=app_key, related=found,
                  title_label=title_column_label(relation))


@bp.post(f"{RECORD}/delete")
@page
def delete(app_key: str, form_key: str, record_id: int) -> Response:
    """Delete (after the page's confirmation), then back to the list with a notice."""
    service, compiled = form_service(app_key, form_key)
    check_id(compiled, record_id)
    actor = page_actor(app_key)
    raw = request.form.get("version", "")
    version = int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 11 else None
    record = dict(service.get(form_key, record_id, actor=actor))
    try:
        service.delete(form_key, record_id, version=version, actor=actor)
    except (ConflictError, PermissionDenied) as error:
        # Still linked from other records, changed meanwhile, or not theirs to
        # delete: the record page says why.
        flash(error.text(current_language()), "error")
        return redirect(request.path.rsplit("/", 1)[0])  # type: ignore[return-value]
    flash(gettext("Deleted %(title)s.", title=title_of(compiled.form, record)), "notice")
    return redirect(form_url(app_key, form_key))  # type: ignore[return-value]
