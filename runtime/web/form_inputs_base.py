"""What every form input shares: the ``FormInput`` protocol (the template
that draws it, how the posted fields decode, what it shows for a value),
``ABSENT`` for an input the page did not carry, and the ``InputContext``
that drawing needs. The inputs themselves are in ``form_inputs_*`` by kind;
``form_inputs`` registers them (its docstring names the posted fields)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, ClassVar

from werkzeug.datastructures import MultiDict

from engine.definitions.model import FieldDef
from engine.fields.base import FieldType


class _Absent:
    def __repr__(self) -> str:
        return "ABSENT"


ABSENT: Any = _Absent()
Posted = MultiDict[str, str]


@dataclass
class InputContext:
    """What drawing an input needs beyond its value: the reader's zone and
    language, and the names of records, people and departments by id."""

    zone: dt.tzinfo = dt.UTC
    locale: str = "zh"
    names: dict[str, dict[int, str]] = field(default_factory=dict)  # field path -> id -> text

    def name_of(self, path: str, ident: int) -> str:
        return self.names.get(path, {}).get(ident, f"#{ident}")


def text_of(value: Any) -> str:
    return "" if value is None else str(value)


class FormInput:
    """A plain one-value input: posted as one text, shown as text."""

    key: ClassVar[str]
    template: ClassVar[str] = ""

    def template_name(self) -> str:
        return self.template or f"inputs/{self.key}.html"

    def decode(self, posted: Posted, name: str, f: FieldDef) -> Any:
        if name not in posted:
            return ABSENT
        values = posted.getlist(name)
        return values[-1] if values else ""

    def shown(self, f: FieldDef, ftype: FieldType, value: Any, ctx: InputContext, path: str) -> Any:
        return text_of(value)


def plain_input(type_key: str) -> type[FormInput]:
    return type(f"{type_key.title().replace('_', '')}Input", (FormInput,), {"key": type_key})


def number_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal | int | float) and not isinstance(value, bool):
        return format(Decimal(str(value)).normalize() if isinstance(value, float) else Decimal(value), "f")
    return str(value)
