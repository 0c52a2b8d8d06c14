"""What a package offers to the checks: its forms, their fields and the names a formula may read.

The loader asks field types, never field type keys, what a field is:

- it *has a value* when its type stores one or computes one (layout items
  such as section and note do not);
- it is a *relation* when its ``references`` include a ``form`` reference
  (the form it points at);
- it *has child rows* when its type stores a child table (or it has child fields).

The names a formula may read (DESIGN §5) are, at the form level: the form's
fields with a value, the system fields, ``<relation>.<field>`` for each field
(and system field) of a relation's target form, and ``<subform>.<child>`` for
each child column. A formula inside a subform row reads that row only: its
own columns and ``<relation>.<field>`` through the row's relations — not the
parent record, so a child row never depends on a value computed from its rows
(no cycle through a rollup). Combine parent and rows at the form level
(``SUM(items.subtotal) * (1 - discount)``).

Each name comes with its formula type (from the field type's
``formula_type_for``), so a formula such as ``amount + name`` is refused when
the package loads, not when a record is saved.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from engine.definitions.field_types import FieldTypeContract, FieldTypes
from engine.definitions.model import FieldDef, FormDef, Reference
from engine.expr.types import parse_type

SYSTEM_FIELD_TYPES: Mapping[str, str] = {
    "id": "number",
    "owner": "any",
    "created_by": "any",
    "created_at": "datetime",
    "updated_by": "any",
    "updated_at": "datetime",
    "version": "number",
    "flow_status": "text",
}
SYSTEM_FIELDS = tuple(SYSTEM_FIELD_TYPES)

Names = Mapping[str, str]
"""Field paths a formula may read, with their formula types (``"money"``, ``"list:number"``)."""


@dataclass
class FormEntry:
    """A form of the package as far as it could be read.

    ``form`` holds the parts that passed the schema; ``unchecked`` the keys of
    fields left out because the schema refused them (they exist, so nothing
    else is reported as missing them). ``field_index`` (and the other
    ``*_index``) give each kept element's position in the file, for paths.
    ``checkable`` is False when the form as a whole is unreadable (no field
    list) or not part of this package (a base app's form): it is then only a
    name others may point at.
    """

    file: str
    form: FormDef
    unchecked: frozenset[str] = frozenset()
    field_index: tuple[int, ...] = ()
    rule_index: tuple[int, ...] = ()
    view_index: tuple[int, ...] = ()
    index_index: tuple[int, ...] = ()
    layout_ok: bool = True
    checkable: bool = True


@dataclass
class Catalog:
    """The forms of a package (and of the package it extends), and the field types.

    ``open_world`` is True for an overlay checked without its base: a form
    that is not in the package may exist in the base, so it is not an error.
    """

    forms: Mapping[str, FormEntry]
    field_types: FieldTypes
    open_world: bool = False
    # The app's flows (key -> form) where a check may name one (rules'
    # flow triggers, start_flow); None where they are not known.
    flows: Mapping[str, str] | None = None
    _references: dict[int, Sequence[Reference]] = field(default_factory=dict)

    def entry(self, key: str) -> FormEntry | None:
        return self.forms.get(key)

    def type_of(self, f: FieldDef) -> FieldTypeContract | None:
        return self.field_types.find(f.type)

    def references(self, f: FieldDef) -> Sequence[Reference]:
        """The field type's references for ``f`` (asked once per field)."""
        found = self._references.get(id(f))
        if found is None:
            field_type = self.type_of(f)
            found = list(field_type.references(f)) if field_type is not None else []
            self._references[id(f)] = found
        return found

    def reference(self, f: FieldDef, kind: str) -> Reference | None:
        return next((r for r in self.references(f) if r.kind == kind), None)

    def has_value(self, f: FieldDef) -> bool:
        field_type = self.type_of(f)
        return field_type is None or field_type.stored or field_type.computed

    def is_computed(self, f: FieldDef) -> bool:
        field_type = self.type_of(f)
        return field_type is not None and field_type.computed

    def has_column(self, f: FieldDef) -> bool:
        field_type = self.type_of(f)
        return field_type is not None and field_type.stored and field_type.storage_for(f) == "column"

    def has_rows(self, f: FieldDef) -> bool:
        field_type = self.type_of(f)
        return bool(f.fields) or (field_type is not None and field_type.storage_for(f) == "child_table")

    def relation_target(self, f: FieldDef) -> str | None:
        ref = self.reference(f, "form")
        return ref.value if ref is not None else None

    # --- names ------------------------------------------------------------------
    def value_fields(self, key: str) -> dict[str, FieldDef | None] | None:
        """The fields with a value of form ``key`` (None for a field the schema
        refused), or None when the form is unknown."""
        entry = self.entry(key)
        if entry is None:
            return None
        found: dict[str, FieldDef | None] = {k: None for k in entry.unchecked}
        found.update({f.key: f for f in entry.form.fields if self.has_value(f)})
        return found

    def value_keys(self, key: str) -> set[str] | None:
        fields = self.value_fields(key)
        return set(fields) if fields is not None else None

    def formula_type(self, f: FieldDef | None, siblings: Sequence[FieldDef] = ()) -> str:
        """The formula type of ``f``'s values; a lookup has its looked-up field's."""
        field_type = self.type_of(f) if f is not None else None
        if f is None or field_type is None:
            return "any"
        lookup = self.reference(f, "lookup_field")
        if lookup is not None:
            via_key = lookup.via or next(
                (r.value for r in self.references(f) if r.kind == "relation"), None
            )
            via = next((s for s in siblings if s.key == via_key), None)
            target = self.relation_target(via) if via is not None else None
            through = self.value_fields(target) if target is not None else None
            looked_up = through.get(lookup.value) if through else None
            return self._through(via, self.formula_type(looked_up)) if via is not None else "any"
        spec = field_type.formula_type_for(f)
        try:
            parse_type(spec)
        except ValueError:
            return "any"
        return spec

    def _through(self, link: FieldDef, item: str) -> str:
        """The type of ``<link>.<field>``: a list when the link holds several records."""
        if self.has_rows(link) or self.formula_type(link) in ("records", "list", "list:any"):
            return f"list:{item}" if not item.startswith("list") else "list"
        return item

    def form_names(self, entry: FormEntry) -> Names | None:
        """The names a formula at the form level may read (None: cannot be known)."""
        names = self.names_of(entry.form.fields)
        if names is None:
            return None
        return {**{k: "any" for k in entry.unchecked}, **names, **SYSTEM_FIELD_TYPES}

    def row_names(self, subform: FieldDef) -> Names | None:
        """The names a formula inside a row of ``subform`` may read."""
        return self.names_of(subform.fields)

    def names_of(self, fields: Iterable[FieldDef]) -> Names | None:
        fields = list(fields)
        names: dict[str, str] = {}
        for f in fields:
            if not self.has_value(f):
                continue
            names[f.key] = self.formula_type(f, fields)
            target = self.relation_target(f)
            if target is not None:
                through = self.value_fields(target)
                if through is None:
                    if self.open_world:
                        return None
                    continue  # reported as a missing form
                target_fields = self.entry(target)
                siblings = target_fields.form.fields if target_fields is not None else ()
                for key, other in through.items():
                    names[f"{f.key}.{key}"] = self._through(f, self.formula_type(other, siblings))
                for key, spec in SYSTEM_FIELD_TYPES.items():
                    names[f"{f.key}.{key}"] = self._through(f, spec)
            if self.has_rows(f):
                for child in f.fields:
                    if self.has_value(child):
                        names[f"{f.key}.{child.key}"] = self._through(
                            f, self.formula_type(child, f.fields)
                        )
        return names
