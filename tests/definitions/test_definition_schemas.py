"""The JSON Schemas: built from the field type registry, committed for editors,
valid 2020-12, accepting the examples, and explained in readable sentences."""

from __future__ import annotations

import ast
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import pytest
import yaml
from jsonschema import Draft202012Validator
from package_helpers import APP, CUSTOMER, EXAMPLES, QUOTE, forms, write

from engine.core.i18n import Label
from engine.core.registry import Registry
from engine.definitions import app_schema, form_schema, load_package
from engine.definitions.form_schema import FORM_SCHEMA_FILE, SCHEMA_DIR, render
from engine.definitions.model import COMMON_FIELD_KEYS
from engine.definitions.write_form_schema import main as write_form_schema
from engine.fields import FIELD_TYPES, FieldType, build_field_types

Issues = Callable[..., list[str]]
ROOT = Path(__file__).resolve().parents[2]


def read(path: Path) -> Any:
    text = path.read_text(encoding="utf-8")
    return json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)


def test_the_committed_form_schema_is_the_generated_one() -> None:
    expected = render(form_schema(FIELD_TYPES))
    assert FORM_SCHEMA_FILE.read_text(encoding="utf-8") == expected, (
        "engine/definitions/schemas/form.schema.json is out of date; run "
        ".venv/bin/python -m engine.definitions.write_form_schema engine.fields:FIELD_TYPES"
    )


@pytest.mark.parametrize("name", ["app.schema.json", "form.schema.json", "form.base.json"])
def test_the_schemas_are_valid_2020_12_with_a_version(name: str) -> None:
    schema = read(SCHEMA_DIR / name)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["x-schema-version"] == 1
    assert "schema_version" in schema["required"]


@pytest.mark.parametrize("example", ["minimal", "full"])
def test_the_examples_are_valid_against_the_committed_schemas(example: str) -> None:
    root = EXAMPLES / example
    Draft202012Validator(read(SCHEMA_DIR / "app.schema.json")).validate(read(root / "app.yaml"))
    form_validator = Draft202012Validator(read(FORM_SCHEMA_FILE))
    files = sorted((root / "forms").iterdir())
    assert files
    for file in files:
        form_validator.validate(read(file))


def test_each_field_type_adds_its_settings_branch() -> None:
    schema = form_schema(FIELD_TYPES)
    field = schema["$defs"]["field"]
    assert field["properties"]["type"]["enum"] == list(FIELD_TYPES.keys())
    branches = {b["if"]["properties"]["type"]["const"]: b["then"] for b in field["allOf"]}
    assert list(branches) == list(FIELD_TYPES.keys())
    for key, then in branches.items():
        own = set(FIELD_TYPES.get(key).settings_schema.get("properties", {}))
        assert then["additionalProperties"] is False
        assert own <= set(then["properties"])
        assert set(COMMON_FIELD_KEYS) - {"fields"} <= set(then["properties"])
    # Only types with child rows take child fields.
    assert "fields" in branches["subform"]["properties"]
    assert "fields" not in branches["text"]["properties"]


class Barcode(FieldType):
    """A field type from a plugin: the schema picks it up with nothing else to touch."""

    key = "barcode"
    label = Label("条码", "Barcode")
    settings_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {"symbology": {"enum": ["ean13", "qr"]}},
        "required": ["symbology"],
    }


def test_a_plugged_in_type_is_validated_by_its_own_settings(tmp_path: Path) -> None:
    types: Registry[FieldType] = build_field_types()
    types.register(Barcode())
    assert "barcode" in form_schema(types)["$defs"]["field"]["properties"]["type"]["enum"]
    quote = {**QUOTE, "fields": [*QUOTE["fields"], {"key": "code", "type": "barcode", "symbology": "qr"}]}
    app = load_package(write(tmp_path / "ok", APP, forms(quote=quote)), types)
    assert app.get_form("quote").get_field("code").setting("symbology") == "qr"

    from engine.definitions import format_issues, validate_package

    quote["fields"][-1] = {"key": "code", "type": "barcode", "symbology": "upc"}
    root = write(tmp_path / "bad", APP, forms(quote=quote))
    assert format_issues(validate_package(root, types)) == (
        "forms/quote.yaml: fields[5].symbology: 'upc' is not one of ean13, qr"
    )


def test_write_form_schema_writes_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "form.schema.json"
    monkeypatch.setattr("engine.definitions.write_form_schema.FORM_SCHEMA_FILE", target)
    assert write_form_schema(["engine.fields:FIELD_TYPES"]) == 0
    assert target.read_text(encoding="utf-8") == FORM_SCHEMA_FILE.read_text(encoding="utf-8")
    assert write_form_schema([]) == 2


def test_app_schema_is_a_fresh_copy() -> None:
    schema = app_schema()
    schema["required"].append("x")
    assert "x" not in app_schema()["required"]


# --- readable messages ----------------------------------------------------------


def test_manifest_mistakes_read_as_sentences(issues_of: Issues) -> None:
    app = {
        "schema_version": 2,
        "key": "Shop",
        "label": ["Shop"],
        "version": "v1",
        "requires": ["crm >= 1.2", "crm 1.2"],
        "icn": "cart",
    }
    assert issues_of(forms(), app=app) == [
        "app.yaml: icn: unknown key 'icn' — did you mean 'icon'?",
        "app.yaml: key: 'Shop' is not a valid key: use lowercase letters, digits and _,"
        " starting with a letter",
        "app.yaml: label: expected a text or {zh, en}",
        "app.yaml: requires[1]: 'crm 1.2' is not a valid requirement: write a package key with an"
        " optional version constraint (like crm>=1.2)",
        "app.yaml: schema_version: unsupported schema_version 2: this Qiqiao reads 1",
        "app.yaml: version: 'v1' is not a semantic version (like 1.2.0)",
    ]


def test_a_manifest_without_its_required_keys(issues_of: Issues) -> None:
    assert issues_of(forms(), app={"label": "Shop"}) == [
        "app.yaml: 'schema_version' is required",
        "app.yaml: 'key' is required",
    ]
    assert issues_of(forms(), app={"label": "Shop"}, locale="zh") == [
        "app.yaml: 缺少 'schema_version'",
        "app.yaml: 缺少 'key'",
    ]


def test_form_mistakes_read_as_sentences(issues_of: Issues) -> None:
    form = {
        "schema_version": 1,
        "key": "customer",
        "titel_field": "name",
        "fields": [
            {"key": "name", "type": "text", "required": "yes", "label": {"fr": "Nom"}},
            {"type": "number"},
            {"key": "level", "type": "select", "options": []},
        ],
        "list_views": [{"key": "all", "page_size": 0, "sort": [{"field": "name", "desc": 1}]}],
        "rules": [{"key": "r", "actions": []}],
    }
    assert issues_of(forms(customer=form)) == [
        "forms/customer.yaml: fields[0].label: expected a text or {zh, en}",
        "forms/customer.yaml: fields[0].required: expected true or false, got a text",
        "forms/customer.yaml: fields[1]: 'key' is required",
        "forms/customer.yaml: fields[2].options: needs at least one item",
        "forms/customer.yaml: list_views[0].page_size: 0 is less than the minimum of 1",
        "forms/customer.yaml: list_views[0].sort[0].desc: expected true or false, got a whole number",
        "forms/customer.yaml: rules[0].actions: needs at least one item",
        "forms/customer.yaml: titel_field: unknown key 'titel_field' — did you mean 'title_field'?",
    ]


def test_a_form_of_a_newer_schema_version(issues_of: Issues) -> None:
    assert issues_of(forms(customer={**CUSTOMER, "schema_version": 3})) == [
        "forms/customer.yaml: schema_version: unsupported schema_version 3: this Qiqiao reads 1",
    ]


def test_definitions_never_import_the_field_types() -> None:
    """engine.definitions sits below engine.fields (DESIGN §2): the registry is passed in."""
    offenders = []
    for path in sorted((ROOT / "engine" / "definitions").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[:2] == ["engine", "fields"]]
            higher = ("store", "org", "records", "actions", "notify", "rules", "flows", "reports", "packages")
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[:2] in (["engine", h] for h in higher)]
    assert offenders == []


def yaml_blocks(doc: str) -> list[Any]:
    import re

    text = (ROOT / "docs" / "definitions" / doc).read_text(encoding="utf-8")
    return [yaml.safe_load(block) for block in re.findall(r"```yaml\n(.*?)```", text, re.DOTALL)]


def test_the_documented_manifest_and_form_pass_the_schemas() -> None:
    manifest = yaml_blocks("app.md")[0]
    Draft202012Validator(read(SCHEMA_DIR / "app.schema.json")).validate(manifest)
    form = yaml_blocks("forms.md")[0]
    Draft202012Validator(read(FORM_SCHEMA_FILE)).validate(form)
