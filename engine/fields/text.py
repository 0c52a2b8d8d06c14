"""Text fields: one line (text), several lines (textarea) and sanitized HTML (rich_text)."""

from __future__ import annotations

import datetime as dt
import random
import re
from decimal import Decimal
from typing import Any, ClassVar

import sqlalchemy as sa

from engine.core.i18n import Label, Message, label
from engine.definitions.model import FieldDef
from engine.fields import demo
from engine.fields.base import DefinitionProblem, FieldType, FieldValueError
from engine.fields.inputs import is_blank_input, shorten
from engine.fields.sanitize import html_to_text, sanitize_html
from engine.fields.settings import LABEL_SCHEMA, int_setting, settings_object

TEXT_OPERATORS: tuple[str, ...] = (
    "eq", "ne", "contains", "not_contains", "starts_with", "ends_with", "in", "not_in",
    "is_blank", "not_blank",
)

TOO_LONG = Message("不能超过 {max} 个字符（现有 {n} 个）", "At most {max} characters (this has {n})")
TOO_SHORT = Message("至少需要 {min} 个字符（现有 {n} 个）", "At least {min} characters (this has {n})")
NO_MATCH = Message("格式不正确", "The format is not valid")
NOT_TEXT = Message("“{value}” 不能作为文本", "\"{value}\" cannot be used as text")
BAD_PATTERN = Message("正则表达式无效：{reason}", "Invalid regular expression: {reason}")


def input_text(raw: Any) -> str:
    """Input as text: numbers without needless zeros, dates in ISO form."""
    if isinstance(raw, str):
        return raw
    if isinstance(raw, bool):
        return "是" if raw else "否"
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    if isinstance(raw, int | float):
        return str(raw)
    if isinstance(raw, Decimal):
        return format(raw, "f")
    if isinstance(raw, dt.date | dt.time):
        return raw.isoformat()
    raise FieldValueError(NOT_TEXT.format(value=shorten(raw)))


class TextType(FieldType):
    """One line of text (names, codes, titles); surrounding spaces are trimmed
    and line breaks become spaces."""

    key = "text"
    label = Label("单行文本", "Text")
    formula_type = "text"
    operators = TEXT_OPERATORS
    default_max_length: ClassVar[int] = 200
    settings_schema = settings_object({
        "max_length": {"type": "integer", "minimum": 1, "maximum": 10000},
        "min_length": {"type": "integer", "minimum": 0},
        "pattern": {"type": "string"},
        "pattern_message": LABEL_SCHEMA,
    })

    def __init__(self) -> None:
        self._limits: dict[int, tuple[FieldDef, tuple[int, int | None, str | None]]] = {}
        # Subclasses that clean text their own way (rich text) take no shortcut.
        self._plain = type(self).clean is TextType.clean

    def max_length(self, field: FieldDef) -> int:
        return int_setting(field, "max_length", self.default_max_length)

    def check_settings(self, field: FieldDef) -> list[DefinitionProblem]:
        problems = []
        low = field.setting("min_length")
        if isinstance(low, int) and low > self.max_length(field):
            problems.append(DefinitionProblem("min_length", Message(
                "最少字符数 {min} 大于最多字符数 {max}", "min_length {min} is greater than max_length {max}"
            ).format(min=low, max=self.max_length(field))))
        pattern = field.setting("pattern")
        if pattern is not None:
            try:
                re.compile(str(pattern))
            except re.error as exc:
                problems.append(DefinitionProblem("pattern", BAD_PATTERN.format(reason=exc)))
        return problems

    def columns(self, field: FieldDef) -> list[sa.Column[Any]]:
        return [sa.Column(field.key, sa.String(self.max_length(field)), nullable=True)]

    def clean(self, text: str) -> str:
        return " ".join(text.replace("\r", "\n").split("\n")).strip()

    def coerce(self, field: FieldDef, raw: Any) -> Any:
        if self._plain and type(raw) is str and "\n" not in raw and "\r" not in raw:
            return raw.strip() or None  # one line of text: all clean() would do
        if is_blank_input(raw):
            return None
        text = self.clean(input_text(raw))
        return text or None

    def limits(self, field: FieldDef) -> tuple[int, int | None, str | None]:
        """(max_length, min_length, pattern), read once per field definition."""
        cached = self._limits.get(id(field))
        if cached is not None and cached[0] is field:
            return cached[1]
        low = field.setting("min_length")
        pattern = field.setting("pattern")
        found = (self.max_length(field), low if isinstance(low, int) else None,
                 str(pattern) if pattern else None)
        if len(self._limits) > 10_000:
            self._limits.clear()
        self._limits[id(field)] = (field, found)
        return found

    def validate(self, field: FieldDef, value: Any) -> list[Label]:
        limit, low, pattern = self.limits(field)
        if low is None and pattern is None and len(value) <= limit:
            return []  # the usual case, checked without building anything
        messages = []
        if len(value) > limit:
            messages.append(TOO_LONG.format(max=limit, n=len(value)))
        if low is not None and len(value) < low:
            messages.append(TOO_SHORT.format(min=low, n=len(value)))
        if pattern and not re.fullmatch(pattern, value):
            custom = field.setting("pattern_message")
            messages.append(label(custom) if custom else NO_MATCH.format())
        return messages

    def display(self, field: FieldDef, value: Any, locale: str = "zh") -> str:
        return "" if value is None else str(value)

    def export_value(self, field: FieldDef, value: Any, locale: str = "zh") -> Any:
        return value

    def json_schema(self, field: FieldDef) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "string", "maxLength": self.max_length(field)}
        low = field.setting("min_length")
        if isinstance(low, int) and low > 0:
            schema["minLength"] = low
        return schema

    def fake(self, field: FieldDef, rng: random.Random) -> Any:
        pattern = field.setting("pattern")
        for _ in range(5):
            text = demo.text_for_key(field.key, rng)[: self.max_length(field)]
            low = field.setting("min_length")
            if isinstance(low, int) and len(text) < low:
                text = (text * (low // max(len(text), 1) + 1))[: max(low, 1)]
            if not pattern or re.fullmatch(str(pattern), text):
                return text
        return None  # a demo value that breaks the pattern would not pass validation


class TextareaType(TextType):
    """Several lines of plain text (notes, descriptions); line breaks are kept."""

    key = "textarea"
    label = Label("多行文本", "Long text")
    default_max_length = 5000
    operators = ("contains", "not_contains", "is_blank", "not_blank")
    settings_schema = settings_object({
        "max_length": {"type": "integer", "minimum": 1, "maximum": 1000000},
        "min_length": {"type": "integer", "minimum": 0},
    })

    def columns(self, field: FieldDef) -> list[sa.Column[Any]]:
        return [sa.Column(field.key, sa.Text(), nullable=True)]

    def clean(self, text: str) -> str:
        lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        return "\n".join(line.rstrip() for line in lines).strip()

    def json_schema(self, field: FieldDef) -> dict[str, Any]:
        return {"type": "string", "maxLength": self.max_length(field)}

    def fake(self, field: FieldDef, rng: random.Random) -> Any:
        return "\n".join(rng.sample(demo.PHRASES, 2))[: self.max_length(field)]


class RichTextType(TextareaType):
    """Formatted text as HTML, sanitized on input to a safe subset (no scripts,
    no event attributes, no ``javascript:`` links). Formulas and lists see the
    plain text; exports carry the HTML so an import brings the formatting back."""

    key = "rich_text"
    label = Label("富文本", "Rich text")
    default_max_length = 100000
    settings_schema = settings_object({"max_length": {"type": "integer", "minimum": 1, "maximum": 10000000}})

    def clean(self, text: str) -> str:
        return sanitize_html(text).strip()

    def coerce(self, field: FieldDef, raw: Any) -> Any:
        value = super().coerce(field, raw)
        # Markup with no text and no image is blank ("<p><br></p>" from an editor).
        if value is not None and not html_to_text(value).strip() and "<img" not in value:
            return None
        return value

    def formula_value(self, field: FieldDef, value: Any) -> Any:
        return None if value is None else html_to_text(value)

    def display(self, field: FieldDef, value: Any, locale: str = "zh") -> str:
        return "" if value is None else html_to_text(value)

    def json_schema(self, field: FieldDef) -> dict[str, Any]:
        return {"type": "string", "contentMediaType": "text/html", "maxLength": self.max_length(field)}

    def fake(self, field: FieldDef, rng: random.Random) -> Any:
        first, second = rng.sample(demo.PHRASES, 2)
        return f"<p><strong>{first}</strong></p><ul><li>{second}</li></ul>"
