"""A record's values as a print template shows them.

Each field is shown by its own type (``display``), except what only the
database can name: relations by their target's title, members and
departments by name (``engine.records.names``, within the reader's read
scope), and moments in the viewer's time zone. Fields the actor may not read never reach here: the record comes
from ``RecordService.get`` with the actor's rights.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import replace
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Connection

from engine.definitions.model import FieldDef
from engine.fields.base import FieldType
from engine.records.access import ReadGuard
from engine.records.columns import system_field
from engine.records.compiled import CompiledForm
from engine.records.names import NAMERS, ids_in, names_for
from engine.records.service import RecordService


class FieldValues:
    """A record's values by field key, for ``record.code`` in a template.

    Not a dict: a dict's own methods would shadow fields (a subform keyed
    ``items`` must be the rows, not ``dict.items``). A missing key is
    undefined in the template, which prints as nothing."""

    __slots__ = ("_values",)

    def __init__(self, values: Mapping[str, Any]) -> None:
        self._values = dict(values)

    def __getattr__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(name) from None

    def __getitem__(self, name: str) -> Any:
        return self._values[name]

    def __contains__(self, name: object) -> bool:
        return name in self._values

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __repr__(self) -> str:
        return f"FieldValues({self._values!r})"


class RecordDisplay:
    """Shows the records of one form: their fields, subform rows included.

    Given the reader's ``guard``, a related record they may not read keeps
    no title (it shows as ``#id``), as on the pages."""

    def __init__(self, service: RecordService, form_key: str, locale: str, zone: ZoneInfo,
                 guard: ReadGuard | None = None) -> None:
        self.service, self.locale, self.zone, self.guard = service, locale, zone, guard
        self.compiled, _ = service.form(form_key)

    def shown(self, conn: Connection, records: list[Mapping[str, Any]]) -> list[FieldValues]:
        """The records' display texts (one query per named field, whatever the count)."""
        compiled = self.compiled
        fields = {key: self._field(key) for key in {k for r in records for k in r}}
        names = self._names(conn, [f for f, _ in fields.values() if f is not None], records)
        rows_names = {key: self._names(conn, list(compiled.form.get_field(key).fields),
                                       [row for r in records for row in r.get(key) or ()])
                      for key in compiled.child_types}
        shown = []
        for record in records:
            out: dict[str, Any] = {}
            for key, value in record.items():
                f, ftype = fields[key]
                if f is None or ftype is None:
                    continue
                if key in compiled.child_types and isinstance(value, list):
                    children = compiled.child_types[key]
                    out[key] = [FieldValues({
                        child.key: self.text(child, children[child.key], row.get(child.key),
                                             rows_names[key].get(child.key))
                        for child in compiled.form.get_field(key).fields if child.key in row
                    }) for row in value]
                else:
                    out[key] = self.text(f, ftype, value, names.get(key))
            shown.append(FieldValues(out))
        return shown

    def _field(self, key: str) -> tuple[FieldDef | None, FieldType | None]:
        compiled = self.compiled
        f = compiled.form.field(key) or system_field(key)
        if f is None:
            return None, None
        ftype = compiled.types.get(key) or self.service.field_types.get(f.type)
        lookup = next((found for found in compiled.lookups if found.key == key), None)
        if lookup is not None:
            # A lookup holds the related record's field: shown the way that field
            # shows it (under the lookup's key, where this record holds it).
            relation = compiled.form.get_field(lookup.relation)
            target, _ = self.service.form(str(relation.setting("target")))
            shown = target.form.field(lookup.field)
            if shown is not None:
                return replace(shown, key=key), target.types[shown.key]
        return f, ftype

    def _names(self, conn: Connection, fields: list[FieldDef],
               records: list[Mapping[str, Any]]) -> dict[str, dict[int, Any] | None]:
        """Per field that holds ids, their names (``{}`` when there are none); None for other fields."""
        named = names_for(self.service, fields, records, guard=self.guard, connection=conn)
        return {f.key: named.get(f.key, {}) if f.type in NAMERS else None for f in fields}

    def text(self, f: FieldDef, ftype: FieldType, value: Any, names: dict[int, Any] | None) -> str:
        """One value as the viewer reads it."""
        if value is None:
            return ""
        if names is not None:
            joiner = "、" if self.locale.startswith("zh") else ", "
            return joiner.join(str(names.get(i, f"#{i}")) for i in ids_in(value))
        if isinstance(value, dt.datetime):
            local = value.astimezone(self.zone) if value.tzinfo else value
            return local.strftime("%Y-%m-%d %H:%M")
        return ftype.display(f, value, self.locale)


def raw_values(compiled: CompiledForm, record: Mapping[str, Any], zone: ZoneInfo) -> FieldValues:
    """The record's values as they are (Decimal, date ...) for the filters:
    ``values.amount|capital``; moments in the viewer's zone."""
    out: dict[str, Any] = {}
    for key, value in record.items():
        if key in compiled.child_types and isinstance(value, list):
            out[key] = [FieldValues(row) for row in value]
        elif isinstance(value, dt.datetime) and value.tzinfo is not None:
            out[key] = value.astimezone(zone)
        else:
            out[key] = value
    return FieldValues(out)
