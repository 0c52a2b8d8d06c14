"""Pieces shared by the field types' settings: JSON Schema fragments and the
checks a schema cannot express (min above max, a bad regex).

A type's ``settings_schema`` is ``{"type": "object", "properties": {...}}``
describing only that type's own settings (the keys every field has are
described by the form schema); ``required`` lists settings that must be given.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engine.core.i18n import Label, Message
from engine.definitions.model import FieldDef
from engine.fields.base import DefinitionProblem, FieldValueError

LABEL_SCHEMA: dict[str, Any] = {
    "oneOf": [
        {"type": "string"},
        {
            "type": "object",
            "properties": {"zh": {"type": "string"}, "en": {"type": "string"}},
            "additionalProperties": False,
            "minProperties": 1,
        },
    ]
}
KEY_SCHEMA: dict[str, Any] = {"type": "string", "pattern": "^[a-z][a-z0-9_]*$", "maxLength": 50}
NUMBER_SETTING: dict[str, Any] = {"type": ["number", "string"]}
PRECISION_SETTING: dict[str, Any] = {"type": "integer", "minimum": 0, "maximum": 10}


def settings_object(properties: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    return schema


MIN_ABOVE_MAX = Message("最小值 {min} 大于最大值 {max}", "Minimum {min} is greater than maximum {max}")
BAD_BOUND = Message("“{value}” 不是有效的 {name}：{reason}", "\"{value}\" is not a valid {name}: {reason}")


def check_bounds(
    field: FieldDef,
    parse: Callable[[Any], Any],
    low: str = "min",
    high: str = "max",
) -> list[DefinitionProblem]:
    """``low`` and ``high`` settings parse with ``parse`` and are in order."""
    problems: list[DefinitionProblem] = []
    parsed: dict[str, Any] = {}
    for name in (low, high):
        raw = field.setting(name)
        if raw is None:
            continue
        try:
            parsed[name] = parse(raw)
        except (FieldValueError, ValueError, TypeError) as exc:
            reason = exc.message if isinstance(exc, FieldValueError) else Label(str(exc), str(exc))
            problems.append(DefinitionProblem(name, Label(
                BAD_BOUND.zh.format(value=raw, name=name, reason=reason.zh),
                BAD_BOUND.en.format(value=raw, name=name, reason=reason.en),
            )))
    if low in parsed and high in parsed and parsed[low] > parsed[high]:
        problems.append(DefinitionProblem(low, MIN_ABOVE_MAX.format(min=field.setting(low), max=field.setting(high))))
    return problems


def int_setting(field: FieldDef, name: str, default: int) -> int:
    """A whole-number setting, or ``default`` when absent or not a whole number
    (a bad value is reported by the schema, not here)."""
    value = field.setting(name, default)
    return value if isinstance(value, int) and not isinstance(value, bool) else default
