"""A small sales package with rules, installed on each database, and the
composed engine with a fixed clock."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from engine.composition import Engine, compose
from engine.core.clock import FixedClock
from engine.fields import FIELD_TYPES
from engine.packages import install_package
from engine.store.database import Database

APP = {"schema_version": 1, "key": "shop", "label": "Shop", "version": "1.0.0"}
FORMS: dict[str, dict[str, Any]] = {
    "customer": {
        "key": "customer", "label": "Customer", "title_field": "name",
        "fields": [
            {"key": "name", "type": "text", "label": "Name", "required": True},
            {"key": "level", "type": "text", "label": "Level"},
            {"key": "note", "type": "text", "label": "Note"},
            {"key": "deals", "type": "number", "label": "Deals", "precision": 0},
        ],
    },
    "deal": {
        "key": "deal", "label": "Deal", "title_field": "name",
        "fields": [
            {"key": "name", "type": "text", "label": "Name", "required": True},
            {"key": "customer", "type": "relation", "target": "customer", "label": "Customer"},
            {"key": "amount", "type": "number", "label": "Amount", "precision": 2},
            {"key": "stage", "type": "text", "label": "Stage"},
            {"key": "flag", "type": "text", "label": "Flag"},
            {"key": "echo", "type": "text", "label": "Echo"},
        ],
    },
    "contract": {
        "key": "contract", "label": "Contract", "title_field": "title",
        "fields": [
            {"key": "title", "type": "text", "label": "Title", "required": True},
            {"key": "deal", "type": "relation", "target": "deal", "label": "Deal"},
            {"key": "amount", "type": "number", "label": "Amount", "precision": 2},
        ],
    },
}
NOW = dt.datetime(2026, 12, 4, 9, 30)


def write_package(root: Path, rules: list[dict[str, Any]], forms: dict[str, dict[str, Any]] = FORMS) -> Path:
    (root / "forms").mkdir(parents=True)
    (root / "rules").mkdir()
    (root / "app.yaml").write_text(yaml.safe_dump(APP), encoding="utf-8")
    for key, form in forms.items():
        (root / "forms" / f"{key}.yaml").write_text(yaml.safe_dump({"schema_version": 1, **form}, allow_unicode=True),
                                                      encoding="utf-8")
    for rule in rules:
        (root / "rules" / f"{rule['key']}.yaml").write_text(yaml.safe_dump(rule, allow_unicode=True),
                                                           encoding="utf-8")
    return root


Install = Callable[[list[dict[str, Any]]], Engine]


@pytest.fixture
def install(database: Database, tmp_path: Path) -> Install:
    """Install the shop package with ``rules`` and compose the engine over it."""

    def installing(rules: list[dict[str, Any]]) -> Engine:
        install_package(database, write_package(tmp_path / "shop", rules), FIELD_TYPES)
        return compose(database, clock=FixedClock(NOW))

    return installing
