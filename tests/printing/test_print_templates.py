"""Print templates in a package: loaded with the forms, every problem named
by file and line before anyone prints."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from engine.core.i18n import label
from engine.definitions.loader import load_package, validate_package
from engine.definitions.model import AppDef, FormDef, PrintTemplateDef
from engine.fields import FIELD_TYPES
from templates_lib.crm import PACKAGE_PATH as CRM

APP = "schema_version: 1\nkey: shop\nlabel: {zh: 商店, en: Shop}\n"
ORDER = """schema_version: 1
key: order
label: {zh: 订单, en: Order}
fields:
  - {key: number, type: text, label: 单号}
  - key: lines
    type: subform
    label: 明细
    fields:
      - {key: item, type: text, label: 品名}
      - {key: qty, type: number, label: 数量}
"""
PAYMENT = """schema_version: 1
key: payment
label: {zh: 付款, en: Payment}
fields:
  - {key: order, type: relation, label: 订单, target: order}
  - {key: amount, type: money, label: 金额}
"""
FRONT = "{#---\nform: order\nlabel: {zh: 订单, en: Order}\n---#}\n"


def package(tmp_path: Path, **templates: str) -> Path:
    root = tmp_path / "shop"
    (root / "forms").mkdir(parents=True)
    (root / "print").mkdir()
    (root / "app.yaml").write_text(APP, encoding="utf-8")
    (root / "forms" / "order.yaml").write_text(ORDER, encoding="utf-8")
    (root / "forms" / "payment.yaml").write_text(PAYMENT, encoding="utf-8")
    for name, text in templates.items():
        (root / "print" / f"{name}.html").write_text(text, encoding="utf-8")
    return root


def problems(tmp_path: Path, **templates: str) -> list[str]:
    return [str(issue) for issue in validate_package(package(tmp_path, **templates), FIELD_TYPES)]


def test_a_template_loads_with_its_front_matter(tmp_path: Path) -> None:
    source = ("{#---\nform: order\nlabel: {zh: 订单, en: Order}\npaper: A5\norientation: landscape\n---#}\n"
              "{{ record.number }}{% for row in record.lines %}{{ row.item }} {{ row.qty }}{% endfor %}"
              "{% for p in related('payment', 'order') %}{{ p.amount }}{% endfor %}{{ fields.number }}")
    app = load_package(package(tmp_path, order_sheet=source), FIELD_TYPES)
    assert app.prints == (PrintTemplateDef(key="order_sheet", form="order", label=label({"zh": "订单", "en": "Order"}),
                                           source=source, paper="A5", orientation="landscape"),)
    assert PrintTemplateDef.from_dict(app.prints[0].to_dict()) == app.prints[0]


def test_the_crm_prints_quotes_and_contracts() -> None:
    app = load_package(CRM, FIELD_TYPES)
    assert [(p.key, p.form, p.paper) for p in app.prints] == [
        ("contract", "contract", "A4"), ("quote", "quote", "A4")]


@pytest.mark.parametrize(("body", "expected"), [
    ("{% for x in y %}", "print/bad.html: line 5: template syntax error: Unexpected end of template. Jinja "
     "was looking for the following tags: 'endfor' or 'else'. The innermost block that needs to be closed "
     "is 'for'."),
    ("\n\n{{ record.number|shout }}", "print/bad.html: line 7: template syntax error: No filter named 'shout'."),
    ("{{ record.numbr }}", "print/bad.html: line 5: Order has no field numbr — did you mean 'number'?"),
    ("{{ values['nmber'] }}", "print/bad.html: line 5: Order has no field nmber — did you mean 'number'?"),
    ("{% for row in record.lines %}\n{{ row.itme }}{% endfor %}",
     "print/bad.html: line 6: 明细 has no field itme — did you mean 'item'?"),
    ("{{ ().__class__ }}",
     "print/bad.html: line 5: the private attribute __class__ is not allowed (print templates run in a sandbox)"),
    ("{{ ()|attr('__class__') }}",
     "print/bad.html: line 5: the private attribute __class__ is not allowed (print templates run in a sandbox)"),
    ("{{ record['__init__'] }}",
     "print/bad.html: line 5: the private attribute __init__ is not allowed (print templates run in a sandbox)"),
    ("{% for p in related('payment', 'amount') %}{% endfor %}",
     "print/bad.html: line 5: Payment's amount is not a relation pointing at this form (those that do: order)"),
    ("{% for p in related('paymnt', 'order') %}{% endfor %}",
     "print/bad.html: line 5: form 'paymnt' does not exist — did you mean 'payment'?"),
])
def test_template_problems_name_the_file_and_line(tmp_path: Path, body: str, expected: str) -> None:
    assert problems(tmp_path, bad=FRONT + body) == [expected]


@pytest.mark.parametrize(("front", "expected"), [
    ("{{ record.number }}", "print/bad.html: line 1: a print template starts with its front matter: "
                            "{#--- form: <form key> ---#} (see docs/printing.md)"),
    ("{#---\nform: ordr\n---#}", "print/bad.html: form: form 'ordr' does not exist — did you mean 'order'?"),
    ("{#---\nform: order\npaper: A9\n---#}", "print/bad.html: paper: "),
    ("{#---\nform: order\ncolour: red\n---#}", "print/bad.html: colour: "),
    ("{#---\nlabel: x\n---#}", "print/bad.html: 'form' is required"),
])
def test_front_matter_problems(tmp_path: Path, front: str, expected: str) -> None:
    found = problems(tmp_path, bad=front)
    assert len(found) == 1 and found[0].startswith(expected), found


def test_a_file_name_must_be_a_key(tmp_path: Path) -> None:
    assert problems(tmp_path, **{"Bad-Name": FRONT}) == [
        "print/Bad-Name.html: the file name 'Bad-Name' is not a valid key: use lowercase letters, digits "
        "and _, starting with a letter"]


def test_print_templates_in_a_zip_load_too(tmp_path: Path) -> None:
    root = package(tmp_path, order_sheet=FRONT + "{{ record.number }}")
    archive = shutil.make_archive(str(tmp_path / "shop"), "zip", root.parent, "shop")
    assert [p.key for p in load_package(archive, FIELD_TYPES).prints] == ["order_sheet"]


def test_the_app_finds_a_forms_templates() -> None:
    order = FormDef.from_dict({"key": "order", "label": "订单", "fields": []})
    template = PrintTemplateDef(key="sheet", form="order", label=label("单"), source="")
    app = AppDef.from_dict({"key": "shop", "label": "商店"}, [order], [template])
    assert app.print_template("sheet") == template and app.print_template("other") is None
