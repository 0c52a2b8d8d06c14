"""Fixtures for the definition loader: the field types and small packages written to disk."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from fallback_types import field_types as build_types

from engine.core.registry import Registry
from engine.definitions import format_issues, validate_package
from engine.fields import FieldType

EXAMPLES = Path(__file__).parent / "examples"

APP: dict[str, Any] = {"schema_version": 1, "key": "shop", "label": {"zh": "商店", "en": "Shop"}}

CUSTOMER: dict[str, Any] = {
    "schema_version": 1,
    "key": "customer",
    "title_field": "name",
    "fields": [
        {"key": "name", "type": "text", "label": "名称"},
        {"key": "industry", "type": "select", "options": [{"key": "retail"}, {"key": "it"}]},
    ],
}
PRODUCT: dict[str, Any] = {
    "schema_version": 1,
    "key": "product",
    "fields": [
        {"key": "name", "type": "text"},
        {"key": "price", "type": "money"},
    ],
}
QUOTE: dict[str, Any] = {
    "schema_version": 1,
    "key": "quote",
    "fields": [
        {"key": "name", "type": "text"},
        {"key": "customer", "type": "relation", "target": "customer"},
        {"key": "amount", "type": "money"},
        {"key": "items", "type": "subform", "fields": [
            {"key": "product", "type": "relation", "target": "product"},
            {"key": "qty", "type": "number"},
            {"key": "price", "type": "money"},
            {"key": "subtotal", "type": "formula", "formula": "qty * price", "result_type": "money"},
        ]},
        {"key": "total", "type": "rollup", "source": "items", "field": "subtotal", "aggregate": "sum"},
    ],
}


@pytest.fixture(scope="session")
def field_types() -> Registry[FieldType]:
    return build_types()


Forms = Mapping[str, "dict[str, Any] | str"]
WritePackage = Callable[..., Path]


def write(root: Path, app: dict[str, Any] | str | None, forms: Forms) -> Path:
    """A package folder: ``app.yaml`` and ``forms/<name>`` (a dict is dumped as YAML or JSON)."""
    root.mkdir(parents=True, exist_ok=True)
    if app is not None:
        (root / "app.yaml").write_text(app if isinstance(app, str) else dump(app), encoding="utf-8")
    (root / "forms").mkdir(exist_ok=True)
    for name, form in forms.items():
        if "." not in name:
            name += ".yaml"
        if isinstance(form, str):
            text = form
        elif name.endswith(".json"):
            text = json.dumps(form, ensure_ascii=False, indent=2)
        else:
            text = dump(form)
        (root / "forms" / name).write_text(text, encoding="utf-8")
    return root


def dump(data: Any) -> str:
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


def forms(**changes: Any) -> dict[str, dict[str, Any]]:
    """The customer/product/quote forms, with ``quote=...`` etc. replaced."""
    found = {"customer": CUSTOMER, "product": PRODUCT, "quote": QUOTE}
    found.update(changes)
    return {name: copy.deepcopy(form) for name, form in found.items() if form is not None}


@pytest.fixture
def issues_of(tmp_path: Path, field_types: Registry[FieldType]) -> Callable[..., list[str]]:
    """The issues (English lines) of a package made of ``forms`` and ``app``."""
    counter = iter(range(1000))

    def run(form_files: Forms, app: dict[str, Any] | str | None = None, locale: str = "en") -> list[str]:
        root = write(tmp_path / f"pkg{next(counter)}", APP if app is None else app, form_files)
        found = validate_package(root, field_types)
        return format_issues(found, locale).splitlines()

    return run
