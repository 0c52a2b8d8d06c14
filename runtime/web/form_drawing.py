"""Drawing a form's units (``form_page``): a field's wrapper, a subform
cell's, the form's own messages, and a live evaluation's answer (the
changed units, swapped out of band, and the new digests).

The wrappers are Python, like the input parts (``input_parts``), and each
unit's input template is rendered in a context whose parent *is* the
environment's globals, shared rather than copied: on a keystroke's answer,
the macros and ``{% include %}`` they replace (an include inside a macro
copies every global into a new context twice) and ``render_template`` (once
more, through a ``ChainMap``) cost more than the inputs' own drawing. An
input template sees the globals and ``v``, the unit's ``FieldView``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from jinja2 import Environment, pass_environment
from markupsafe import Markup, escape

from runtime.web.form_page import DISPLAY
from runtime.web.input_parts import displayed

_OOB = ' hx-swap-oob="true"'


@pass_environment
def draw_input(env: Environment, v: Any) -> Markup:
    """The input (or display) of unit ``v``: its template, ``v.template``.
    A value the reader may not change is ``displayed`` (what its template
    calls) without the template: most units a keystroke redraws are those."""
    if v.template == DISPLAY:
        return displayed(v)
    template = env.get_template(v.template)
    context = env.context_class(env, env.globals, template.name, template.blocks)
    context.vars["v"] = v
    return Markup(env.concat(template.root_render_func(context)))


@pass_environment
def field_unit(env: Environment, v: Any, oob: bool = False) -> Markup:
    """A top-level field's wrapper (label, input, messages); a layout item as it is."""
    inner = draw_input(env, v)
    if v.layout:
        return inner
    classes = "".join((" invalid" if v.errors else "", "" if v.editable else " readonly"))
    return Markup(f'<div id="{escape(v.unit)}" class="field field-{escape(v.f.type)}{classes}"\n'
                  f'     data-key="{escape(v.f.key)}"{"" if v.visible else " hidden"}{_OOB if oob else ""}>'
                  f"{inner}</div>")


@pass_environment
def cell_unit(env: Environment, v: Any, oob: bool = False) -> Markup:
    """A subform cell's wrapper."""
    return Markup(f'<div id="{escape(v.unit)}" class="cell cell-{escape(v.f.type)}{" invalid" if v.errors else ""}"\n'
                  f'     data-key="{escape(v.f.key)}"{_OOB if oob else ""}>{draw_input(env, v)}</div>')


def form_messages(messages: Sequence[str], oob: bool = False) -> Markup:
    """The form's own messages (those of no field it shows)."""
    items = "".join(f"<li>{escape(m)}</li>" for m in messages)
    listed = f"\n  <ul>{items}</ul>" if messages else ""
    return Markup(f'<div id="form-messages" class="form-messages" role="alert"{_OOB if oob else ""}>{listed}</div>')


def draw_changes(env: Environment, changed: Iterable[Any], messages: Sequence[str] | None, digests: str) -> str:
    """A live evaluation's answer: the ``changed`` units and (unless None)
    the form's ``messages``, out of band (forms.js keeps the input that has
    focus), and the page's new ``digests``."""
    units = "".join(f"{cell_unit(env, v, True) if v.cell else field_unit(env, v, True)}\n" for v in changed)
    return (f"\n{units}\n{form_messages(messages, True) if messages is not None else ''}\n"
            f'<input type="hidden" name="_digests" id="form-digests" value="{escape(digests)}"{_OOB}>')
