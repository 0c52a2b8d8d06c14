"""docs/fields.md documents every registered field type and filter operator, and its examples are valid."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from engine.definitions.model import FieldDef
from engine.fields import FIELD_TYPES, OPERATORS

DOC = Path(__file__).resolve().parents[2] / "docs" / "fields.md"
TEXT = DOC.read_text(encoding="utf-8")


def section(key: str) -> str:
    match = re.search(rf"^### {re.escape(key)}\n(.*?)(?=^##)", TEXT, re.M | re.S)
    return match.group(1) if match else ""


@pytest.mark.parametrize("key", FIELD_TYPES.keys())
def test_every_field_type_has_a_section(key: str) -> None:
    assert re.search(rf"^### {re.escape(key)}$", TEXT, re.M), f"docs/fields.md has no '### {key}'"
    assert f"| [{key}](#{key}) |" in TEXT, f"the index of docs/fields.md has no row for {key}"


@pytest.mark.parametrize("key", OPERATORS.keys())
def test_every_operator_has_a_row(key: str) -> None:
    assert re.search(rf"^\| {re.escape(key)} \| ", TEXT, re.M), f"docs/fields.md has no operator row for {key}"


def test_nothing_documented_that_is_not_registered() -> None:
    documented = re.findall(r"^### ([a-z_]+)$", TEXT, re.M)
    assert sorted(documented) == sorted(FIELD_TYPES.keys())


def example_fields() -> list[dict[str, Any]]:
    found = []
    for block in re.findall(r"```yaml\n(.*?)```", TEXT, re.S):
        for item in yaml.safe_load(block):
            found.append(item)
    return found


@pytest.mark.parametrize("data", example_fields(), ids=lambda d: d["key"])
def test_examples_are_valid_fields(data: dict[str, Any]) -> None:
    f = FieldDef.from_dict({"label": data["key"], **data})
    kind = FIELD_TYPES.get(f.type)
    Draft202012Validator(dict(kind.settings_schema)).validate(dict(f.settings))
    assert kind.check_settings(f) == []
    assert f"type: {f.type}" in section(f.type)
