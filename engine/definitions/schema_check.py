"""Checking a file against its JSON Schema, in words an app builder reads.

jsonschema's own messages dump whole instances and schemas; here each error
becomes a short sentence at a JSON path (``fields[3].precision: -1 is less
than the minimum of 0``). A schema may carry its own wording for a keyword in
``x-messages`` (``{"pattern": {"zh": ..., "en": ...}}``, ``{value}`` is the
offending value), and name what an ``enum`` lists in ``x-kind`` ("field
type") for "unknown field type 'txt' — did you mean 'text'?".
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from engine.core.i18n import Label
from engine.definitions.issues import Path, did_you_mean, join

_TYPE_NAMES = {
    "string": ("文本", "a text"),
    "integer": ("整数", "a whole number"),
    "number": ("数字", "a number"),
    "boolean": ("true 或 false", "true or false"),
    "array": ("列表", "a list"),
    "object": ("映射（键: 值）", "a mapping (key: value)"),
    "null": ("空值", "nothing"),
}


def make_validator(schema: Mapping[str, Any]) -> Draft202012Validator:
    """A validator for ``schema``, itself checked against the 2020-12 meta-schema
    (a field type's ``settings_schema`` could be malformed). Checking the
    schema is the slow part, so validators are kept per schema content."""
    return _validator(json.dumps(schema, sort_keys=True))


@lru_cache(maxsize=256)  # a package has dozens of schemas (field types, node types, charts)
def _validator(schema_text: str) -> Draft202012Validator:
    schema = json.loads(schema_text)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def schema_errors(validator: Draft202012Validator, data: Any) -> list[tuple[Path, Label]]:
    """Every schema violation of ``data`` as (JSON path, message), without duplicates."""
    found: dict[tuple[Path, str], Label] = {}
    for error in validator.iter_errors(data):
        for path, message in _explain(validator, error):
            found.setdefault((path, message.en), message)
    return [(path, message) for (path, _), message in found.items()]


def _explain(validator: Draft202012Validator, error: ValidationError) -> Iterable[tuple[Path, Label]]:
    path: Path = tuple(error.absolute_path)
    keyword = str(error.validator)
    schema = error.schema if isinstance(error.schema, Mapping) else {}
    instance = error.instance
    custom = schema.get("x-messages", {}).get(keyword)
    if custom is not None:
        yield path, Label(custom["zh"].format(value=instance), custom["en"].format(value=instance))
        return
    if keyword == "required":
        yield from _required(error, path)
    elif keyword in ("additionalProperties", "unevaluatedProperties"):
        yield from _unknown_keys(validator, error, path)
    elif keyword == "enum":
        yield path, _not_one_of(instance, list(schema.get("enum", ())), schema.get("x-kind"))
    elif keyword in ("anyOf", "oneOf") and error.context:
        # The alternative that got furthest says the most.
        best = max(error.context, key=lambda e: len(e.absolute_path))
        yield from _explain(validator, best)
    else:
        yield path, _sentence(keyword, error.validator_value, instance) or Label(
            error.message, error.message
        )


def _required(error: ValidationError, path: Path) -> Iterable[tuple[Path, Label]]:
    instance = error.instance if isinstance(error.instance, Mapping) else {}
    schema = error.schema if isinstance(error.schema, Mapping) else {}
    kind = _settings_of(error)
    for name in schema.get("required", ()):
        if name in instance:
            continue
        if kind is not None:
            # A type's own setting: point at the setting, name the type.
            yield (*path, name), Label(
                f"{kind} 类型的字段需要 '{name}'", f"a field of type '{kind}' needs '{name}'"
            )
        else:
            yield path, Label(f"缺少 '{name}'", f"'{name}' is required")


def _unknown_keys(
    validator: Draft202012Validator, error: ValidationError, path: Path
) -> Iterable[tuple[Path, Label]]:
    instance = error.instance if isinstance(error.instance, Mapping) else {}
    schema = error.schema if isinstance(error.schema, Mapping) else {}
    allowed = set(schema.get("properties", {}))
    kind = _settings_of(error)
    for name in instance:
        if name in allowed:
            continue
        hint = did_you_mean(str(name), allowed)
        if kind is not None:
            yield (*path, name), join(Label(
                f"{kind} 类型的字段没有设置项 '{name}'", f"a field of type '{kind}' has no setting '{name}'"
            ), hint)
        else:
            yield (*path, name), join(Label(f"未知的键 '{name}'", f"unknown key '{name}'"), hint)


def _settings_of(error: ValidationError) -> str | None:
    """The field type whose settings branch raised ``error``, if one did."""
    schema = error.schema if isinstance(error.schema, Mapping) else {}
    kind = schema.get("x-settings-of")
    return kind if isinstance(kind, str) else None


def _not_one_of(value: Any, allowed: list[Any], kind: Mapping[str, str] | None) -> Label:
    shown = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else f"'{value}'"
    hint = did_you_mean(value, [str(a) for a in allowed]) if isinstance(value, str) else Label("", "")
    if kind is not None:
        return join(Label(f"未知的{kind['zh']} {shown}", f"unknown {kind['en']} {shown}"), hint)
    choices = ", ".join(str(a) for a in allowed)
    return join(Label(f"{shown} 不是 {choices} 之一", f"{shown} is not one of {choices}"), hint)


def _kind_of(value: Any) -> tuple[str, str]:
    if value is None:
        return _TYPE_NAMES["null"]
    if isinstance(value, bool):
        return _TYPE_NAMES["boolean"]
    if isinstance(value, int):
        return _TYPE_NAMES["integer"]
    if isinstance(value, float):
        return _TYPE_NAMES["number"]
    if isinstance(value, str):
        return _TYPE_NAMES["string"]
    if isinstance(value, list):
        return _TYPE_NAMES["array"]
    return _TYPE_NAMES["object"]


def _sentence(keyword: str, expected: Any, value: Any) -> Label | None:
    """A readable sentence for a failed keyword, or None to fall back."""
    shown = f"'{value}'" if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    if keyword == "type":
        wanted = [expected] if isinstance(expected, str) else list(expected)
        zh = " 或 ".join(_TYPE_NAMES.get(w, (w, w))[0] for w in wanted)
        en = " or ".join(_TYPE_NAMES.get(w, (w, w))[1] for w in wanted)
        got_zh, got_en = _kind_of(value)
        return Label(f"应为{zh}，实际是{got_zh}", f"expected {en}, got {got_en}")
    if keyword == "const":
        return Label(f"应为 {json.dumps(expected, ensure_ascii=False)}", f"must be {json.dumps(expected)}")
    if keyword == "minLength":
        if expected == 1:
            return Label("不能为空", "must not be empty")
        return Label(f"{shown} 少于 {expected} 个字符", f"{shown} is shorter than {expected} characters")
    if keyword == "maxLength":
        return Label(f"{shown} 超过 {expected} 个字符", f"{shown} is longer than {expected} characters")
    if keyword == "pattern":
        return Label(f"{shown} 不符合格式 {expected}", f"{shown} does not match {expected}")
    if keyword == "minimum":
        return Label(f"{shown} 小于最小值 {expected}", f"{shown} is less than the minimum of {expected}")
    if keyword == "maximum":
        return Label(f"{shown} 大于最大值 {expected}", f"{shown} is more than the maximum of {expected}")
    if keyword == "exclusiveMinimum":
        return Label(f"{shown} 应大于 {expected}", f"{shown} must be more than {expected}")
    if keyword == "exclusiveMaximum":
        return Label(f"{shown} 应小于 {expected}", f"{shown} must be less than {expected}")
    if keyword == "minItems":
        if expected == 1:
            return Label("至少需要一项", "needs at least one item")
        return Label(f"至少需要 {expected} 项", f"needs at least {expected} items")
    if keyword == "maxItems":
        return Label(f"最多 {expected} 项", f"takes at most {expected} items")
    if keyword == "uniqueItems":
        return Label("有重复的项", "has duplicate items")
    if keyword == "minProperties":
        return Label("不能为空", "must not be empty")
    if keyword == "not":
        return Label(f"不允许 {shown}", f"{shown} is not allowed")
    if keyword == "multipleOf":
        return Label(f"{shown} 应为 {expected} 的倍数", f"{shown} must be a multiple of {expected}")
    return None
