"""The record page's fields, placed as the form's ``layout`` says: sections
(a ``section`` item starts one), rows of up to four fields side by side,
then the fields no row places, one per row, in field order (as the forms
documentation says a layout works).

A field the reader may not see is not in the record the engine gave back,
so it is simply left out. A field the definition hides until a rule shows
it (``hidden: true``) appears only when it holds a value: the rule showed
it when the value was written.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup

from engine.core.i18n import Label, label
from engine.definitions.model import FieldDef, FormDef
from runtime.web.display import Shown

# Values that need the whole width of a row whatever the layout says.
WIDE_TYPES = frozenset({"subform", "rich_text", "textarea", "attachment", "image"})


@dataclass(frozen=True)
class Cell:
    field: FieldDef
    value: Markup
    wide: bool


@dataclass
class Section:
    key: str
    label: Label | None
    rows: list[list[Cell]] = field(default_factory=list)
    notes: list[Label] = field(default_factory=list)


def _blank(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def lay_out(form: FormDef, record: Mapping[str, Any], shown: Shown) -> list[Section]:
    """The sections of the record page, without the empty ones."""
    types = shown.service.field_types
    by_key = {f.key: f for f in form.fields}
    placed: list[list[str]] = [[k for k in row.get("fields", ()) if k in by_key] for row in form.layout]
    seen = {k for row in placed for k in row}
    placed += [[f.key] for f in form.fields if f.key not in seen]
    sections = [Section("main", None)]
    for keys in placed:
        cells = []
        for key in keys:
            f = by_key[key]
            ftype = types.get(f.type)
            if f.type == "section":
                sections.append(Section(f.key, f.label))
            elif f.type == "note" and f.setting("text"):
                sections[-1].notes.append(label(f.setting("text")))
            elif ftype.layout or key not in record or (f.hidden and _blank(record.get(key))):
                continue
            else:
                cells.append(Cell(f, shown.value(f, record.get(key), ftype), f.type in WIDE_TYPES))
        if cells:
            sections[-1].rows.append(cells)
    return [s for s in sections if s.rows]
