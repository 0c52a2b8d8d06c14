"""How each field type is typed into a web form: the template that draws its
input, how the posted form fields decode into the value the engine's
coercion takes, and what the template shows for a value.

One ``FormInput`` per field type, in ``FORM_INPUTS`` (keyed by the type's
key, like the engine's field types; no ``if type ==`` anywhere). A new field
type adds its input here and a template ``inputs/<type>.html``.

Names of the posted form fields:

- a top-level input is named by its field key: ``name``;
- a structured value uses ``key.part``: ``address.province``,
  ``address.city``, ``address.district``, ``address.detail``,
  ``location.lat``, ``location.lng``, ``location.address``;
- a subform cell is ``key[i][child]`` (``items[0][quantity]``), the row's
  id ``key[i][id]`` (blank for a new row); rows are taken in the order of
  ``i``;
- a multi-valued input repeats its name (``tags=a&tags=b``), after a blank
  marker of the same name, so "nothing chosen" is told from "not on the page";
- a file is its stored metadata as JSON (``{"id", "name", ...}``), one per
  repeated name.

``decode`` answers ``ABSENT`` when the page did not carry the input at all:
that field is left out of the values (not blanked).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import zoneinfo
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

from werkzeug.datastructures import MultiDict

from engine.core.registry import Registry
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


def _text(value: Any) -> str:
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
        return _text(value)


def _plain(type_key: str) -> type[FormInput]:
    return type(f"{type_key.title().replace('_', '')}Input", (FormInput,), {"key": type_key})


def _number_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal | int | float) and not isinstance(value, bool):
        return format(Decimal(str(value)).normalize() if isinstance(value, float) else Decimal(value), "f")
    return str(value)


class NumberInput(FormInput):
    key = "number"

    def shown(self, f: FieldDef, ftype: FieldType, value: Any, ctx: InputContext, path: str) -> Any:
        return _number_text(value)


class MoneyInput(NumberInput):
    key = "money"


class PercentInput(FormInput):
    """Typed as a percentage (15 for 15%), kept as a fraction (0.15)."""

    key = "percent"

    def decode(self, posted: Posted, name: str, f: FieldDef) -> Any:
        raw = super().decode(posted, name, f)
        if raw is ABSENT or not raw.strip() or raw.strip().endswith("%"):
            return raw
        return raw.strip() + "%"

    def shown(self, f: FieldDef, ftype: FieldType, value: Any, ctx: InputContext, path: str) -> Any:
        if isinstance(value, str):
            return value.strip().rstrip("%").strip()
        if value is None:
            return ""
        try:
            return format(Decimal(value).scaleb(2).normalize(), "f")
        except InvalidOperation:
            return str(value)


class BooleanInput(FormInput):
    """A checkbox after a hidden "false" of the same name: the last one posted wins."""

    key = "boolean"

    def shown(self, f: FieldDef, ftype: FieldType, value: Any, ctx: InputContext, path: str) -> Any:
        if isinstance(value, str):
            return value.strip().lower() in ("true", "1", "yes", "on")
        return bool(value)


class MultiInput(FormInput):
    """Repeated names after a blank marker: the list of what is chosen."""

    def decode(self, posted: Posted, name: str, f: FieldDef) -> Any:
        if name not in posted:
            return ABSENT
        return [v for v in posted.getlist(name) if v.strip()]

    def shown(self, f: FieldDef, ftype: FieldType, value: Any, ctx: InputContext, path: str) -> Any:
        if value is None or value == "":
            return []
        return [str(v) for v in (value if isinstance(value, list | tuple) else [value])]


class MultiselectInput(MultiInput):
    key = "multiselect"


def _ids(value: Any) -> list[int]:
    items = value if isinstance(value, list | tuple) else [value]
    found = []
    for item in items:
        if isinstance(item, Mapping):
            item = item.get("id")
        if isinstance(item, int) and not isinstance(item, bool):
            found.append(item)
        elif isinstance(item, str) and item.strip().isdigit():
            found.append(int(item.strip()))
    return found


class PickerInput(MultiInput):
    """Ids chosen in a searching picker (Tom Select over ``pick/<field>``)."""

    def decode(self, posted: Posted, name: str, f: FieldDef) -> Any:
        chosen = super().decode(posted, name, f)
        if chosen is ABSENT or f.setting("multiple"):
            return chosen
        return chosen[-1] if chosen else ""

    def shown(self, f: FieldDef, ftype: FieldType, value: Any, ctx: InputContext, path: str) -> Any:
        if value is None or value == "":
            return []
        return [(i, ctx.name_of(path, i)) for i in _ids(value)]


class MemberInput(PickerInput):
    key = "member"


class DepartmentInput(PickerInput):
    key = "department"


class RelationInput(PickerInput):
    key = "relation"


class DateTimeInput(FormInput):
    """``datetime-local`` in the reader's time zone, posted as ISO 8601 with
    the zone's offset (so the engine reads the moment the reader meant)."""

    key = "datetime"

    def decode(self, posted: Posted, name: str, f: FieldDef) -> Any:
        raw = super().decode(posted, name, f)
        zone = posted.get("_zone")
        if raw is ABSENT or not raw.strip() or not zone:
            return raw
        try:
            moment = dt.datetime.fromisoformat(raw.strip())
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=zoneinfo.ZoneInfo(zone))
        except (ValueError, zoneinfo.ZoneInfoNotFoundError):
            return raw  # the engine says what is wrong with it
        return moment.isoformat()

    def shown(self, f: FieldDef, ftype: FieldType, value: Any, ctx: InputContext, path: str) -> Any:
        if isinstance(value, str):
            try:
                value = dt.datetime.fromisoformat(value.strip())
            except ValueError:
                return value
        if isinstance(value, dt.datetime):
            if value.tzinfo is not None:
                value = value.astimezone(ctx.zone)
            return value.replace(tzinfo=None).isoformat(timespec="minutes")
        return _text(value)


class DateInput(FormInput):
    key = "date"

    def shown(self, f: FieldDef, ftype: FieldType, value: Any, ctx: InputContext, path: str) -> Any:
        return value.isoformat() if isinstance(value, dt.date) else _text(value)


class TimeInput(FormInput):
    key = "time"

    def shown(self, f: FieldDef, ftype: FieldType, value: Any, ctx: InputContext, path: str) -> Any:
        return value.isoformat(timespec="minutes") if isinstance(value, dt.time) else _text(value)


class PartsInput(FormInput):
    """A value of named parts, posted as ``key.part``."""

    parts: ClassVar[tuple[str, ...]] = ()

    def decode(self, posted: Posted, name: str, f: FieldDef) -> Any:
        present = {part: posted.get(f"{name}.{part}") for part in self.parts if f"{name}.{part}" in posted}
        if not present:
            return ABSENT
        if all(not (v or "").strip() for v in present.values()):
            return None
        return {part: (v or "").strip() or None for part, v in present.items()}

    def shown(self, f: FieldDef, ftype: FieldType, value: Any, ctx: InputContext, path: str) -> Any:
        value = value if isinstance(value, Mapping) else {}
        return {part: _number_text(value.get(part)) for part in self.parts}


class AddressInput(PartsInput):
    key = "address"
    parts = ("province", "city", "district", "detail")


class LocationInput(PartsInput):
    key = "location"
    parts = ("lat", "lng", "address")


class FilesInput(FormInput):
    """Uploaded files' metadata, one JSON object per repeated name."""

    key = "attachment"

    def decode(self, posted: Posted, name: str, f: FieldDef) -> Any:
        if name not in posted:
            return ABSENT
        files = []
        for text in posted.getlist(name):
            if not text.strip():
                continue
            try:
                files.append(json.loads(text))
            except ValueError:
                files.append(text)  # the engine says it is not an uploaded file
        return files

    def shown(self, f: FieldDef, ftype: FieldType, value: Any, ctx: InputContext, path: str) -> Any:
        if not value:
            return []
        items = value if isinstance(value, list | tuple) else [value]
        return [{"meta": item, "json": json.dumps(item, ensure_ascii=False, default=str)}
                for item in items if isinstance(item, Mapping)]


class ImageInput(FilesInput):
    key = "image"


class SignatureInput(FilesInput):
    key = "signature"

    def decode(self, posted: Posted, name: str, f: FieldDef) -> Any:
        files = super().decode(posted, name, f)
        if files is ABSENT:
            return files
        return files[-1] if files else None


class ComputedInput(FormInput):
    """Formula, rollup, lookup and serial: shown, never posted."""

    def decode(self, posted: Posted, name: str, f: FieldDef) -> Any:
        return ABSENT

    def shown(self, f: FieldDef, ftype: FieldType, value: Any, ctx: InputContext, path: str) -> Any:
        if value is None:
            return ""
        try:
            return ftype.display(f, value, ctx.locale)
        except (TypeError, ValueError, InvalidOperation, AttributeError):
            return str(value)


def _computed(type_key: str) -> type[FormInput]:
    return type(f"{type_key.title()}Input", (ComputedInput,), {"key": type_key, "template": "inputs/computed.html"})


class LayoutInput(ComputedInput):
    """Section, divider and note: drawn by the layout, no value."""


def _layout(type_key: str) -> type[FormInput]:
    return type(f"{type_key.title()}Input", (LayoutInput,), {"key": type_key})


_ROW = re.compile(r"^(?P<key>[a-z][a-z0-9_]*)\[(?P<index>\d{1,4})\]\[(?P<child>[a-z][a-z0-9_]*)\]")


class SubformInput(FormInput):
    """An editable table: rows ``key[i][child]`` decoded by the children's
    own inputs, in the order of ``i``; ``key[i][id]`` keeps a stored row."""

    key = "subform"

    def __init__(self, inputs: Registry[FormInput]) -> None:
        self.inputs = inputs

    def decode(self, posted: Posted, name: str, f: FieldDef) -> Any:
        indexes = sorted({int(m.group("index")) for k in posted
                          if (m := _ROW.match(k)) and m.group("key") == name})
        if not indexes and name not in posted:
            return ABSENT
        rows = []
        for index in indexes:
            prefix = f"{name}[{index}]"
            row: dict[str, Any] = {}
            ident = (posted.get(f"{prefix}[id]") or "").strip()
            if ident.isdigit():
                row["id"] = int(ident)
            for child in f.fields:
                value = self.inputs.get(child.type).decode(posted, f"{prefix}[{child.key}]", child)
                if value is not ABSENT:
                    row[child.key] = value
            rows.append(row)
        return rows

    def shown(self, f: FieldDef, ftype: FieldType, value: Any, ctx: InputContext, path: str) -> Any:
        return [row for row in (value or ()) if isinstance(row, Mapping)]


def build_form_inputs() -> Registry[FormInput]:
    """Every field type's input, registered explicitly."""
    registry: Registry[FormInput] = Registry("form input")
    plain = [_plain(k)() for k in ("text", "textarea", "rich_text", "phone", "email", "url", "rating", "select")]
    registry.register_all([
        *plain, NumberInput(), MoneyInput(), PercentInput(), BooleanInput(), MultiselectInput(),
        DateInput(), DateTimeInput(), TimeInput(), AddressInput(), LocationInput(),
        MemberInput(), DepartmentInput(), RelationInput(),
        FilesInput(), ImageInput(), SignatureInput(),
        *(_computed(k)() for k in ("serial", "lookup", "formula", "rollup")),
        *(_layout(k)() for k in ("section", "divider", "note")),
    ])
    registry.register(SubformInput(registry))
    return registry


FORM_INPUTS = build_form_inputs()


def decode_values(fields: Sequence[FieldDef], posted: Posted,
                  inputs: Registry[FormInput] = FORM_INPUTS) -> dict[str, Any]:
    """The input values of ``fields`` that the posted form carries."""
    found = {}
    for f in fields:
        value = inputs.get(f.type).decode(posted, f.key, f)
        if value is not ABSENT:
            found[f.key] = value
    return found
