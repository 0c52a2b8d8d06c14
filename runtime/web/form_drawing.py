"""Drawing a form's units: each unit's input template, and a live
evaluation's answer (the changed units, out of band, and the new digests).

Both render a template in a context whose parent *is* the environment's
globals, shared rather than copied. Jinja's ``{% include %}`` inside a macro
copies every global into a new context twice per include, and
``render_template`` copies them once more (through a ``ChainMap``, in
Python): on a keystroke's answer that cost more than drawing the units.
An input template sees what an include inside ``forms/unit.html``'s macros
gave it, minus the macros themselves (``subform.html`` imports the one it
uses): the globals and ``v``, the unit's ``FieldView``.
"""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, Template, pass_environment
from markupsafe import Markup


def _draw(env: Environment, template: Template, values: dict[str, Any]) -> str:
    context = env.context_class(env, env.globals, template.name, template.blocks)
    context.vars.update(values)
    return str(env.concat(template.root_render_func(context)))


@pass_environment
def draw_input(env: Environment, v: Any) -> Markup:
    """The input (or display) of unit ``v``, for ``forms/unit.html``'s macros."""
    return Markup(_draw(env, env.get_template(v.template), {"v": v}))


def draw_changes(env: Environment, **values: Any) -> str:
    """``forms/changes.html``: a live evaluation's answer."""
    return _draw(env, env.get_template("forms/changes.html"), values)
