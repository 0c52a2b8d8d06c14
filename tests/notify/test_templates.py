"""Message templates: sandboxed, blank for what is missing, escaped only in HTML."""

from __future__ import annotations

import pytest

from engine.core.errors import ValidationError
from engine.notify.templates import MessageTemplate, check_template

RECORD = {"record": {"name": "<华为>", "amount": 1200, "owner": {"name": "张伟"}}}


def test_text_is_not_escaped_and_html_is() -> None:
    source = "{{ record.name }} 金额 {{ record.amount }}，负责人 {{ record.owner.name }}"
    assert MessageTemplate(source).render(RECORD) == "<华为> 金额 1200，负责人 张伟"
    assert MessageTemplate(source, html=True).render(RECORD) == "&lt;华为&gt; 金额 1200，负责人 张伟"


def test_missing_values_render_blank_even_along_a_chain() -> None:
    template = MessageTemplate("[{{ record.customer.name }}][{{ nothing }}][{{ record.name | upper }}]")
    assert template.render(RECORD) == "[][][<华为>]"
    assert template.render({}) == "[][][]"


def test_the_sandbox_refuses_private_attributes_and_names_the_template() -> None:
    template = MessageTemplate("{{ record.__class__.__mro__ }}{{ ''.__class__.__subclasses__() }}",
                               name="crm.assign_lead: text")
    with pytest.raises(ValidationError, match=r"Message template crm\.assign_lead: text cannot be rendered") as error:
        template.render(RECORD)
    assert "crm.assign_lead: text" in error.value.field_errors
    with pytest.raises(ValidationError, match="cannot be rendered: division by zero"):
        MessageTemplate("{{ 1 / 0 }}").render({})


def test_syntax_errors_name_the_line() -> None:
    assert check_template("fine {{ record.name }}") is None
    problem = check_template("line one\n{% if record.name %}no end")
    assert problem is not None and "line 2" in problem.en and "第 2 行" in problem.zh
    with pytest.raises(ValidationError, match=r"Message template title: Template syntax error on line 1"):
        MessageTemplate("{{ record.name", name="title")


def test_compiled_once_per_source() -> None:
    from engine.notify.templates import _compiled

    before = _compiled.cache_info().misses
    for _ in range(3):
        MessageTemplate("{{ record.name }} once")
    assert _compiled.cache_info().misses == before + 1
