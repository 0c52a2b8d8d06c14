"""The parts every input template shares: its id, its label (or legend), its
messages and its ARIA attributes, as template globals.

They were macros in a shared template; each input template imported them,
and a live evaluation draws inputs on every keystroke: a Jinja import per
drawn input and a macro call per part cost more than the rest of the
drawing. Python functions returning markup cost a fraction of it.
"""

from __future__ import annotations

from typing import Any

from markupsafe import Markup, escape

from engine.core.i18n import Label
from runtime.web.form_inputs_choice import PickerInput
from runtime.web.i18n import current_language, label_text

_REQUIRED_MARK = Markup('<span class="required-mark" aria-hidden="true"> *</span>')


def input_id(v: Any) -> str:
    """The id of a field's input: ``i-`` and its unit's id without ``f-``."""
    return f"i-{v.unit[2:]}"


def described(v: Any) -> Markup:
    """The ARIA attributes that tie an input to its messages and state."""
    found = ""
    if v.errors or v.f.help:
        found += f' aria-describedby="{escape(v.unit)}-msg"'
    if v.errors:
        found += ' aria-invalid="true"'
    if v.required:
        found += ' aria-required="true"'
    return Markup(found)


def _label_class(v: Any) -> str:
    return "field-label cell-label" if v.name.endswith("]") else "field-label"


def field_label(v: Any, for_input: bool = True) -> Markup:
    tied = f' for="{escape(input_id(v))}"' if for_input else ""
    mark = _REQUIRED_MARK if v.required else ""
    return Markup(f'<label data-part="label" class="{_label_class(v)}"{tied}>'
                  f"{escape(label_text(v.f.label))}{mark}</label>")


def legend(v: Any) -> Markup:
    mark = _REQUIRED_MARK if v.required else ""
    return Markup(f'<legend data-part="label" class="{_label_class(v)}">{escape(label_text(v.f.label))}{mark}</legend>')


def field_messages(v: Any) -> Markup:
    """The field's help (not in a subform cell) and its error messages, where ``described`` points."""
    inner = ""
    if v.f.help and not v.name.endswith("]"):
        inner += f'<small class="help">{escape(label_text(v.f.help))}</small>'
    for message in v.errors:
        inner += f'<small class="error">{escape(message)}</small>'
    return Markup(f'<div data-part="messages" id="{escape(v.unit)}-msg" class="field-messages">{inner}</div>')


def display_text(v: Any, language: str | None = None) -> str:
    """A value the reader may not change, as the record page would show it."""
    if v.value is None or v.value == "":
        return "—"
    language = language or current_language()
    if isinstance(v.input, PickerInput):
        return ("、" if language == "zh" else ", ").join(text for _, text in v.shown)
    try:
        return v.ftype.display(v.f, v.value, language) or "—"
    except (TypeError, ValueError, AttributeError, ArithmeticError):
        return str(v.value)


def displayed(v: Any) -> Markup:
    """A field (or cell) the reader may not change here: its label, its value in words, its messages."""
    ident = escape(input_id(v))
    cell = " cell-label" if v.name.endswith("]") else ""
    language = current_language()
    label = v.f.label.text(language) if isinstance(v.f.label, Label) else label_text(v.f.label)
    return Markup(f'<span data-part="label" class="field-label{cell}" id="{ident}-label">'
                  f"{escape(label)}</span>\n"
                  f'<output data-part="control" id="{ident}" class="computed" aria-labelledby="{ident}-label">'
                  f"{escape(display_text(v, language))}</output>\n{field_messages(v)}")


PARTS = {"input_id": input_id, "described": described, "field_label": field_label, "legend": legend,
         "field_messages": field_messages, "display_text": display_text, "displayed": displayed}
