"""docs/rules.md documents every registered trigger, action and channel: a
new one without its docs fails here. Each key must appear in backticks, and
each action has a heading of its own with an example rule that loads."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from engine.actions import ACTIONS
from engine.core.registry import Registry
from engine.definitions.rule_files import RuleDef
from engine.fields import FIELD_TYPES
from engine.notify.channels import CHANNELS
from engine.packages.validation import load_app_package
from engine.rules.triggers import TRIGGERS
from tests.rules.conftest import write_package
from tests.rules.sales import FORMS

DOCS = (Path(__file__).resolve().parents[2] / "docs" / "rules.md").read_text(encoding="utf-8")


def section(title: str) -> str:
    found = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", DOCS, re.MULTILINE | re.DOTALL)
    assert found, f"docs/rules.md has no '## {title}' section"
    return found.group(1)


@pytest.mark.parametrize(("registry", "title"), [(TRIGGERS, "Triggers"), (ACTIONS, "Actions"),
                                                 (CHANNELS, "Channels")])
def test_every_registered_key_is_documented(registry: Registry[Any], title: str) -> None:
    text = section(title)
    keys = registry.keys()
    missing = [key for key in keys if f"`{key}`" not in text]
    assert missing == [], f"docs/rules.md '## {title}' does not document: {', '.join(missing)}"


def test_every_action_has_its_heading_and_an_example_that_loads(tmp_path: Path) -> None:
    text = section("Actions")
    examples = re.findall(r"```yaml\n(.*?)```", text, re.DOTALL)
    rules = [yaml.safe_load(e) for e in examples]
    rules = [r for r in rules if isinstance(r, dict) and "actions" in r]
    keys = ACTIONS.keys()
    for key in keys:
        assert re.search(rf"^### `{key}`", text, re.MULTILINE), f"docs/rules.md: no '### `{key}`'"
    shown = {step["type"] for r in rules for step in r["actions"]}
    assert set(ACTIONS.keys()) <= shown, f"no example for {set(ACTIONS.keys()) - shown}"
    root = write_package(tmp_path / "shop", rules, FORMS)
    # The flow start_flow's example names ships with the rules.
    (root / "flows").mkdir()
    (root / "flows" / "lead_review.yaml").write_text(yaml.safe_dump({
        "schema_version": 1, "key": "lead_review", "label": "Lead review", "form": "lead",
        "nodes": [{"key": "boss", "type": "approval", "approvers": [{"type": "submitter"}]}]}), encoding="utf-8")
    app = load_app_package(root, FIELD_TYPES)
    assert all(isinstance(r, RuleDef) for r in app.rules) and len(app.rules) == len(rules)
