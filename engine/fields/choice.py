"""Choices: boolean (是/否), select (one option) and multiselect (several).

A select's value is the option's **key**, never its label: labels change
freely and differ by language, keys are identities. Formulas and rules
compare keys (``stage = "won"``); people see labels (display, exports), and
input may name an option by key or by its label in either language.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from engine.core.i18n import Label, Message, label
from engine.definitions.model import FieldDef
from engine.fields.base import DefinitionProblem, FieldType, FieldValueError
from engine.fields.inputs import is_blank_input, parse_bool, shorten
from engine.fields.operators import Operator
from engine.fields.settings import KEY_SCHEMA, LABEL_SCHEMA, int_setting, settings_object

NOT_AN_OPTION = Message("“{value}” 不是可选项（可选：{options}）", "\"{value}\" is not an option (options: {options})")
TOO_FEW = Message("至少选择 {min} 项", "Choose at least {min}")
TOO_MANY = Message("最多选择 {max} 项", "Choose at most {max}")
# Separators people put between several choices in one cell.
LIST_SEPARATORS = re.compile(r"\s*[、,，;；|\n]\s*")
OTHER_MAX_LENGTH = 200

OPTION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"key": KEY_SCHEMA, "label": LABEL_SCHEMA, "color": {"type": "string"}},
    "required": ["key"],
}
OPTIONS_SETTING: dict[str, Any] = {"type": "array", "items": OPTION_SCHEMA, "minItems": 1}


@dataclass(frozen=True)
class Option:
    key: str
    label: Label
    color: str | None = None


_OPTIONS: dict[int, tuple[FieldDef, list[Option]]] = {}


def options_of(field: FieldDef) -> list[Option]:
    """The field's options, labels normalised (a missing label is the key);
    worked out once per field definition."""
    cached = _OPTIONS.get(id(field))
    if cached is not None and cached[0] is field:
        return cached[1]
    found = _read_options(field)
    if len(_OPTIONS) > 10_000:
        _OPTIONS.clear()
    _OPTIONS[id(field)] = (field, found)
    return found


def _read_options(field: FieldDef) -> list[Option]:
    found = []
    for raw in field.setting("options") or ():
        if isinstance(raw, Mapping) and isinstance(raw.get("key"), str):
            found.append(Option(raw["key"], label(raw.get("label") or raw["key"]), raw.get("color")))
    return found


def find_option(field: FieldDef, raw: Any) -> Option | None:
    """The option named by ``raw``: its key, its zh or en label (English
    labels and keys case-insensitively), or a mapping with ``key`` or ``label``."""
    if isinstance(raw, Mapping):
        raw = raw.get("key", raw.get("label"))
        if isinstance(raw, Mapping):
            raw = label(raw).zh
    if not isinstance(raw, str):
        return None
    text = raw.strip()
    options = options_of(field)
    for option in options:
        if option.key == text:
            return option
    folded = text.casefold()
    for option in options:
        if text == option.label.zh or folded == option.label.en.casefold():
            return option
    for option in options:  # "B" for the option keyed b: keys are not case-sensitive to people
        if folded == option.key.casefold():
            return option
    return None


def check_options(field: FieldDef) -> list[DefinitionProblem]:
    problems = []
    keys: set[str] = set()
    labels: set[str] = set()
    for index, option in enumerate(options_of(field)):
        if option.key in keys:
            problems.append(DefinitionProblem(f"options[{index}].key", Message(
                "选项键 {key} 重复", "Duplicate option key {key}").format(key=option.key)))
        keys.add(option.key)
        for text in {option.label.zh, option.label.en}:
            if text in labels:
                problems.append(DefinitionProblem(f"options[{index}].label", Message(
                    "选项名称“{label}”重复，导入时无法区分",
                    "Duplicate option label \"{label}\": imports could not tell them apart",
                ).format(label=text)))
            labels.add(text)
    if not keys:
        problems.append(DefinitionProblem("options", Label("至少需要一个选项", "At least one option is needed")))
    return problems


def _option_list_text(field: FieldDef, locale: str = "zh") -> str:
    names = [option.label.text(locale) for option in options_of(field)]
    joiner = "、" if locale.lower().startswith("zh") else ", "
    return joiner.join(names[:10]) + ("…" if len(names) > 10 else "")


def _not_an_option(field: FieldDef, raw: Any) -> FieldValueError:
    return FieldValueError(Label(
        NOT_AN_OPTION.zh.format(value=shorten(raw), options=_option_list_text(field, "zh")),
        NOT_AN_OPTION.en.format(value=shorten(raw), options=_option_list_text(field, "en")),
    ))


class BooleanType(FieldType):
    """Yes or no. Reads 是/否, yes/no, true/false, 1/0, √/×."""

    key = "boolean"
    label = Label("是/否", "Yes/No")
    formula_type = "boolean"
    operators = ("eq", "ne", "is_blank", "not_blank")

    def columns(self, field: FieldDef) -> list[sa.Column[Any]]:
        return [sa.Column(field.key, sa.Boolean(create_constraint=False), nullable=True)]

    def coerce(self, field: FieldDef, raw: Any) -> Any:
        return None if is_blank_input(raw) else parse_bool(raw)

    def from_db(self, field: FieldDef, row: Any) -> Any:
        stored = row.get(field.key)
        return None if stored is None else bool(stored)

    def is_blank(self, value: Any) -> bool:
        return value is None

    def display(self, field: FieldDef, value: Any, locale: str = "zh") -> str:
        if value is None:
            return ""
        return (Label("是", "Yes") if value else Label("否", "No")).text(locale)

    def json_schema(self, field: FieldDef) -> dict[str, Any]:
        return {"type": "boolean"}

    def fake(self, field: FieldDef, rng: random.Random) -> Any:
        return rng.random() < 0.5


class SelectType(FieldType):
    """One option of ``options``; with ``allow_other`` any other text is kept too."""

    key = "select"
    label = Label("单选", "Single select")
    formula_type = "text"
    operators = ("eq", "ne", "in", "not_in", "is_blank", "not_blank")
    settings_schema = settings_object(
        {"options": OPTIONS_SETTING, "allow_other": {"type": "boolean"}}, required=("options",)
    )

    def check_settings(self, field: FieldDef) -> list[DefinitionProblem]:
        return check_options(field)

    def columns(self, field: FieldDef) -> list[sa.Column[Any]]:
        return [sa.Column(field.key, sa.String(OTHER_MAX_LENGTH), nullable=True)]

    def coerce(self, field: FieldDef, raw: Any) -> Any:
        if is_blank_input(raw):
            return None
        option = find_option(field, raw)
        if option is not None:
            return option.key
        if field.setting("allow_other") and isinstance(raw, str | int):
            return str(raw).strip()[:OTHER_MAX_LENGTH]
        raise _not_an_option(field, raw)

    def validates(self, field: FieldDef) -> bool:
        # Coercion already turns every input into an option key (or refuses
        # it), so a coerced value has nothing left to check.
        return False

    def validate(self, field: FieldDef, value: Any) -> list[Label]:
        if field.setting("allow_other") or find_option(field, value) is not None:
            return []
        return [_not_an_option(field, value).message]

    def display(self, field: FieldDef, value: Any, locale: str = "zh") -> str:
        if value is None:
            return ""
        option = next((o for o in options_of(field) if o.key == value), None)
        return option.label.text(locale) if option else str(value)

    def json_schema(self, field: FieldDef) -> dict[str, Any]:
        keys = [option.key for option in options_of(field)]
        if field.setting("allow_other"):
            return {"type": "string", "examples": keys, "maxLength": OTHER_MAX_LENGTH}
        return {"type": "string", "enum": keys}

    def fake(self, field: FieldDef, rng: random.Random) -> Any:
        options = options_of(field)
        return rng.choice(options).key if options else None


class MultiselectType(FieldType):
    """Several options, kept as a list of keys in the options' order (so two
    equal choices are equal values). Stored as a JSON array; filtered with
    ``has_any`` / ``has_all`` (see engine.fields.operators)."""

    key = "multiselect"
    label = Label("多选", "Multiple select")
    formula_type = "list:text"
    operators = ("has_any", "has_all", "is_blank", "not_blank")
    settings_schema = settings_object(
        {
            "options": OPTIONS_SETTING,
            "min_items": {"type": "integer", "minimum": 0},
            "max_items": {"type": "integer", "minimum": 1},
        },
        required=("options",),
    )

    def check_settings(self, field: FieldDef) -> list[DefinitionProblem]:
        problems = check_options(field)
        low, high = field.setting("min_items"), field.setting("max_items")
        if isinstance(low, int) and isinstance(high, int) and low > high:
            problems.append(DefinitionProblem("min_items", Message(
                "最少选择数 {min} 大于最多选择数 {max}", "min_items {min} is greater than max_items {max}"
            ).format(min=low, max=high)))
        return problems

    def columns(self, field: FieldDef) -> list[sa.Column[Any]]:
        return [sa.Column(field.key, sa.JSON(none_as_null=True), nullable=True)]

    def coerce(self, field: FieldDef, raw: Any) -> Any:
        if is_blank_input(raw):
            return None
        items = LIST_SEPARATORS.split(raw.strip()) if isinstance(raw, str) else raw
        if isinstance(items, Mapping) or not isinstance(items, list | tuple | set | frozenset):
            items = [items]
        chosen: set[str] = set()
        for item in items:
            if is_blank_input(item):
                continue
            option = find_option(field, item)
            if option is None:
                raise _not_an_option(field, item)
            chosen.add(option.key)
        ordered = [option.key for option in options_of(field) if option.key in chosen]
        return ordered or None

    def from_db(self, field: FieldDef, row: Any) -> Any:
        stored = row.get(field.key)
        return list(stored) if stored else None

    def validate(self, field: FieldDef, value: Any) -> list[Label]:
        messages = [
            _not_an_option(field, item).message for item in value if find_option(field, item) is None
        ]
        low, high = field.setting("min_items"), field.setting("max_items")
        if isinstance(low, int) and len(value) < low:
            messages.append(TOO_FEW.format(min=low))
        if isinstance(high, int) and len(value) > high:
            messages.append(TOO_MANY.format(max=high))
        return messages

    def labels(self, field: FieldDef, value: Any, locale: str) -> list[str]:
        names = {option.key: option.label.text(locale) for option in options_of(field)}
        return [names.get(key, key) for key in value or ()]

    def display(self, field: FieldDef, value: Any, locale: str = "zh") -> str:
        return ("、" if locale.lower().startswith("zh") else ", ").join(self.labels(field, value, locale))

    def display_item(self, field: FieldDef, item: Any, locale: str = "zh") -> str:
        return self.display(field, [item], locale)

    def export_value(self, field: FieldDef, value: Any, locale: str = "zh") -> Any:
        return self.display(field, value, locale) if value else None

    def json_schema(self, field: FieldDef) -> dict[str, Any]:
        keys = [option.key for option in options_of(field)]
        schema: dict[str, Any] = {"type": "array", "items": {"type": "string", "enum": keys}, "uniqueItems": True}
        if isinstance(field.setting("max_items"), int):
            schema["maxItems"] = field.setting("max_items")
        return schema

    def fake(self, field: FieldDef, rng: random.Random) -> Any:
        keys = [option.key for option in options_of(field)]
        if not keys:
            return None
        low = max(int_setting(field, "min_items", 1), 1)
        high = min(int_setting(field, "max_items", len(keys)), len(keys), max(low, 3))
        return rng.sample(keys, rng.randint(min(low, high), high))

    def operand(self, field: FieldDef, operator: Operator, raw: Any) -> Any:
        if operator.arity == "list":
            return self.coerce(field, raw) or []
        return super().operand(field, operator, raw)
