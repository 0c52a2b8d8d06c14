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
import itertools
import re
import threading
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.definitions.model import FieldDef
from engine.fields.base import FieldType
from engine.records.access import FormPolicy
from engine.records.compiled import CompiledForm, FormState
from runtime.web.form_inputs import FORM_INPUTS, ComputedInput, FormInput, LayoutInput

FORM_MESSAGES = "form-messages"
DISPLAY = "inputs/display.html"  # a value the reader may not change here
_PATH = re.compile(r"^(?P<key>[a-z][a-z0-9_]*)(?:\[(?P<index>\d+)\](?:\.(?P<child>[a-z][a-z0-9_]*))?)?")


@dataclass(eq=False)
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
    digest: str = ""  # its state, short (``unit_digest``)

    @property
    def cell(self) -> bool:
        """Whether it is a subform's cell (its posted name ends with the child's key in brackets)."""
        return self.name.endswith("]")

    @property
    def layout(self) -> bool:
        return isinstance(self.input, LayoutInput)

    @property
    def computed(self) -> bool:
        return isinstance(self.input, ComputedInput) and not self.layout

    @property
    def template(self) -> str:
        if not self.editable and not self.layout and self.f.type != "subform":
            return DISPLAY
        return self.input.template_name()


_FLAGS = {(v, r, e): f"{v:d}{r:d}{e:d}" for v in (False, True) for r in (False, True) for e in (False, True)}


def unit_digest(visible: bool, required: bool, editable: bool, errors: list[str], value: Any) -> str:
    """A unit's state, short: what changes it changes the digest. ``value``
    is None where the input shows what the reader typed (a change of value
    alone is then no reason to draw it again) and for a subform, whose rows
    are units of their own. Most units show no message and no value of the
    engine's: their flags alone say it, with no hashing (every unit is
    digested on every keystroke)."""
    flags = _FLAGS[bool(visible), bool(required), bool(editable)]
    if not errors and value is None:
        return flags
    return flags + _hash(repr((errors, value)))


def _hash(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=5).hexdigest()


@dataclass
class FormView:
    """The fields of a form for one reader, in layout rows.

    ``digests`` has every unit's digest; ``views`` the units drawn: all of
    them, or for a live evaluation (``build_view(before=...)``) those whose
    digest changed (and all cells of a subform whose wrapper changed)."""

    rows: list[list[FieldView]]
    fields: dict[str, FieldView]
    messages: list[str]
    unit_digests: dict[str, str] = field(default_factory=dict)
    views: dict[str, FieldView] = field(default_factory=dict)

    def digests(self) -> dict[str, str]:
        return {**self.unit_digests, FORM_MESSAGES: _hash("\n".join(self.messages)) if self.messages else "0"}

    def changed(self, before: Mapping[str, str]) -> list[FieldView]:
        """The units whose digest differs from ``before`` (the page's); only
        views made can differ (``build_view`` makes no other)."""
        return [v for u, v in self.views.items() if before.get(u) != v.digest]


# What write_digests wrote lately, read: the page posts it back with its next
# keystroke, and reading 130 parts back was a tenth of an answer's own work.
_WRITTEN: dict[str, dict[str, str]] = {}
_WRITTEN_KEPT = 256
_WRITTEN_LOCK = threading.Lock()


def write_digests(digests: Mapping[str, str]) -> str:
    """The digests as the page keeps them: ``unit.digest.unit.digest…``.
    Unit ids and digests have no dot, and nothing in it needs escaping in a
    URL-encoded post (JSON's quotes did, and took longer to read back)."""
    text = ".".join(itertools.chain.from_iterable(digests.items()))
    with _WRITTEN_LOCK:
        if len(_WRITTEN) >= _WRITTEN_KEPT:
            del _WRITTEN[next(iter(_WRITTEN))]
        _WRITTEN[text] = dict(digests)
    return text


def read_digests(text: str) -> Mapping[str, str]:
    """What ``write_digests`` wrote; anything else reads as no digests (every unit is drawn)."""
    found = _WRITTEN.get(text)
    if found is not None:
        return found
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
    path: str = ""  # a cell's: "items.product"
    editable: bool = True  # a cell's, where its subform is
    unit: str = ""  # a top-level field's: its wrapper's id
    layout: bool = False
    key: str = ""  # a cell's child key
    as_typed: str = ""  # a cell's digest when the reader may change it, it has no message and shows what was typed
    rows: dict[int | str, tuple[tuple[str, str, str], ...]] = field(default_factory=dict, compare=False)


_ROWS_KEPT = 1000  # a subform's rows whose cells' names are kept (posted indexes are open-ended)


_SLOTS: weakref.WeakKeyDictionary[CompiledForm, tuple[_Slot, ...]] = weakref.WeakKeyDictionary()


def _slots(compiled: CompiledForm) -> tuple[_Slot, ...]:
    found = _SLOTS.get(compiled)
    if found is None:
        found = _SLOTS[compiled] = tuple(_slot(compiled, f) for f in compiled.form.fields)
    return found


def _slot(compiled: CompiledForm, f: FieldDef) -> _Slot:
    form_input = FORM_INPUTS.get(f.type)
    if f.type != "subform":
        return _Slot(f, compiled.types[f.key], form_input, unit=f"f-{f.key}",
                     layout=isinstance(form_input, LayoutInput))
    types = compiled.child_types[f.key]
    children = tuple(_Slot(c, types[c.key], FORM_INPUTS.get(c.type), path=f"{f.key}.{c.key}",
                           editable=not c.readonly and not types[c.key].computed, key=c.key,
                           as_typed=unit_digest(True, c.required, True, [], None)) for c in f.fields)
    return _Slot(f, compiled.types[f.key], form_input, children, unit=f"f-{f.key}")


def build_view(
    compiled: CompiledForm, state: FormState, typed: Mapping[str, Any], *,
    hidden: set[str], editable: set[str], errors: Mapping[str, list[str]],
    before: Mapping[str, str] | None = None,
) -> FormView:
    """The form for ``state``: inputs show what the reader typed (``typed``,
    as decoded) where the engine could not read it, else the engine's value.

    Whether a value is what the reader typed compares it with the engine's
    own reading of the input (``state.inputs``), not a second coercion.
    ``before``: the digests the page shows (a live evaluation): a unit
    whose digest did not change gets no view (it is not drawn), and the view
    has no layout rows (``fields`` holds the views made), as this runs on
    every keystroke."""
    fields: dict[str, FieldView] = {}
    drawn: dict[str, FieldView] = {}
    digests: dict[str, str] = {}
    input_errors, values = state.input_errors, state.values
    for slot in _slots(compiled):
        f = slot.f
        key = f.key
        if key in hidden:
            continue
        keep_typed = key in typed and (key in input_errors or key in errors)
        value = typed[key] if keep_typed else values.get(key, typed.get(key))
        as_typed = keep_typed or _as_typed(state.inputs, typed, key, value)
        if key in state.formula_errors:
            value = state.formula_errors[key]
        visible = state.visible.get(key, not f.hidden)
        required = state.required.get(key, f.required)
        can_edit = key in editable and not state.readonly.get(key, f.readonly) and not slot.ftype.computed
        given, problems = errors.get(key), input_errors.get(key)
        messages = _messages(given, problems) if given is not None or problems is not None else []
        if slot.children:
            messages += [m for path, ms in errors.items() if _row_level(path, key) for m in ms]
        shows_typed = slot.children or (can_edit and as_typed)
        digest = unit_digest(visible, required, can_edit, messages, None if shows_typed else value)
        if not slot.layout:
            digests[slot.unit] = digest
        if before is not None and not slot.children and (slot.layout or before.get(slot.unit) == digest):
            continue
        view = fields[key] = FieldView(f, slot.ftype, slot.input, key, slot.unit, value, visible, required, can_edit,
                                       messages, path=key, digest=digest)
        if not slot.layout:
            drawn[slot.unit] = view
        if slot.children:
            every = before is None or before.get(slot.unit) != digest
            _subform(compiled, slot, view, state, typed, errors, digests, drawn, None if every else before)
    messages = [m for m in errors.get("", [])]
    return FormView(_layout_rows(compiled, fields) if before is None else [], fields, messages, digests, drawn)


def _layout_rows(compiled: CompiledForm, fields: dict[str, FieldView]) -> list[list[FieldView]]:
    rows: list[list[FieldView]] = []
    placed: set[str] = set()
    for layout_row in compiled.form.layout:
        row = [fields[k] for k in layout_row.get("fields", ()) if k in fields and k not in placed]
        placed.update(layout_row.get("fields", ()))
        if row:
            rows.append(row)
    rows.extend([view] for key, view in fields.items() if key not in placed)
    return rows


def _subform(
    compiled: CompiledForm, slot: _Slot, view: FieldView, state: FormState, typed: Mapping[str, Any],
    errors: Mapping[str, list[str]], digests: dict[str, str], drawn: dict[str, FieldView],
    before: Mapping[str, str] | None,
) -> None:
    """A subform's rows of cells (only the changed ones when ``before`` is given) and its blank row."""
    key = slot.f.key
    troubled = _row_problems(key, state, errors)
    given = typed.get(key) if key in typed and troubled else view.value
    items = [row for row in given or () if isinstance(row, Mapping)]
    posted, clean = typed.get(key), state.inputs.get(key)
    typed_rows: list[Any] = posted if isinstance(posted, list) else []
    clean_rows: list[Any] = clean if isinstance(clean, list) else []
    for index, row in enumerate(items):
        cells = _cells(slot, index, row, view.editable, state, errors if troubled else None,
                       typed_rows[index] if index < len(typed_rows) else {},
                       clean_rows[index] if index < len(clean_rows) else {}, digests, before)
        view.rows.append(cells)
        if cells:
            drawn.update((cell.unit, cell) for cell in cells)
    view.row_ids = [row.get("id") for row in items]
    if before is None:
        view.blank_row = _cells(slot, "__i__", _row_defaults(compiled, slot.f), view.editable, state, None, {}, {},
                                {}, None)


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
    errors: Mapping[str, list[str]] | None, typed: Any, clean: Any, digests: dict[str, str],
    before: Mapping[str, str] | None,
) -> list[FieldView]:
    """The row's cells, each digested in ``digests``; with ``before``, only
    those whose digest changed. ``errors``: None when no cell of the
    subform has a message (the engine's nor ``build_view``'s).

    This runs for every cell on every keystroke: the cells' names come
    worked out per row index, and a cell with no message that shows what
    the reader typed (most of them) is digested by its flags alone, inline."""
    typed = typed if isinstance(typed, dict | Mapping) else {}
    clean = clean if isinstance(clean, dict | Mapping) else {}
    input_errors = state.input_errors
    cells = []
    for cell, (where, name, unit) in zip(slot.children, _row_names(slot, index), strict=True):
        key = cell.key
        value = row.get(key)
        can_edit = editable and cell.editable
        if errors is None:
            messages: list[str] = []
            as_typed = key not in typed or key not in clean or bool(clean[key] == value)
        else:
            problems = input_errors.get(where)
            messages = _messages(errors.get(where), problems) if problems is not None or where in errors else []
            # As _as_typed, inline.
            as_typed = problems is not None or key not in typed or key not in clean or bool(clean[key] == value)
        if can_edit and as_typed and not messages:
            digest = cell.as_typed
        else:
            digest = unit_digest(True, cell.f.required, can_edit, messages, None if can_edit and as_typed else value)
        digests[unit] = digest
        if before is not None and before.get(unit) == digest:
            continue
        cells.append(FieldView(cell.f, cell.ftype, cell.input, name, unit, value, required=cell.f.required,
                               path=cell.path, editable=can_edit, errors=messages, digest=digest))
    return cells


def _row_names(slot: _Slot, index: int | str) -> tuple[tuple[str, str, str], ...]:
    """Each cell's path in messages, its posted name and its unit's id, in row ``index`` (the same on every keystroke)."""
    found = slot.rows.get(index)
    if found is None:
        key = slot.f.key
        found = tuple((f"{key}[{index}].{c.f.key}", f"{key}[{index}][{c.f.key}]", f"f-{key}-{index}-{c.f.key}")
                      for c in slot.children)
        if len(slot.rows) < _ROWS_KEPT:
            slot.rows[index] = found
    return found
