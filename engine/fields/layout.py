"""Layout-only items: section (a titled group), divider (a line) and note
(fixed text on the form). They take no input, hold no value, have no column."""

from __future__ import annotations

from typing import Any

from engine.core.i18n import Label
from engine.definitions.model import FieldDef
from engine.fields.base import FieldType
from engine.fields.settings import LABEL_SCHEMA, settings_object


class _LayoutType(FieldType):
    stored = False
    default_storage = "none"
    layout = True
    operators = ()

    def to_db(self, field: FieldDef, value: Any) -> dict[str, Any]:
        return {}

    def from_db(self, field: FieldDef, row: Any) -> Any:
        return None

    def coerce(self, field: FieldDef, raw: Any) -> Any:
        return None

    def export_value(self, field: FieldDef, value: Any, locale: str = "zh") -> Any:
        return None

    def display(self, field: FieldDef, value: Any, locale: str = "zh") -> str:
        return ""


class SectionType(_LayoutType):
    """A titled group of the fields that follow it (its label is the title)."""

    key = "section"
    label = Label("分组", "Section")


class DividerType(_LayoutType):
    """A horizontal line between fields."""

    key = "divider"
    label = Label("分割线", "Divider")


class NoteType(_LayoutType):
    """Fixed explanatory text on the form (``text``, in both languages)."""

    key = "note"
    label = Label("说明文字", "Note")
    settings_schema = settings_object({"text": LABEL_SCHEMA})
