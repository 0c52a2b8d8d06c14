"""What a create or edit form shows: each field's input or display, its
state (visible, required, read-only), its value and its messages, laid out
in the form definition's rows.

A form is cut into *units*, each a part of the page with an id that a live
evaluation may swap on its own: every top-level field's wrapper
(``f-<key>``), every subform cell (``f-<key>-<i>-<child>``) and the form's
own messages (``form-messages``). ``digest`` gives each unit a short text
that changes with its state; the page keeps the digests it shows in a hidden
input, so an evaluation answers only the units whose digest changed.
"""

from __future__ import annotations

import hashlib
import re
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.definitions.model import FieldDef
from engine.fields.base import FieldType
from engine.records import RecordService
from engine.records.access import FormPolicy
from engine.records.compiled import CompiledForm, FormState
from runtime.web.form_inputs import FORM_INPUTS, ComputedInput, FormInput, InputContext, LayoutInput

FORM_MESSAGES = "form-messages"
_PATH = re.compile(r"^(?P<key>[a-z][a-z0-9_]*)(?:\[(?P<index>\d+)\](?:\.(?P<child>[a-z][a-z0-9_]*))?)?")


@dataclass
class FieldView:
    """One field (or subform cell) as the page draws it."""

    f: FieldDef
    ftype: FieldType
    input: FormInput
    name: str  # the posted name
    unit: str  # the DOM id of its wrapper
    value: Any
    visible: bool = True
    required: bool = False
    editable: bool = True
    errors: list[str] = field(default_factory=list)
    path: str = ""  # for names of ids: "customer", "items.product"
    rows: list[list[FieldView]] = field(default_factory=list)  # a subform's cells
    row_ids: list[Any] = field(default_factory=list)  # a subform's stored row ids (None: new)
    blank_row: list[FieldView] = field(default_factory=list)  # a subform's template row
    shown: Any = None
    # The input shows what the reader typed (or the value it was drawn with):
    # a change of value alone is then no reason to draw it again.
    as_typed: bool = True

    @property
    def layout(self) -> bool:
        return isinstance(self.input, LayoutInput)

    @property
    def computed(self) -> bool:
        return isinstance(self.input, ComputedInput) and not self.layout

    @property
    def template(self) -> str:
        if not self.editable and not self.layout and self.f.type != "subform":
            return "inputs/display.html"
        return self.input.template_name()

    def digest(self) -> str:
        # A subform's rows are units of their own (its cells): its wrapper
        # changes with its state, not with what is typed in a row. Most
        # units show no message and the value typed: their flags alone say
        # it, with no hashing (every unit is digested on every keystroke).
        value = None if self.rows or self.blank_row or (self.editable and self.as_typed) else self.value
        flags = f"{self.visible:d}{self.required:d}{self.editable:d}"
        if not self.errors and value is None:
            return flags
        return flags + _hash(repr((self.errors, value)))


def _hash(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=5).hexdigest()


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


@dataclass
class FormView:
    """The fields of a form for one reader, in layout rows."""

    rows: list[list[FieldView]]
    fields: dict[str, FieldView]
    messages: list[str]

    def units(self) -> dict[str, FieldView]:
        found: dict[str, FieldView] = {}
        for view in self.fields.values():
            if view.layout:
                continue
            found[view.unit] = view
            for row in view.rows:
                for cell in row:
                    found[cell.unit] = cell
        return found

    def digests(self) -> dict[str, str]:
        found = {unit: view.digest() for unit, view in self.units().items()}
        found[FORM_MESSAGES] = _hash("\n".join(self.messages)) if self.messages else "0"
        return found


def write_digests(digests: Mapping[str, str]) -> str:
    """The digests as the page keeps them: ``unit.digest.unit.digest…``.
    Unit ids and digests have no dot, and nothing in it needs escaping in a
    URL-encoded post (JSON's quotes did, and took longer to read back)."""
    return ".".join(f"{unit}.{digest}" for unit, digest in digests.items())


def read_digests(text: str) -> dict[str, str]:
    """What ``write_digests`` wrote; anything else reads as no digests (every unit is drawn)."""
    parts = text.split(".")
    if len(parts) % 2:
        return {}
    return dict(zip(parts[::2], parts[1::2], strict=True))


def field_rights(policy: FormPolicy, record: Mapping[str, Any] | None) -> tuple[set[str], set[str]]:
    """The keys the reader may not see here, and those they may change."""
    hidden = policy.hidden_fields(record or {})
    keys = [f.key for f in policy.compiled.form.fields]
    if policy.unrestricted:
        return hidden, set(keys)
    grants = (policy.creating_grants() if record is None
              else tuple(g for g in policy.rights.writers if g.allows("update")))
    return hidden, {k for k in keys if any(g.lets_edit(k) for g in grants)}


@dataclass(frozen=True)
class _Slot:
    """What a field's view always has, whatever the values: worked out once per compiled form."""

    f: FieldDef
    ftype: FieldType
    input: FormInput
    children: tuple[_Slot, ...] = ()


_SLOTS: weakref.WeakKeyDictionary[CompiledForm, tuple[_Slot, ...]] = weakref.WeakKeyDictionary()


def _slots(compiled: CompiledForm) -> tuple[_Slot, ...]:
    found = _SLOTS.get(compiled)
    if found is None:
        found = _SLOTS[compiled] = tuple(
            _Slot(f, compiled.types[f.key], FORM_INPUTS.get(f.type),
                  tuple(_Slot(c, compiled.child_types[f.key][c.key], FORM_INPUTS.get(c.type)) for c in f.fields)
                  if f.type == "subform" else ())
            for f in compiled.form.fields)
    return found


def build_view(
    compiled: CompiledForm, state: FormState, typed: Mapping[str, Any], *,
    hidden: set[str], editable: set[str], errors: Mapping[str, list[str]],
) -> FormView:
    """The form for ``state``: inputs show what the reader typed (``typed``,
    as decoded) where the engine could not read it, else the engine's value.

    Whether a value is what the reader typed compares it with the engine's
    own reading of the input (``state.inputs``), not a second coercion: this
    runs on every keystroke."""
    fields: dict[str, FieldView] = {}
    for slot in _slots(compiled):
        f, ftype = slot.f, slot.ftype
        key = f.key
        if key in hidden:
            continue
        keep_typed = key in typed and (key in state.input_errors or key in errors)
        value = typed[key] if keep_typed else state.values.get(key, typed.get(key))
        view = FieldView(
            f, ftype, slot.input, key, f"f-{key}", value, path=key,
            visible=state.visible.get(key, not f.hidden), required=state.required.get(key, f.required),
            editable=key in editable and not state.readonly.get(key, f.readonly) and not ftype.computed,
            errors=_messages(errors.get(key), state.input_errors.get(key)),
            as_typed=keep_typed or slot.children != () or _as_typed(state.inputs, typed, key, value),
        )
        if slot.children:
            given = typed.get(key) if key in typed and _row_problems(key, state, errors) else value
            items = [row for row in given or () if isinstance(row, Mapping)]
            posted, clean = typed.get(key), state.inputs.get(key)
            typed_rows: list[Any] = posted if isinstance(posted, list) else []
            clean_rows: list[Any] = clean if isinstance(clean, list) else []
            view.rows = [_cells(slot, index, row, view.editable, state, errors,
                                typed_rows[index] if index < len(typed_rows) else {},
                                clean_rows[index] if index < len(clean_rows) else {})
                         for index, row in enumerate(items)]
            view.row_ids = [row.get("id") for row in items]
            view.blank_row = _cells(slot, "__i__", _row_defaults(compiled, f), view.editable, state, {}, {}, {})
            view.errors += [m for path, ms in errors.items() if _row_level(path, key) for m in ms]
        fields[key] = view
    if state.formula_errors:
        for key, problem in state.formula_errors.items():
            if key in fields:
                fields[key].value = problem
    rows: list[list[FieldView]] = []
    placed: set[str] = set()
    for layout_row in compiled.form.layout:
        row = [fields[k] for k in layout_row.get("fields", ()) if k in fields and k not in placed]
        placed.update(layout_row.get("fields", ()))
        if row:
            rows.append(row)
    rows.extend([view] for key, view in fields.items() if key not in placed)
    messages = [m for m in errors.get("", [])]
    return FormView(rows, fields, messages)


def _as_typed(clean: Mapping[str, Any], typed: Any, key: str, value: Any) -> bool:
    """Whether ``value`` is what the reader typed (or they typed nothing for
    it, or nothing the engine could read: ``clean`` holds what it read)."""
    if not isinstance(typed, Mapping) or key not in typed or key not in clean:
        return True
    return bool(clean[key] == value)


def _messages(*groups: Any) -> list[str]:
    found: list[str] = []
    for group in groups:
        if group is None:
            continue
        for message in group if isinstance(group, list) else [group]:
            text = message if isinstance(message, str) else message.text(_locale())
            if text not in found:
                found.append(text)
    return found


def _locale() -> str:
    from runtime.web.i18n import current_language

    return current_language()


def _row_problems(key: str, state: FormState, errors: Mapping[str, list[str]]) -> bool:
    prefix = f"{key}["
    return any(p.startswith(prefix) for p in (*state.input_errors, *errors))


def _row_level(path: str, key: str) -> bool:
    match = _PATH.match(path)
    return bool(match and match.group("key") == key and match.group("index") is not None
                and match.group("child") is None)


def _row_defaults(compiled: CompiledForm, sub: FieldDef) -> dict[str, Any]:
    from engine.records.prepare import row_defaults

    return row_defaults(sub, compiled.child_types[sub.key], {})


def _cells(
    slot: _Slot, index: int | str, row: Mapping[str, Any], editable: bool, state: FormState,
    errors: Mapping[str, list[str]], typed: Mapping[str, Any], clean: Mapping[str, Any],
) -> list[FieldView]:
    key = slot.f.key
    cells = []
    for cell in slot.children:
        child, ftype = cell.f, cell.ftype
        where = f"{key}[{index}].{child.key}"
        value = row.get(child.key)
        problems = state.input_errors.get(where)
        cells.append(FieldView(
            child, ftype, cell.input, f"{key}[{index}][{child.key}]", f"f-{key}-{index}-{child.key}",
            value, required=child.required, path=f"{key}.{child.key}",
            editable=editable and not child.readonly and not ftype.computed,
            errors=_messages(errors.get(where), problems) if problems or where in errors else [],
            as_typed=problems is not None or _as_typed(clean, typed, child.key, value),
        ))
    return cells


# --- names of the ids pickers hold ------------------------------------------------------

def name_ids(service: RecordService, compiled: CompiledForm, views: Iterable[FieldView], org: Any,
             actor: Any) -> dict[str, dict[int, str]]:
    """Text for the ids that relation, member and department inputs hold:
    a record's title (only records the reader may read), a person's or a
    department's name."""
    wanted: dict[str, tuple[FieldDef, set[int]]] = {}
    for view in views:
        if view.f.type in ("relation", "member", "department") and view.path:
            ids = {i for i, _ in FORM_INPUTS.get(view.f.type).shown(view.f, view.ftype, view.value,
                                                                     InputContext(), "")}
            if ids:
                entry = wanted.setdefault(view.path, (view.f, set()))
                entry[1].update(ids)
    names: dict[str, dict[int, str]] = {}
    people: dict[str, dict[int, str]] = {}
    for path, (f, ids) in wanted.items():
        if f.type == "relation":
            names[path] = record_titles(service, str(f.setting("target")), ids, actor)
        else:
            if f.type not in people:
                items = org.list_users() if f.type == "member" else org.list_departments()
                people[f.type] = {item.id: item.name for item in items}
            names[path] = {i: people[f.type].get(i, f"#{i}") for i in ids}
    return names


def record_titles(service: RecordService, target: str, ids: Iterable[int], actor: Any) -> dict[int, str]:
    """Titles of the records of ``target`` among ``ids`` the reader may read."""
    ids = sorted(set(ids))
    if not ids:
        return {}
    compiled, _ = service.form(target)
    title = compiled.form.title_field
    page = service.list(target, filter={"field": "id", "op": "in", "value": ids},
                        fields=[title] if title else [], limit=len(ids), actor=actor)
    return {int(r["id"]): title_text(compiled, r) for r in page["records"]}


def title_text(compiled: CompiledForm, record: Mapping[str, Any]) -> str:
    title = compiled.form.title_field
    if title and record.get(title) not in (None, ""):
        f = compiled.form.get_field(title)
        return compiled.types[title].display(f, record[title], _locale())
    return f"#{record['id']}"
