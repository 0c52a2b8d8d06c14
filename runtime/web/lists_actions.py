"""What a list page does to its records: bulk edit and bulk delete of the
selected rows, export of what is shown, and the reader's personal views.

Bulk writes go through ``engine.records.bulk_writes`` (a savepoint per
record, each checked by ``RecordService.update``/``delete`` with the
reader's ``Actor``): the records that pass are written, the others are
reported with the reason (a stale version, a refused permission, a bad
value), and the rows reload.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Response, redirect, request

from engine.core.errors import QiqiaoError, ValidationError
from engine.core.i18n import Label
from engine.records.bulk_writes import delete_each, update_each
from engine.records.personal_views import PersonalViews
from runtime.api.exchange import FORMATS, send_export
from runtime.auth import actor_for
from runtime.web.context import is_htmx, page, render
from runtime.web.i18n import current_language
from runtime.web.lists import LIST, bp, list_state
from runtime.web.lists_filters import editable_fields, value_input
from runtime.web.lists_state import ListState

MAX_SELECTED = 1000


@dataclass(frozen=True)
class Failure:
    record_id: int | None
    reason: str


def _selected() -> list[tuple[int, int]]:
    """The selected rows' ``(id, version)`` (the versions the reader saw)."""
    chosen = []
    for raw in request.form.getlist("ids"):
        record_id, _, version = raw.partition(":")
        if record_id.isdigit() and version.isdigit():
            chosen.append((int(record_id), int(version)))
    if not chosen or len(chosen) > MAX_SELECTED:
        message = Label(f"请选择 1 到 {MAX_SELECTED} 条记录", f"Select 1 to {MAX_SELECTED} records")
        raise ValidationError(message, field_errors={"ids": [message]})
    return chosen


def _reason(error: QiqiaoError) -> str:
    language = current_language()
    details = getattr(error, "field_errors", None) or {}
    parts = [f"{key}: {m.text(language)}" for key, messages in details.items() for m in messages]
    return "; ".join(parts) or error.text(language)


def _report(state: ListState, done: int, failures: dict[int, QiqiaoError], ids: list[int], action: str) -> Response:
    found = [Failure(ids[i] if i < len(ids) else None, _reason(e)) for i, e in sorted(failures.items())]
    response = render("lists/bulk_result.html", state=state, done=done, failures=found, action=action)
    response.headers["HX-Trigger"] = "list-changed"
    return response


@bp.post(f"{LIST}/bulk/edit")
@page
def bulk_edit(app_key: str, form_key: str) -> Response:
    state, actor = list_state(app_key, form_key, strict=False)
    chosen = _selected()
    key = request.form.get("field", "")
    f = next((f for f in editable_fields(state) if f.key == key), None)
    if f is None:
        message = Label("请选择可修改的字段", "Choose a field you may change")
        raise ValidationError(message, field_errors={"field": [message]})
    values = [v for v in request.form.getlist("value") if v != ""]
    value: Any = values if f.type == "multiselect" else (values[0] if values else None)
    rows: list[Any] = [(record_id, version, {f.key: value}) for record_id, version in chosen]
    updated, failures = update_each(state.service, form_key, rows, actor=actor, all_or_nothing=False)
    return _report(state, len(updated), failures, [i for i, _ in chosen], "edit")


@bp.post(f"{LIST}/bulk/delete")
@page
def bulk_delete(app_key: str, form_key: str) -> Response:
    state, actor = list_state(app_key, form_key, strict=False)
    chosen = _selected()
    deleted, failures = delete_each(state.service, form_key, chosen, actor=actor)
    return _report(state, len(deleted), failures, [i for i, _ in chosen], "delete")


@bp.get(f"{LIST}/bulk/value")
@page
def bulk_value(app_key: str, form_key: str) -> Response:
    """The value input for the field chosen in the bulk edit."""
    state, _actor = list_state(app_key, form_key, strict=False)
    f = next((f for f in editable_fields(state) if f.key == request.args.get("field")), None)
    return render("lists/bulk_value.html", field=f, input=value_input(f))


@bp.get(f"{LIST}/export")
@page
def export(app_key: str, form_key: str) -> Response:
    """What is shown (tab, filter, sort, search, columns) as a file."""
    state, _actor = list_state(app_key, form_key, strict=False)
    chosen = request.args.get("format", "xlsx")
    if chosen not in FORMATS:
        message = Label("format 应为 xlsx 或 csv", "format must be xlsx or csv")
        raise ValidationError(message, field_errors={"format": [message]})
    return send_export(state.service, app_key, form_key, chosen, view=None, filter=state.effective_filter,
                       columns=[c.key for c in state.columns] or None, sort=state.effective_sort or None,
                       search=state.search, header="label", actor=actor_for(app_key, source="export"))


def _go(target: str) -> Response:
    if is_htmx():
        response = Response(status=204)
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target)  # type: ignore[return-value]


@bp.post(f"{LIST}/views")
@page
def save_view(app_key: str, form_key: str) -> Response:
    """The current columns, filter and sort as a personal view of the reader's."""
    state, actor = list_state(app_key, form_key, strict=False)
    saved = PersonalViews(state.service).save(
        form_key, request.form.get("name", ""), columns=[c.key for c in state.columns],
        filter=state.effective_filter, sort=state.effective_sort, actor=actor)
    return _go(state.tab_url(pv=saved.id))


@bp.post(f"{LIST}/views/<int:view_id>/delete")
@page
def delete_view(app_key: str, form_key: str, view_id: int) -> Response:
    state, actor = list_state(app_key, form_key, strict=False)
    PersonalViews(state.service).delete(actor.user_id or 0, form_key, view_id)
    return _go(state.tab_url())
