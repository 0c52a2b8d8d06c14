"""List pages (DESIGN §13): ``/a/<app>/<form>`` shows a form's records as
its list views' tabs, with search, the filter builder, sort by header,
keyset "load more", the row count, bulk edit and delete, export and the
reader's personal views.

Every part that changes is an htmx request answered with HTML:
``.../rows`` (the results, or the next rows after a cursor), ``.../condition``
(one row of the filter builder), ``.../filter`` (the builder applied). The
URL keeps the state (``runtime.web.lists_state``), so reload and back work.
The rows come from the same engine calls as ``GET .../records``
(``RecordService.list`` and ``count`` with the reader's ``Actor``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, current_app, redirect, request
from markupsafe import Markup

from engine.records import Actor
from runtime.web.context import is_htmx, page, page_actor, render, services
from runtime.web.display import Shown
from runtime.web.i18n import gettext
from runtime.web.lists_filters import (
    MAX_CONDITIONS,
    Condition,
    chips,
    conditions_from_filter,
    conditions_from_form,
    describe,
    editable_fields,
    filter_fields,
    filter_from_form,
    flat_conditions,
)
from runtime.web.lists_state import ListState, read_state
from runtime.web.navigation import app_context

bp = Blueprint("lists", __name__)

LIST = "/a/<app_key>/<form_key>"


def list_state(app_key: str, form_key: str, *, strict: bool = True) -> tuple[ListState, Actor]:
    actor = page_actor(app_key)
    service = services().records.get(app_key)
    return read_state(service, app_key, form_key, actor, strict=strict), actor


def results(state: ListState, actor: Actor, *, counting: bool = True) -> dict[str, Any]:
    """A page of rows, shown by type, with the count and the next cursor."""
    service = state.service
    found = service.list(state.form_key, actor=actor, **state.list_arguments())
    records = found["records"]
    shown = Shown.prepare(service, state.app_key, state.form_key, [c.field for c in state.columns], records,
                          guard=state.policy.guard(), compact=True)
    context: dict[str, Any] = {"state": state, "records": records, "next": found["next"],
                               "rows": table_rows(state, shown, records)}
    if counting:
        cap = int(current_app.config.get("COUNT_CAP", 10_000))
        context["total"], context["exact"] = service.count(
            state.form_key, filter=state.effective_filter, search=state.search, cap=cap, actor=actor)
    return context


@dataclass(frozen=True)
class TableRow:
    id: int
    version: int
    select_label: str
    cells: list[tuple[str, str, Markup]]  # (column label, class, value)


def table_rows(state: ListState, shown: Shown, records: list[dict[str, Any]]) -> list[TableRow]:
    """Each record's cells, shown by type, the title cell linked to the record page
    (made here rather than in the template: a page has hundreds of cells)."""
    title = title_key(state)
    base = f"/a/{state.app_key}/{state.form_key}"
    select = gettext("Select %(name)s", name="%(name)s")
    found = []
    for record in records:
        cells = []
        for column in state.columns:
            cell = shown.value(column.field, record.get(column.key))
            if column.key == title:
                cell = Markup('<a href="%s/%s">%s</a>') % (base, record["id"], cell or f"#{record['id']}")
            cells.append((column.label, "title-cell" if column.key == title else "", cell))
        text = record.get(title) if title else None
        name = str(text) if text not in (None, "") else f"#{record['id']}"
        found.append(TableRow(record["id"], record.get("version") or 0, select % {"name": name}, cells))
    return found


def title_key(state: ListState) -> str | None:
    """The column linking to the record page: the title field's, else the first."""
    keys = [c.key for c in state.columns]
    title = state.form.title_field
    return title if title in keys else (keys[0] if keys else None)


def builder(state: ListState) -> dict[str, Any]:
    fields = filter_fields(state)
    flat = flat_conditions(state.filter)
    conditions = conditions_from_filter(state.filter, fields) or [Condition(0)]
    return {"filter_fields": fields, "conditions": conditions, "match": flat[0] if flat else "and",
            "editable_filter": flat is not None, "chips": chips(state)}


def region(state: ListState, actor: Actor) -> dict[str, Any]:
    """Everything the results region shows."""
    rights = state.policy.rights
    return {**results(state, actor), **builder(state),
            "editable": editable_fields(state) if rights.allows("update") else [],
            "base_description": describe(state, state.base_filter) if state.base_filter else "",
            "can_create": rights.allows("create"), "can_update": rights.allows("update"),
            "can_delete": rights.allows("delete"), "can_export": rights.allows("export"),
            "can_import": rights.allows("import")}


@bp.get(LIST)
@page
def list_page(app_key: str, form_key: str) -> Response:
    context = app_context(app_key, form_key)
    state, actor = list_state(app_key, form_key)
    return render("lists/page.html", **context, **region(state, actor))


@bp.get(f"{LIST}/rows")
@page
def rows(app_key: str, form_key: str) -> Response:
    """The results region (with the URL to push), or the rows after ``after``."""
    state, actor = list_state(app_key, form_key)
    if state.after:
        return render("lists/more.html", **results(state, actor, counting=False))
    response = render("lists/region.html", app_key=app_key, **region(state, actor))
    response.headers["HX-Push-Url"] = state.url()
    return response


@bp.get(f"{LIST}/filter")
@page
def apply_filter(app_key: str, form_key: str) -> Response:
    """The builder's conditions as the reader's filter (tab, sort and search kept)."""
    state, actor = list_state(app_key, form_key, strict=False)
    state.filter = filter_from_form(request.args, filter_fields(state))
    target = state.url()
    if not is_htmx():
        return redirect(target)  # type: ignore[return-value]
    response = render("lists/region.html", app_key=app_key, **region(state, actor))
    response.headers["HX-Push-Url"] = target
    return response


@bp.get(f"{LIST}/condition")
@page
def condition_row(app_key: str, form_key: str) -> Response:
    """One row of the filter builder, for its field and operator as chosen."""
    raw = request.args.get("i", "0")
    index = int(raw) if raw.isdigit() and int(raw) < MAX_CONDITIONS else 0
    state, _actor = list_state(app_key, form_key, strict=False)
    fields = filter_fields(state)
    found = [c for c in conditions_from_form(request.args, fields) if c.index == index]
    return render("lists/condition.html", condition=found[0] if found else Condition(index), filter_fields=fields)
