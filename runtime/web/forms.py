"""The create and edit form pages (DESIGN §13), with live form rules.

- ``GET  /a/<app>/<form>/new``: a blank form (query parameters pre-fill
  fields, named as the inputs are: ``?customer=12``); ``POST`` creates;
- ``GET  /a/<app>/<form>/<id>/edit``: the record's form, with its version;
  ``POST`` saves the changes made against that version;
- ``POST /a/<app>/<form>/evaluate`` (htmx): the form's current values, decoded
  as a save decodes them, go to ``RecordService.evaluate`` (the evaluator
  saves and imports use), and the answer swaps out of band only the parts of
  the page whose state changed (``form_page``);
- ``GET  /a/<app>/<form>/pick/<field>?q=`` and ``POST …/upload/<field>``:
  ``form_pickers``.

A failed save draws the form again with everything the reader typed and the
messages at their fields (a subform's at their row and cell); a stale version
shows who changed the record and offers to reload it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Blueprint, Response, current_app, g, redirect, request

from engine.core.errors import ConflictError, ValidationError
from engine.core.numbers import CURRENCY_SYMBOLS
from engine.definitions.model import FieldDef
from engine.fields.choice import options_of
from engine.records import RecordService
from engine.records.compiled import CompiledForm
from engine.records.record_history import record_history
from runtime.api.records import check_id, form_service
from runtime.web.context import page, page_actor, render, respond, services
from runtime.web.form_drawing import cell_unit, draw_changes, draw_input, field_unit, form_messages
from runtime.web.form_inputs import InputContext, PickerInput, Posted, decode_values, read_posted
from runtime.web.form_page import (
    DISPLAY,
    FORM_MESSAGES,
    FieldView,
    FormView,
    build_view,
    field_rights,
    read_digests,
    write_digests,
)
from runtime.web.i18n import current_language
from runtime.web.input_parts import PARTS
from runtime.web.navigation import app_context
from runtime.web.record_names import name_ids

bp = Blueprint("forms", __name__)
FORM = "/a/<app_key>/<form_key>"


def record_url(app_key: str, form_key: str, record_id: int) -> str:
    return f"/a/{app_key}/{form_key}/{record_id}"


class Editing:
    """One form being filled in by the reader: the service, the reader's
    rights on the form, and the record being edited (None: a new one)."""

    def __init__(self, app_key: str, form_key: str, record_id: int | None = None) -> None:
        self.app_key, self.form_key, self.record_id = app_key, form_key, record_id
        self.service: RecordService
        self.compiled: CompiledForm
        self.service, self.compiled = form_service(app_key, form_key)
        self.actor = page_actor(app_key)
        self.policy = self.actor.policy(self.service, form_key)
        self.record: dict[str, Any] | None = None
        if record_id is not None:
            check_id(self.compiled, record_id)
            self.record = dict(self.service.get(form_key, record_id, actor=self.actor))
        self.policy.require("create" if record_id is None else "update")
        self.hidden, self.editable = field_rights(self.policy, self.record)
        base = f"/a/{app_key}/{form_key}"
        g.form_page = {"base_url": base, "record_id": record_id,
                       "files_url": f"/api/v1/apps/{app_key}/forms/{form_key}/records/{record_id}/files/"}

    @property
    def inputs(self) -> list[Any]:
        return [f for f in self.compiled.form.fields if f.key in self.editable and f.key not in self.hidden]

    def decode(self, posted: Posted) -> dict[str, Any]:
        return decode_values(self.inputs, posted)

    def evaluate(self, typed: Mapping[str, Any]) -> Any:
        return self.service.evaluate(self.form_key, typed, record_id=self.record_id, actor=self.actor,
                                     defaults=self.record_id is None)

    def view(self, typed: Mapping[str, Any], errors: Mapping[str, list[str]] | None = None,
             before: Mapping[str, str] | None = None) -> FormView:
        """The form for ``typed``; ``before``: the page's digests (a live evaluation)."""
        state = self.evaluate(typed)
        if state.errors:
            errors = {**(errors or {}), "": [*(errors or {}).get("", []), *(m.text(current_language()) for m in state.errors)]}
        return build_view(self.compiled, state, typed, hidden=self.hidden, editable=self.editable,
                          errors=errors or {}, before=before)

    def show(self, views: list[FieldView]) -> None:
        """Work out what each of ``views`` shows (names of the ids they hold,
        once for all). A value only displayed is worded by ``display_text``
        (a picker's from what it shows): a live evaluation's changed units are
        mostly computed ones, and wording them twice cost as much as drawing them."""
        every = [view for view in (*views, *(cell for v in views for row in [*v.rows, v.blank_row] for cell in row))
                 if view.template != DISPLAY or isinstance(view.input, PickerInput)]
        if not every:
            return
        ctx = InputContext(zone=g.get("ui_zone") or InputContext().zone, locale=current_language())
        ctx.names = name_ids(self.service, self.compiled, every, services().org, self.actor)
        for view in every:
            view.shown = view.input.shown(view.f, view.ftype, view.value, ctx, view.path)

    def page(self, view: FormView, *, status: int = 200, conflict: dict[str, Any] | None = None,
             failed: bool = False) -> Response:
        self.show(list(view.fields.values()))
        form = self.compiled.form
        base = f"/a/{self.app_key}/{self.form_key}"
        cancel = record_url(self.app_key, self.form_key, self.record_id) if self.record_id else base
        return render(
            "forms/form.html", status=status, **app_context(self.app_key, self.form_key), form=form,
            view=view, digests=write_digests(view.digests()), record=self.record,
            record_id=self.record_id, action=request.path, cancel_url=cancel, base_url=base,
            evaluate_url=f"{base}/evaluate", conflict=conflict, failed=failed,
            zone=str(g.get("ui_zone") or "Asia/Shanghai"),
        )


def _field_errors(error: ValidationError, shown: set[str]) -> dict[str, list[str]]:
    """The messages by path; those of fields the page does not show go to the form's own."""
    language = current_language()
    found: dict[str, list[str]] = {}
    for path, messages in error.field_errors.items():
        root = path.split("[")[0].split(".")[0]
        target = path if root in shown else ""
        texts = [m.text(language) for m in messages]
        if target == "" and root and root not in shown:
            texts = [f"{root}: {t}" for t in texts]
        found.setdefault(target, []).extend(texts)
    return found


@bp.get(f"{FORM}/new")
@page
def new_record(app_key: str, form_key: str) -> Response:
    editing = Editing(app_key, form_key)
    return editing.page(editing.view(editing.decode(request.args)))


@bp.get(f"{FORM}/<int:record_id>/edit")
@page
def edit_record(app_key: str, form_key: str, record_id: int) -> Response:
    editing = Editing(app_key, form_key, record_id)
    return editing.page(editing.view({}))


@bp.post(f"{FORM}/new")
@page
def create_record(app_key: str, form_key: str) -> Response:
    editing = Editing(app_key, form_key)
    typed = editing.decode(request.form)
    try:
        record = editing.service.create(form_key, typed, actor=editing.actor)
    except ValidationError as error:
        return _failed(editing, typed, error)
    if request.form.get("_then") == "new":
        return redirect(f"/a/{app_key}/{form_key}/new?saved={record['id']}", 303)  # type: ignore[return-value]
    return redirect(record_url(app_key, form_key, int(record["id"])), 303)  # type: ignore[return-value]


@bp.post(f"{FORM}/<int:record_id>/edit")
@page
def update_record(app_key: str, form_key: str, record_id: int) -> Response:
    editing = Editing(app_key, form_key, record_id)
    typed = editing.decode(request.form)
    raw = request.form.get("version", "")
    version = int(raw) if raw.isdigit() else None
    try:
        editing.service.update(form_key, record_id, typed, actor=editing.actor, version=version)
    except ValidationError as error:
        return _failed(editing, typed, error)
    except ConflictError:
        return _conflict(editing, typed, version)
    return redirect(record_url(app_key, form_key, record_id), 303)  # type: ignore[return-value]


def _failed(editing: Editing, typed: Mapping[str, Any], error: ValidationError) -> Response:
    shown = {f.key for f in editing.compiled.form.fields if f.key not in editing.hidden}
    view = editing.view(typed, _field_errors(error, shown))
    if not view.messages:
        view.messages = [error.text(current_language())]
    return editing.page(view, status=409 if isinstance(error, ConflictError) else 400, failed=True)


def _conflict(editing: Editing, typed: Mapping[str, Any], version: int | None) -> Response:
    """The form as the reader left it, and what the others changed since
    the version they had (from the record's audit history)."""
    assert editing.record_id is not None
    current = editing.record or {}
    missed = max(int(current.get("version") or 1) - (version or 0), 1)
    entries = record_history(editing.service, editing.form_key, editing.record_id, actor=editing.actor,
                             limit=min(missed, 20))
    keys = {key for entry in entries for key in (entry.changes or {})}
    language = current_language()
    fields = [f for f in editing.compiled.form.fields if f.key in keys and f.key not in editing.hidden]
    conflict = {
        "by": entries[0].user_name if entries else "", "at": entries[0].at if entries else None,
        "fields": [(f.label.text(language),
                    editing.compiled.types[f.key].display(f, current.get(f.key), language)
                    if current.get(f.key) is not None else "") for f in fields],
    }
    return editing.page(editing.view(typed), status=409, conflict=conflict)


@bp.post(f"{FORM}/evaluate")
@page
def evaluate(app_key: str, form_key: str) -> Response:
    """The parts of the form whose state changed, as out-of-band swaps."""
    posted = read_posted()
    raw_id = posted.get("_record", "")
    editing = Editing(app_key, form_key, int(raw_id) if raw_id.isdigit() else None)
    typed = editing.decode(posted)
    before = read_digests(posted.get("_digests") or "")
    view = editing.view(typed, before=before)
    digests = view.digests()
    changed = view.changed(before)
    editing.show(changed)
    messages = view.messages if before.get(FORM_MESSAGES) != digests[FORM_MESSAGES] else None
    return respond(draw_changes(current_app.jinja_env, changed, messages, write_digests(digests)))


for _name, _part in PARTS.items():
    bp.add_app_template_global(_part, _name)
for _drawing in (draw_input, field_unit, cell_unit, form_messages):
    bp.add_app_template_global(_drawing)


@bp.app_template_global()
def form_page() -> dict[str, Any]:
    """Where the form being drawn lives (its URLs), for the input templates."""
    return g.get("form_page") or {}


@bp.app_template_global()
def currency_symbol(view: FieldView) -> str:
    code = str(view.f.setting("currency", "CNY"))
    return CURRENCY_SYMBOLS.get(code, code)


@bp.app_template_global()
def field_options(f: FieldDef) -> list[Any]:
    return options_of(f)
