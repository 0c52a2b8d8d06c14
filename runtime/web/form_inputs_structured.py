"""The inputs of values with parts (address, location), of files (uploads,
images, a signature), of computed and layout items (shown, never posted),
and the subform's editable table (rows decoded by their cells' inputs)."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from decimal import InvalidOperation
from typing import Any, ClassVar

from engine.core.registry import Registry
from engine.definitions.model import FieldDef
from engine.fields.base import FieldType
from runtime.web.form_inputs_base import ABSENT, FormInput, InputContext, Posted, number_text


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
        return {part: number_text(value.get(part)) for part in self.parts}


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


def computed_input(type_key: str) -> type[FormInput]:
    return type(f"{type_key.title()}Input", (ComputedInput,), {"key": type_key, "template": "inputs/computed.html"})


class LayoutInput(ComputedInput):
    """Section, divider and note: drawn by the layout, no value."""


def layout_input(type_key: str) -> type[FormInput]:
    return type(f"{type_key.title()}Input", (LayoutInput,), {"key": type_key})


_ROW = re.compile(r"^(?P<key>[a-z][a-z0-9_]*)\[(?P<index>\d{1,4})\]\[(?P<child>[a-z][a-z0-9_]*)\]")


# A live evaluation decodes the same names on every keystroke: each is read once.
@functools.lru_cache(maxsize=4096)
def _row_of(posted_name: str) -> tuple[str, int] | None:
    """The subform and row a posted name belongs to: ``items[2][quantity]`` -> ("items", 2)."""
    m = _ROW.match(posted_name)
    return (m.group("key"), int(m.group("index"))) if m else None


@functools.lru_cache(maxsize=4096)
def _row_names(name: str, index: int, children: tuple[str, ...]) -> tuple[str, tuple[str, ...]]:
    """A row's posted names: its id's and its cells' (``items[2][quantity]``)."""
    return f"{name}[{index}][id]", tuple(f"{name}[{index}][{child}]" for child in children)


class SubformInput(FormInput):
    """An editable table: rows ``key[i][child]`` decoded by the children's
    own inputs, in the order of ``i``; ``key[i][id]`` keeps a stored row."""

    key = "subform"

    def __init__(self, inputs: Registry[FormInput]) -> None:
        self.inputs = inputs

    def decode(self, posted: Posted, name: str, f: FieldDef) -> Any:
        indexes = sorted({found[1] for k in posted if (found := _row_of(k)) is not None and found[0] == name})
        if not indexes and name not in posted:
            return ABSENT
        rows = []
        children = [(child, self.inputs.get(child.type)) for child in f.fields]
        keys = tuple(child.key for child in f.fields)
        for index in indexes:
            row: dict[str, Any] = {}
            id_name, names = _row_names(name, index, keys)
            ident = (posted.get(id_name) or "").strip()
            if ident.isdigit():
                row["id"] = int(ident)
            for (child, form_input), cell_name in zip(children, names, strict=True):
                value = form_input.decode(posted, cell_name, child)
                if value is not ABSENT:
                    row[child.key] = value
            rows.append(row)
        return rows

    def shown(self, f: FieldDef, ftype: FieldType, value: Any, ctx: InputContext, path: str) -> Any:
        return [row for row in (value or ()) if isinstance(row, Mapping)]
