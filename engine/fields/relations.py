"""Links between forms: relation (to records of another form) and lookup
(a field of the related record, read through a relation).

A single relation is an integer column holding the target record's id, with
an index but **no** foreign key here: the target table's name needs the app,
and the store adds the constraint (with the field's ``on_delete``) when it
syncs the schema. A multiple relation uses a link table
``<parent>__<key>(source_id, target_id, position)``; the row's value is
assembled by the store from it (``to_db`` writes nothing to the main table).

Titles ("华信科技有限公司" for id 12) need the database: the record service
and import resolve them; here values are ids and display is ``#12``.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any, ClassVar

import sqlalchemy as sa

from engine.core.i18n import Label, Message
from engine.definitions.model import FieldDef, Reference
from engine.fields.base import DefinitionProblem, FieldType, FieldValueError
from engine.fields.choice import LIST_SEPARATORS
from engine.fields.inputs import MAX_ID, is_blank_input, parse_id
from engine.fields.settings import KEY_SCHEMA, settings_object

SINGLE_OPERATORS = ("eq", "ne", "in", "not_in", "is_blank", "not_blank")
MULTIPLE_OPERATORS = ("has_any", "has_all", "is_blank", "not_blank")
ONE_ONLY = Message("只能选择一条记录", "Only one record can be chosen")
MISSING = Message("缺少设置 {name}", "The setting {name} is missing")


def ids_input(raw: Any) -> list[Any]:
    """Input naming several records or users: a list, or text "3、5, 8"."""
    if isinstance(raw, str):
        return [part for part in LIST_SEPARATORS.split(raw.strip()) if part]
    if isinstance(raw, list | tuple | set | frozenset):
        return list(raw)
    return [raw]


def coerce_ids(raw: Any, *, multiple: bool) -> Any:
    """One id (single) or a list of distinct ids in input order (multiple)."""
    if is_blank_input(raw):
        return None
    items = [item for item in ids_input(raw) if not is_blank_input(item)]
    if not multiple:
        if isinstance(raw, Mapping) or not isinstance(raw, list | tuple | set | frozenset | str):
            return parse_id(raw)
        if len(items) > 1:
            raise FieldValueError(ONE_ONLY.format())
        return parse_id(items[0]) if items else None
    ids: list[int] = []
    for item in items:
        number = parse_id(item)
        if number not in ids:
            ids.append(number)
    return ids or None


def ids_text(value: Any, locale: str, prefix: str = "") -> str:
    items = value if isinstance(value, list) else [value]
    joiner = "、" if locale.lower().startswith("zh") else ", "
    return joiner.join(f"{prefix}{item}" for item in items if item is not None)


def missing_setting(name: str) -> DefinitionProblem:
    return DefinitionProblem(name, MISSING.format(name=name))


class IdValued(FieldType):
    """Values that are ids — of records, users or departments: one id, or a
    list of them when the field is ``multiple``. Shared by relation, member
    and department."""

    fake_ids: ClassVar[int] = 20  # demo values point at the first few records

    def multiple(self, field: FieldDef) -> bool:
        return bool(field.setting("multiple", False))

    def display(self, field: FieldDef, value: Any, locale: str = "zh") -> str:
        return "" if value is None else ids_text(value, locale, "#")

    def export_value(self, field: FieldDef, value: Any, locale: str = "zh") -> Any:
        if value is None:
            return None
        return ids_text(value, locale) if isinstance(value, list) else value

    def json_schema(self, field: FieldDef) -> dict[str, Any]:
        one = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
        if self.multiple(field):
            return {"type": "array", "items": one, "uniqueItems": True}
        return one

    def fake(self, field: FieldDef, rng: random.Random) -> Any:
        if self.multiple(field):
            return rng.sample(range(1, self.fake_ids + 1), rng.randint(1, 3))
        return rng.randint(1, self.fake_ids)


class RelationType(IdValued):
    """Records of another form (``target``): one id, or a list with ``multiple``."""

    key = "relation"
    role = "relation"
    label = Label("关联记录", "Relation")
    formula_type = "record"
    operators = tuple(dict.fromkeys(SINGLE_OPERATORS + MULTIPLE_OPERATORS))
    settings_schema = settings_object(
        {
            "target": KEY_SCHEMA,
            "multiple": {"type": "boolean"},
            "on_delete": {"enum": ["restrict", "set_null"]},
        },
        required=("target",),
    )

    def check_settings(self, field: FieldDef) -> list[DefinitionProblem]:
        return [] if field.setting("target") else [missing_setting("target")]

    def references(self, field: FieldDef) -> list[Reference]:
        target = field.setting("target")
        return [Reference("form", str(target), "target")] if target else []

    def storage_for(self, field: FieldDef) -> str:
        return "link_table" if self.multiple(field) else "column"

    def operators_for(self, field: FieldDef) -> tuple[str, ...]:
        return MULTIPLE_OPERATORS if self.multiple(field) else SINGLE_OPERATORS

    def formula_type_for(self, field: FieldDef) -> str:
        return "records" if self.multiple(field) else "record"

    # --- storage ----------------------------------------------------------------
    def columns(self, field: FieldDef) -> list[sa.Column[Any]]:
        if self.multiple(field):
            return []
        return [sa.Column(field.key, sa.Integer(), nullable=True, index=True)]

    @staticmethod
    def link_table_name(field: FieldDef, parent: str) -> str:
        return f"{parent}__{field.key}"

    def tables(self, field: FieldDef, parent: str, metadata: sa.MetaData) -> list[sa.Table]:
        if not self.multiple(field):
            return []
        link = sa.Table(
            self.link_table_name(field, parent),
            metadata,
            sa.Column("source_id", sa.Integer(), sa.ForeignKey(f"{parent}.id", ondelete="CASCADE"),
                      primary_key=True),
            sa.Column("target_id", sa.Integer(), primary_key=True, index=True),
            sa.Column("position", sa.Integer(), nullable=False, default=0),
        )
        return [link]

    def to_db(self, field: FieldDef, value: Any) -> dict[str, Any]:
        return {} if self.multiple(field) else {field.key: value}

    def from_db(self, field: FieldDef, row: Mapping[str, Any]) -> Any:
        stored = row.get(field.key)
        if self.multiple(field):
            return [int(item) for item in stored] if stored else None
        return None if stored is None else int(stored)

    def link_rows(self, field: FieldDef, source_id: int, value: Any) -> list[dict[str, Any]]:
        """The link table rows for a multiple relation's value, in order."""
        return [
            {"source_id": source_id, "target_id": target, "position": position}
            for position, target in enumerate(value or ())
        ]

    # --- input --------------------------------------------------------------------
    def coerce(self, field: FieldDef, raw: Any) -> Any:
        return coerce_ids(raw, multiple=self.multiple(field))

    def formula_value(self, field: FieldDef, value: Any) -> Any:
        # The record service replaces these with the related records' fields
        # when a formula reads through the relation (customer.industry).
        if value is None:
            return None
        if isinstance(value, list):
            return [{"id": item} for item in value]
        return {"id": value}

    # --- filters on a link table ----------------------------------------------------
    def filter_clause(
        self,
        field: FieldDef,
        table: sa.Table,
        operator_key: str,
        raw: Any,
        *,
        today: Any = None,
    ) -> sa.ColumnElement[bool]:
        if not self.multiple(field):
            return super().filter_clause(field, table, operator_key, raw, today=today)
        self.operator(field, operator_key)
        link = table.metadata.tables[self.link_table_name(field, table.name)]

        def linked(*conditions: sa.ColumnElement[bool]) -> sa.Exists:
            return sa.exists().where(link.c.source_id == table.c.id, *conditions)

        if operator_key == "is_blank":
            return ~linked()
        if operator_key == "not_blank":
            return linked()
        ids = coerce_ids(raw, multiple=True) or []
        if not ids:
            return sa.false() if operator_key == "has_any" else sa.true()
        if operator_key == "has_any":
            return linked(link.c.target_id.in_(ids))
        return sa.and_(*(linked(link.c.target_id == target) for target in ids))


class LookupType(FieldType):
    """A field of the related record, read through ``relation`` at query time
    (他表字段). It has no column: the record service reads the value when it
    reads the record, so it is never stale."""

    key = "lookup"
    role = "lookup"
    label = Label("他表字段", "Lookup")
    stored = False
    default_storage = "none"
    computed = True
    operators = ()
    settings_schema = settings_object(
        {"relation": KEY_SCHEMA, "field": KEY_SCHEMA}, required=("relation", "field")
    )

    def check_settings(self, field: FieldDef) -> list[DefinitionProblem]:
        return [missing_setting(name) for name in ("relation", "field") if not field.setting(name)]

    def references(self, field: FieldDef) -> list[Reference]:
        relation, target_field = field.setting("relation"), field.setting("field")
        found = []
        if relation:
            found.append(Reference("relation", str(relation), "relation"))
            if target_field:
                found.append(Reference("lookup_field", str(target_field), "field", via=str(relation)))
        return found

    def to_db(self, field: FieldDef, value: Any) -> dict[str, Any]:
        return {}

    def coerce(self, field: FieldDef, raw: Any) -> Any:
        # The value is the related field's value, already coerced by its own type.
        return None if is_blank_input(raw) else raw

    def display(self, field: FieldDef, value: Any, locale: str = "zh") -> str:
        if value is None:
            return ""
        if isinstance(value, list):
            return ("、" if locale.lower().startswith("zh") else ", ").join(str(item) for item in value)
        return str(value)

    def export_value(self, field: FieldDef, value: Any, locale: str = "zh") -> Any:
        return None if value is None else self.display(field, value, locale)
