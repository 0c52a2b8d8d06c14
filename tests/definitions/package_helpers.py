"""Small packages for the loader's tests: a valid shop (customer, product, quote) to break."""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

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


Forms = Mapping[str, "dict[str, Any] | str"]


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
