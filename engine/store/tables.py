"""The real tables of an app: one per form, built from its definition.

A form ``quote`` of app ``crm`` is the table ``crm_quote``: the system columns
every record has, then one column (or a few) per stored field, named by the
field's key, so integrators and BI tools can read it. Subforms add child
tables and multi relations link tables (``crm_quote__items``), both made by
the field type. Relations get a foreign key to the target form's table and
an index; declared and unique indexes are real indexes.

The ``Table`` objects are SQLAlchemy Core, cached per form definition (its
content hash): the same definition always gives the same objects, a newly
published one gets new objects.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import sqlalchemy as sa

from engine.core.errors import DefinitionError
from engine.core.i18n import Label
from engine.definitions.model import AppDef, FieldDef, FormDef
from engine.fields.base import FieldType
from engine.store.database import Database, Moment, identifier
from engine.store.models import SYSTEM_TABLES
from engine.store.row_ids import TABLE_OPTIONS

SYSTEM_COLUMNS = (
    "id",
    "owner",
    "created_by",
    "created_at",
    "updated_by",
    "updated_at",
    "version",
    "flow_status",
)
USER_COLUMNS = ("owner", "created_by", "updated_by")
# Tables other tables point at without owning them (the system tables and
# other forms): present in a form's MetaData as bare references (an id column) so foreign keys compile.
REFERENCE_MARK = "qiqiao_reference"


class FieldTypes(Protocol):
    """What the store needs of the field-type registry."""

    def get(self, key: str) -> FieldType: ...


@dataclass(frozen=True)
class IndexSpec:
    """An index the definition asks for: its columns, in order, and uniqueness."""

    name: str
    columns: tuple[str, ...]
    unique: bool = False


@dataclass(frozen=True)
class FormTables:
    """A form's Core tables: ``main`` (``<app>_<form>``) and, by field key,
    the tables its fields own (a subform's child table, a link table)."""

    form: FormDef
    metadata: sa.MetaData
    main: sa.Table
    extra: Mapping[str, tuple[sa.Table, ...]]

    @property
    def tables(self) -> list[sa.Table]:
        """Every table the form owns, each after the tables it points at."""
        owned = [self.main, *(t for ts in self.extra.values() for t in ts)]
        return [t for t in self.metadata.sorted_tables if t in owned]

    def field_tables(self, key: str) -> tuple[sa.Table, ...]:
        return self.extra.get(key, ())


def table_name(app: str, form: str) -> str:
    return f"{app}_{form}" if app else form


def field_table_name(parent: str, key: str) -> str:
    """The name of a table a field owns (child rows, links): ``<parent>__<key>``."""
    return f"{parent}__{key}"


def stored_in_columns(field_type: FieldType, field: FieldDef) -> bool:
    """Whether the field's value sits in its own column(s) of the form's table."""
    return field_type.stored and field_type.storage_for(field) == "column"


def owns_tables(field_type: FieldType, field: FieldDef) -> bool:
    """Whether the field keeps its values in tables of its own (child rows, links)."""
    return field_type.stored and field_type.storage_for(field) in ("child_table", "link_table")


def field_columns(field: FieldDef, field_types: FieldTypes) -> list[sa.Column[Any]]:
    """The columns ``field`` has in its form's table (none if it lives elsewhere)."""
    field_type = field_types.get(field.type)
    if not stored_in_columns(field_type, field):
        return []
    columns = []
    for column in field_type.columns(field):
        copy = column._copy() if getattr(column, "table", None) is not None else column
        # The store names and creates every index itself (see index_specs).
        copy.index = None
        copy.unique = None
        columns.append(copy)
    return columns


def relation_target(field: FieldDef, field_type: FieldType) -> str | None:
    """The form a column-stored field points at (a single relation), if any.

    A field whose settings reference a form and whose value sits in its own
    column holds the id of a record of that form.
    """
    if not stored_in_columns(field_type, field):
        return None
    return next((r.value for r in field_type.references(field) if r.kind == "form"), None)


def on_delete(field: FieldDef) -> str:
    """The ``ON DELETE`` of a relation's foreign key (its ``on_delete`` setting)."""
    return "SET NULL" if field.setting("on_delete") == "set_null" else "RESTRICT"


def system_columns() -> list[sa.Column[Any]]:
    return [
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("owner", sa.Integer, nullable=True),
        sa.Column("created_by", sa.Integer, nullable=True),
        sa.Column("created_at", Moment(), nullable=True),
        sa.Column("updated_by", sa.Integer, nullable=True),
        sa.Column("updated_at", Moment(), nullable=True),
        sa.Column("version", sa.Integer, nullable=False, default=1, server_default="1"),
        sa.Column("flow_status", sa.String(20), nullable=True),
    ]


def index_specs(form: FormDef, field_types: FieldTypes) -> dict[str, IndexSpec]:
    """The indexes the definition asks for on the main table, by name: one on
    each relation, each ``index: true`` field, a unique one for each
    ``unique: true`` field, and the form's declared ``indexes``."""
    table = form.table_name
    columns_of: dict[str, tuple[str, ...]] = {key: (key,) for key in SYSTEM_COLUMNS}
    specs: dict[str, IndexSpec] = {}
    for field in form.fields:
        field_type = field_types.get(field.type)
        names = tuple(str(c.name) for c in field_columns(field, field_types))
        if not names:
            continue
        columns_of[field.key] = names
        if field.unique:
            name = identifier(table, *names, prefix="ux")
            specs[name] = IndexSpec(name, names, unique=True)
        elif field.index or relation_target(field, field_type) is not None:
            name = identifier(table, *names, prefix="ix")
            specs[name] = IndexSpec(name, names)
    for declared in form.indexes:
        missing = [key for key in declared.fields if key not in columns_of]
        if missing:
            raise DefinitionError(
                Label(
                    f"表单 {form.key} 的索引引用了不存在或不存储的字段：{', '.join(missing)}",
                    f"An index of form {form.key} names fields that do not exist or are not "
                    f"stored: {', '.join(missing)}",
                ),
                details={"form": form.key, "fields": missing},
            )
        names = tuple(c for key in declared.fields for c in columns_of[key])
        prefix = "ux" if declared.unique else "ix"
        name = (
            identifier(table, declared.key, prefix=prefix)
            if declared.key
            else identifier(table, *names, prefix=prefix)
        )
        specs[name] = IndexSpec(name, names, declared.unique)
    return specs


def add_reference(metadata: sa.MetaData, name: str) -> None:
    """A table other tables point at, known only by its ``id``."""
    if name not in metadata.tables:
        sa.Table(
            name, metadata, sa.Column("id", sa.Integer, primary_key=True), info={REFERENCE_MARK: True}
        )


def link_relations(
    table: sa.Table, fields: Iterable[FieldDef], field_types: FieldTypes, app: str
) -> None:
    """Give each single relation among ``fields`` that has a column in ``table`` a
    foreign key to its target form's table (and an index on a child table)."""
    for field in fields:
        field_type = field_types.get(field.type)
        target = relation_target(field, field_type)
        if target is None or field.key not in table.c:
            continue
        column = table.c[field.key]
        if column.foreign_keys:
            continue
        target_table = table_name(app, target)
        add_reference(table.metadata, target_table)
        table.append_constraint(
            sa.ForeignKeyConstraint(
                [column.name],
                [f"{target_table}.id"],
                ondelete=on_delete(field),
                name=identifier(table.name, column.name, prefix="fk"),
            )
        )
        if not any(list(ix.columns) == [column] for ix in table.indexes):
            sa.Index(identifier(table.name, column.name, prefix="ix"), column)


def relation_foreign_key(
    table: str, field: FieldDef, field_types: FieldTypes, app: str
) -> sa.ForeignKey | None:
    """The foreign key a single-relation column gets, for adding the column later."""
    target = relation_target(field, field_types.get(field.type))
    if target is None:
        return None
    return sa.ForeignKey(
        f"{table_name(app, target)}.id",
        ondelete=on_delete(field),
        name=identifier(table, field.key, prefix="fk"),
    )


def fingerprint(form: FormDef) -> str:
    """A hash of everything in a form that shapes its tables."""
    shape = {
        "app": form.app,
        "key": form.key,
        "fields": [dataclasses.asdict(f) for f in form.fields],
        "indexes": [dataclasses.asdict(i) for i in form.indexes],
    }
    text = json.dumps(shape, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def build_form_tables(form: FormDef, field_types: FieldTypes) -> FormTables:
    """The form's tables on a fresh MetaData (uncached; see ``form_tables``)."""
    name = form.table_name
    if name in SYSTEM_TABLES:
        raise DefinitionError(
            Label(f"表名 {name} 与系统表冲突", f"The table name {name} is taken by a system table"),
            details={"form": form.key},
        )
    metadata = sa.MetaData()
    add_reference(metadata, "users")
    columns: list[sa.Column[Any]] = system_columns()
    seen = set(SYSTEM_COLUMNS)
    for field in form.fields:
        for column in field_columns(field, field_types):
            if column.name in seen:
                raise DefinitionError(
                    Label(
                        f"表单 {form.key} 的列 {column.name} 重复（字段 {field.key}）",
                        f"Form {form.key} has the column {column.name} twice (field {field.key})",
                    ),
                    details={"form": form.key, "field": field.key},
                )
            seen.add(str(column.name))
            columns.append(column)
    main = sa.Table(name, metadata, *columns, **TABLE_OPTIONS)  # ids never reused (row_ids)
    for user_column in USER_COLUMNS:
        main.append_constraint(
            sa.ForeignKeyConstraint(
                [user_column], ["users.id"], name=identifier(name, user_column, prefix="fk")
            )
        )
    link_relations(main, form.fields, field_types, form.app)
    for spec in index_specs(form, field_types).values():
        if spec.name not in {ix.name for ix in main.indexes}:
            sa.Index(spec.name, *(main.c[c] for c in spec.columns), unique=spec.unique)
    extra: dict[str, tuple[sa.Table, ...]] = {}
    for field in form.fields:
        field_type = field_types.get(field.type)
        if not owns_tables(field_type, field):
            continue
        owned = tuple(field_type.tables(field, name, metadata))
        for table in owned:
            link_relations(table, field.fields, field_types, form.app)
        extra[field.key] = owned
    add_referenced_tables(metadata)
    return FormTables(form, metadata, main, extra)


def add_referenced_tables(metadata: sa.MetaData) -> None:
    """Stubs for every table a foreign key of a field type points at (``users``,
    ``departments``, ``files`` ...), so the form's tables compile on their own."""
    for table in list(metadata.tables.values()):
        for key in table.foreign_keys:
            add_reference(metadata, key.target_fullname.rsplit(".", 1)[0])


class _Cache:
    """Form tables by (app, form, definition hash, registry), least recently used out."""

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self.entries: OrderedDict[tuple[str, str, str, int], FormTables] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, form: FormDef, field_types: FieldTypes) -> FormTables:
        key = (form.app, form.key, fingerprint(form), id(field_types))
        with self.lock:
            found = self.entries.get(key)
            if found is not None:
                self.entries.move_to_end(key)
                return found
        built = build_form_tables(form, field_types)
        with self.lock:
            self.entries[key] = built
            while len(self.entries) > self.size:
                self.entries.popitem(last=False)
        return built

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()


_cache = _Cache()


def form_tables(form: FormDef, field_types: FieldTypes) -> FormTables:
    """The Core tables of ``form``, built once per definition version."""
    return _cache.get(form, field_types)


def clear_table_cache() -> None:
    _cache.clear()


def owned_tables(tables: Iterable[FormTables]) -> Iterator[sa.Table]:
    for entry in tables:
        yield from entry.tables


def create_form_tables(
    database: Database,
    app: AppDef,
    field_types: FieldTypes,
    connection: sa.Connection | None = None,
) -> dict[str, FormTables]:
    """Create the tables of every form of ``app`` that does not exist yet,
    each after the tables it points at (cycles get their keys by ALTER on
    PostgreSQL). Returns the tables by form key."""
    built = {form.key: form_tables(form, field_types) for form in app.forms}
    combined = sa.MetaData()
    real = [t.to_metadata(combined) for t in owned_tables(built.values())]
    for entry in built.values():
        for referenced in entry.metadata.tables.values():
            if referenced.info.get(REFERENCE_MARK):
                add_reference(combined, referenced.name)
    if connection is not None:
        combined.create_all(connection, tables=real)
    else:
        with database.transaction() as conn:
            combined.create_all(conn, tables=real)
    return built
