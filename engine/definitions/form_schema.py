"""The JSON Schemas of definition files, and the form schema built from the field types.

``app.schema.json`` is static. The form schema is the static
``form.base.json`` plus, per registered field type, an ``if``/``then``: when
a field's ``type`` is that type, the field may carry the common keys and that
type's ``settings_schema`` settings, and nothing else. Field types are
pluggable, so the loader builds the schema from the registry it is given;
the committed ``form.schema.json`` is the same schema built from the built-in
types, for editors and IDEs. Regenerate it after changing a type's settings:

    .venv/bin/python -m engine.definitions.write_form_schema engine.fields:FIELD_TYPES
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from engine.definitions.field_types import FieldTypes
from engine.definitions.model import COMMON_FIELD_KEYS

SCHEMA_DIR = Path(__file__).with_name("schemas")
FORM_SCHEMA_FILE = SCHEMA_DIR / "form.schema.json"

# A field's child fields belong to the types that store child rows.
_CHILD_FIELDS = "fields"


@cache
def _read(name: str) -> Mapping[str, Any]:
    data: dict[str, Any] = json.loads((SCHEMA_DIR / name).read_text(encoding="utf-8"))
    return data


def app_schema() -> dict[str, Any]:
    """The schema of ``app.yaml`` (a fresh copy)."""
    return copy.deepcopy(dict(_read("app.schema.json")))


def form_schema(field_types: FieldTypes) -> dict[str, Any]:
    """The schema of a form file for these field types.

    ``field.type`` becomes an ``enum`` of the registered keys (editors
    complete it; the loader turns a miss into "unknown field type ... did you
    mean"), and each type adds ``if type == key then <its settings>``.
    """
    schema = copy.deepcopy(dict(_read("form.base.json")))
    field = schema["$defs"]["field"]
    keys = list(field_types.keys())
    field["properties"]["type"]["enum"] = keys
    branches = []
    for key in keys:
        field_type = field_types.find(key)
        if field_type is None:  # pragma: no cover - a registry lists what it finds
            continue
        settings = field_type.settings_schema
        has_children = field_type.default_storage == "child_table" or _CHILD_FIELDS in settings.get(
            "properties", {}
        )
        branches.append({
            "if": {"properties": {"type": {"const": key}}, "required": ["type"]},
            "then": _settings_branch(key, settings, has_children),
        })
    field["allOf"] = branches
    return schema


def _settings_branch(key: str, settings: Mapping[str, Any], has_children: bool) -> dict[str, Any]:
    """A type's settings schema, closed over the common keys and its own settings.

    The common keys are ``true`` here (the field schema already checks them,
    and checking twice would report a mistake twice); a setting that shares a
    common key's name keeps its own schema, which applies on top.
    """
    branch = {k: copy.deepcopy(v) for k, v in settings.items() if k not in ("$schema", "$id")}
    own = dict(branch.pop("properties", {}))
    properties: dict[str, Any] = {
        key: True for key in sorted(COMMON_FIELD_KEYS) if key != _CHILD_FIELDS or has_children
    }
    properties.update(own)
    branch["properties"] = properties
    branch["additionalProperties"] = False
    # Lets error messages name the type ("a field of type 'relation' needs 'target'").
    branch["x-settings-of"] = key
    branch.pop("unevaluatedProperties", None)
    return branch


def render(schema: Mapping[str, Any]) -> str:
    """The schema as committed: two-space JSON, UTF-8 kept readable, newline at the end."""
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"
