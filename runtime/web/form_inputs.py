"""How each field type is typed into a web form: the template that draws its
input, how the posted form fields decode into the value the engine's
coercion takes, and what the template shows for a value.

One ``FormInput`` per field type, in ``FORM_INPUTS`` (keyed by the type's
key, like the engine's field types; no ``if type ==`` anywhere), from the
modules by kind: ``form_inputs_scalar`` (numbers, yes/no, dates),
``form_inputs_choice`` (options and pickers), ``form_inputs_structured``
(parts, files, computed and layout items, subforms). A new field type adds
its input there, registers it here and adds a template ``inputs/<type>.html``.

Names of the posted form fields:

- a top-level input is named by its field key: ``name``;
- a structured value uses ``key.part``: ``address.province``,
  ``address.city``, ``address.district``, ``address.detail``,
  ``location.lat``, ``location.lng``, ``location.address``;
- a subform cell is ``key[i][child]`` (``items[0][quantity]``), the row's
  id ``key[i][id]`` (blank for a new row); rows are taken in the order of
  ``i``;
- a multi-valued input repeats its name (``tags=a&tags=b``), after a blank
  marker of the same name, so "nothing chosen" is told from "not on the page";
- a file is its stored metadata as JSON (``{"id", "name", ...}``), one per
  repeated name.

``decode`` answers ``ABSENT`` when the page did not carry the input at all:
that field is left out of the values (not blanked).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import unquote_plus

from flask import request
from werkzeug.datastructures import MultiDict

from engine.core.registry import Registry
from engine.definitions.model import FieldDef
from runtime.web.form_inputs_base import ABSENT, FormInput, InputContext, Posted, plain_input
from runtime.web.form_inputs_choice import (
    DepartmentInput,
    MemberInput,
    MultiselectInput,
    PickerInput,
    RelationInput,
)
from runtime.web.form_inputs_scalar import (
    BooleanInput,
    DateInput,
    DateTimeInput,
    MoneyInput,
    NumberInput,
    PercentInput,
    TimeInput,
)
from runtime.web.form_inputs_structured import (
    AddressInput,
    ComputedInput,
    FilesInput,
    ImageInput,
    LayoutInput,
    LocationInput,
    SignatureInput,
    SubformInput,
    computed_input,
    layout_input,
)

__all__ = ["ABSENT", "FORM_INPUTS", "ComputedInput", "FormInput", "InputContext", "LayoutInput", "PickerInput",
           "Posted", "build_form_inputs", "decode_values", "read_posted"]


def build_form_inputs() -> Registry[FormInput]:
    """Every field type's input, registered explicitly."""
    registry: Registry[FormInput] = Registry("form input")
    plain = [plain_input(k)() for k in ("text", "textarea", "rich_text", "phone", "email", "url", "rating", "select")]
    registry.register_all([
        *plain, NumberInput(), MoneyInput(), PercentInput(), BooleanInput(), MultiselectInput(),
        DateInput(), DateTimeInput(), TimeInput(), AddressInput(), LocationInput(),
        MemberInput(), DepartmentInput(), RelationInput(),
        FilesInput(), ImageInput(), SignatureInput(),
        *(computed_input(k)() for k in ("serial", "lookup", "formula", "rollup")),
        *(layout_input(k)() for k in ("section", "divider", "note")),
    ])
    registry.register(SubformInput(registry))
    return registry


FORM_INPUTS = build_form_inputs()


_NAMES: dict[str, str] = {}  # a posted name as sent -> as read
_NAMES_KEPT = 10_000


def read_posted() -> Posted:
    """The posted form, read as ``request.form`` reads a URL-encoded body but
    about eight times faster, for the live evaluation (a post per
    keystroke): the inputs' names are the same every time (``items%5B0%5D…``),
    so each is unquoted once; a value only when it holds an escape."""
    if request.mimetype != "application/x-www-form-urlencoded" or "form" in request.__dict__:
        return request.form
    try:
        text = request.get_data().decode()
    except UnicodeDecodeError:
        return request.form  # what Werkzeug makes of it
    items = []
    for pair in text.split("&"):
        if not pair:
            continue
        raw, _, value = pair.partition("=")
        name = _NAMES.get(raw)
        if name is None:
            name = unquote_plus(raw, errors="werkzeug.url_quote") if "%" in raw or "+" in raw else raw
            if len(_NAMES) < _NAMES_KEPT:
                _NAMES[raw] = name
        if "%" in value or "+" in value:
            value = unquote_plus(value, errors="werkzeug.url_quote")
        items.append((name, value))
    return MultiDict(items)


def decode_values(fields: Sequence[FieldDef], posted: Posted,
                  inputs: Registry[FormInput] = FORM_INPUTS) -> dict[str, Any]:
    """The input values of ``fields`` that the posted form carries."""
    found = {}
    for f in fields:
        value = inputs.get(f.type).decode(posted, f.key, f)
        if value is not ABSENT:
            found[f.key] = value
    return found
