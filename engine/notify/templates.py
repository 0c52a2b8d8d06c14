"""Message templates: the title and body of a notice, Jinja2 in a sandbox.

A rule's notify action (and the flow engine's) writes its messages as
templates over the record: ``{{ record.name }} 已分配给你``. They come from
the definitions, so they run in Jinja2's immutable sandbox (no private
attributes, nothing they are given can be changed). A value the context
does not have renders blank rather than failing — a field left empty, or
one removed since the rule was written, must not stop the notice. Only an
HTML body is autoescaped: a plain-text body (an SMS, a robot's markdown)
would show ``&lt;`` to its reader.

Templates are compiled once per process and source (the definitions rarely
change, and a rule may fire thousands of times a day).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache, lru_cache
from typing import Any

from jinja2 import ChainableUndefined, Template, TemplateError, TemplateSyntaxError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from engine.core.errors import ValidationError
from engine.core.i18n import Label


@cache
def _environment(html: bool) -> ImmutableSandboxedEnvironment:
    # ChainableUndefined: ``record.customer.name`` on a record without a
    # customer is blank too, not an error half-way along the chain.
    return ImmutableSandboxedEnvironment(autoescape=html, undefined=ChainableUndefined,
                                         keep_trailing_newline=False)


@lru_cache(maxsize=512)
def _compiled(source: str, html: bool) -> Template:
    return _environment(html).from_string(source)


def _syntax_problem(error: TemplateSyntaxError) -> Label:
    return Label(f"模板第 {error.lineno} 行有语法错误：{error.message}",
                 f"Template syntax error on line {error.lineno}: {error.message}")


def check_template(source: str) -> Label | None:
    """What is wrong with ``source`` as a message template (a syntax error,
    with its line), or None: for the definition loaders, before anything fires."""
    try:
        _compiled(source, False)
    except TemplateSyntaxError as error:
        return _syntax_problem(error)
    return None


class MessageTemplate:
    """One message template, compiled when made. ``html`` bodies are
    autoescaped; ``name`` says which template an error is about (e.g.
    ``crm.assign_lead: title``)."""

    def __init__(self, source: str, *, html: bool = False, name: str = "template") -> None:
        self.source = source
        self.html = html
        self.name = name
        try:
            self._template = _compiled(source, html)
        except TemplateSyntaxError as error:
            problem = _syntax_problem(error)
            raise ValidationError(Label(f"消息模板 {name}：{problem.zh}", f"Message template {name}: {problem.en}"),
                                  field_errors={name: [problem]}) from None

    def render(self, context: Mapping[str, Any]) -> str:
        """The text for ``context``; a ValidationError naming the template when
        it cannot be rendered (a sandbox refusal, a division by zero ...)."""
        try:
            return self._template.render(context)
        except (TemplateError, TypeError, ValueError, ArithmeticError, LookupError, AttributeError) as error:
            problem = Label(f"无法生成：{error}", f"cannot be rendered: {error}")
            raise ValidationError(Label(f"消息模板 {self.name} {problem.zh}", f"Message template {self.name} {problem.en}"),
                                  field_errors={self.name: [problem]}) from None
