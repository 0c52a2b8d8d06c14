"""Stand-ins for built-in field types that ``engine.fields`` does not have yet.

The loader's tests run against the real registry; while a type they need is
still being written, ``field_types()`` fills the gap with one of these,
shaped as DESIGN §4 and docs/definitions/forms.md describe it. Once the real
type is registered it wins and its stand-in is unused.
"""

from __future__ import annotations

from typing import Any, ClassVar

from engine.core.i18n import Label
from engine.core.registry import Registry
from engine.definitions.model import FieldDef, Reference
from engine.fields import FieldType, build_field_types


class SubformStandIn(FieldType):
    key = "subform"
    label = Label("子表", "Subform")
    formula_type = "records"
    storage = "child_table"
    settings_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "fields": {"type": "array"},
            "min_rows": {"type": "integer", "minimum": 0},
            "max_rows": {"type": "integer", "minimum": 1},
        },
        "required": ["fields"],
    }


class FormulaStandIn(FieldType):
    key = "formula"
    label = Label("公式", "Formula")
    computed = True
    settings_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "formula": {"type": "string", "minLength": 1},
            "result_type": {
                "enum": ["number", "money", "percent", "text", "date", "datetime", "boolean"]
            },
            "precision": {"type": "integer", "minimum": 0, "maximum": 10},
        },
        "required": ["formula"],
    }

    def formula_type_for(self, field: FieldDef) -> str:
        result = field.setting("result_type", "any")
        return "number" if result == "percent" else str(result)

    def references(self, field: FieldDef) -> list[Reference]:
        return [Reference("formula", str(field.setting("formula")), "formula")]


class RollupStandIn(FieldType):
    key = "rollup"
    label = Label("汇总", "Rollup")
    formula_type = "number"
    computed = True
    settings_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "source": {"type": "string", "pattern": "^[a-z][a-z0-9_]*(\\.[a-z][a-z0-9_]*)?$"},
            "field": {"type": "string"},
            "aggregate": {"enum": ["sum", "count", "avg", "min", "max"]},
            "where": {"type": "object"},
        },
        "required": ["source", "aggregate"],
    }

    def references(self, field: FieldDef) -> list[Reference]:
        found = [Reference("source", str(field.setting("source")), "source")]
        if field.setting("field"):
            found.append(Reference("source_field", str(field.setting("field")), "field"))
        return found


class SectionStandIn(FieldType):
    key = "section"
    label = Label("分组", "Section")
    stored = False
    storage = "none"
    layout = True


STAND_INS: tuple[FieldType, ...] = (
    SubformStandIn(), FormulaStandIn(), RollupStandIn(), SectionStandIn(),
)


def field_types() -> Registry[FieldType]:
    """The built-in field types, with stand-ins for those not written yet."""
    registry = build_field_types()
    for stand_in in STAND_INS:
        if registry.find(stand_in.key) is None:
            registry.register(stand_in)
    return registry
