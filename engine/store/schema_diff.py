"""Comparing two versions of a form by key: the steps that turn one's tables into the other's.

Keys are identities (DESIGN §3): a field with the same key is the same field,
whatever its label; a new key is a new field unless it says
``renamed_from: <old key>``; a key that disappears is retired, not dropped;
a retired key that comes back is restored with its data. The same comparison
runs inside each subform's child table. Used by ``plan_schema_change``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import sqlalchemy as sa

from engine.core.errors import DefinitionError
from engine.core.i18n import Label
from engine.definitions.model import FieldDef, FormDef
from engine.store.conversion import ConvertField
from engine.store.conversion_rows import examine_rows
from engine.store.database import Database, identifier
from engine.store.history import RetiredField, retired_fields
from engine.store.schema_steps import (
    AddField,
    CreateIndex,
    CreateTable,
    DropIndex,
    RenameField,
    RenameTable,
    RestoreField,
    RetireField,
    Step,
)
from engine.store.tables import (
    FieldTypes,
    IndexSpec,
    field_columns,
    field_table_name,
    form_tables,
    index_specs,
    on_delete,
    owns_tables,
    relation_foreign_key,
    relation_target,
    stored_in_columns,
    table_name,
)

# The order steps run in: indexes go first, so renames and rebuilds never
# trip over them; new indexes come last, over the final columns.
PHASES = (
    DropIndex,
    RenameTable,
    RenameField,
    AddField,
    ConvertField,
    RestoreField,
    RetireField,
    CreateTable,
    CreateIndex,
)


class FormDiff:
    """The steps from ``old`` to ``new`` (see ``steps``); reads the database, if given,
    for retired fields, existing columns and the rows conversions cannot carry."""

    def __init__(
        self, old: FormDef | None, new: FormDef, field_types: FieldTypes, database: Database | None
    ) -> None:
        self.old, self.new, self.types, self.database = old, new, field_types, database
        self.table = new.table_name
        self.steps: list[Step] = []
        self.column_map: dict[str, str] = {}  # main table: old column -> new column
        self.touched: set[str] = set()  # main-table columns (new names) rebuilt or retired
        self.retired: dict[str, dict[str, RetiredField]] = {}
        self.restored_tables: set[str] = set()
        self.table_map: dict[str, str] = {}  # tables of renamed fields: old name -> new name
        self.existing: set[str] = set()  # the main table's columns in the database

    def steps_in_order(self) -> list[Step]:
        if self.old is None:
            return [
                CreateTable(table=t.name, definition=t, form_label=self.new.label)
                for t in form_tables(self.new, self.types).tables
            ]
        if self.database is None:
            self.diff(self.old)
        else:
            with self.database.engine.connect() as connection:
                self.retired = retired_fields(connection, self.new.app, self.new.key)
                self.existing = set(self.database.column_names(self.table, connection))
                self.diff(self.old)
                self.count(connection)
        return sorted(self.steps, key=lambda s: PHASES.index(type(s)))

    def diff(self, old: FormDef) -> None:
        self.diff_fields(self.table, self.table, old.fields, self.new.fields)
        self.diff_tables(old)
        self.diff_indexes(old)

    # --- fields ----------------------------------------------------------------
    def diff_fields(
        self,
        table: str,
        source_table: str,
        old_fields: tuple[FieldDef, ...],
        new_fields: tuple[FieldDef, ...],
    ) -> None:
        old_by_key = {f.key: f for f in old_fields}
        new_keys = {f.key for f in new_fields}
        consumed: set[str] = set()
        for field in new_fields:
            source_key = self.source_key(field, old_by_key, new_keys, consumed)
            if source_key is not None:
                consumed.add(source_key)
                source = old_by_key[source_key]
                current = self.rename(table, source, field) if source_key != field.key else source
                self.compare(table, source_table, source, current, field)
            elif field.key in self.retired.get(table, {}):
                retired = self.retired[table][field.key]
                self.steps.append(RestoreField(table=table, field=field))
                self.restored_tables.update(retired.tables)
                self.compare(table, table, retired.field, retired.field, field)
            else:
                self.add(table, field)
        for field in old_fields:
            if field.key not in consumed:
                self.retire(table, field)

    def source_key(
        self,
        field: FieldDef,
        old_by_key: Mapping[str, FieldDef],
        new_keys: set[str],
        consumed: set[str],
    ) -> str | None:
        if field.key in old_by_key:
            return field.key
        renamed_from = field.renamed_from
        if not renamed_from or renamed_from not in old_by_key:
            return None
        if renamed_from in new_keys or renamed_from in consumed:
            raise DefinitionError(
                Label(
                    f"字段 {field.key} 声明由 {renamed_from} 改名而来，但 {renamed_from} 仍在使用",
                    f"Field {field.key} is renamed from {renamed_from}, which is still in use",
                ),
                details={"field": field.key, "renamed_from": renamed_from},
            )
        return str(renamed_from)

    def rename(self, table: str, source: FieldDef, field: FieldDef) -> FieldDef:
        """Rename ``source``'s columns (or tables) to ``field``'s key; the field as renamed."""
        source_type = self.types.get(source.type)
        current = dataclasses.replace(source, key=field.key)
        pairs = [
            (str(a.name), str(b.name))
            for a, b in zip(
                field_columns(source, self.types), field_columns(current, self.types), strict=True
            )
        ]
        taken = [new for _, new in pairs if table == self.table and new in self.existing]
        if taken:
            raise DefinitionError(
                Label(
                    f"无法改名为 {field.key}：列 {', '.join(taken)} 已存在（可能属于已停用的字段，请先清除）",
                    f"Cannot rename to {field.key}: column {', '.join(taken)} exists (a retired "
                    "field's? purge it first)",
                ),
                details={"field": field.key},
            )
        self.steps.append(RenameField(table=table, field=field, old_key=source.key, renames=pairs))
        if table == self.table:
            self.column_map.update(dict(pairs))
        if owns_tables(source_type, source):
            for old_name, new_name in self.owned_table_names(table, source, field):
                self.table_map[old_name] = new_name
                self.steps.append(RenameTable(table=old_name, new_table=new_name, owner=field))
        return current

    def owned_table_names(
        self, table: str, source: FieldDef, field: FieldDef
    ) -> list[tuple[str, str]]:
        """The tables a renamed field owns, old name -> new name (a subform's
        child table and the link tables of its multi relations)."""
        if table != self.table or self.old is None:
            return [(field_table_name(table, source.key), field_table_name(table, field.key))]
        old = form_tables(self.old, self.types).field_tables(source.key)
        new = form_tables(self.new, self.types).field_tables(field.key)
        return [(str(a.name), str(b.name)) for a, b in zip(old, new, strict=False)]

    def compare(
        self, table: str, source_table: str, source: FieldDef, current: FieldDef, field: FieldDef
    ) -> None:
        old_type, new_type = self.types.get(current.type), self.types.get(field.type)
        old_columns = stored_in_columns(old_type, current)
        new_columns = stored_in_columns(new_type, field)
        if current.type != field.type or old_columns != new_columns:
            if old_columns and new_columns:
                self.convert(table, source_table, source, current, field, "type")
            elif owns_tables(old_type, current) or owns_tables(new_type, field):
                raise unsupported(field, current.type, field.type)
            elif old_columns:
                self.retire(table, current)
            elif new_columns:
                self.add(table, field)
            return
        if old_columns:
            old_target = relation_target(current, old_type)
            if old_target != relation_target(field, new_type):
                raise unsupported(
                    field,
                    f"relation → {old_target}",
                    f"relation → {relation_target(field, new_type)}",
                )
            if self.signature(current) != self.signature(field):
                self.convert(table, source_table, source, current, field, "settings")
        elif owns_tables(old_type, current) and field.fields:
            child = field_table_name(table, field.key)
            self.diff_fields(
                child, field_table_name(source_table, source.key), current.fields, field.fields
            )

    def signature(self, field: FieldDef) -> list[tuple[str, str, str]]:
        return [
            (str(c.name), repr(c.type), on_delete(field)) for c in field_columns(field, self.types)
        ]

    def convert(
        self,
        table: str,
        source_table: str,
        source: FieldDef,
        current: FieldDef,
        field: FieldDef,
        reason: str,
    ) -> None:
        foreign_key = None
        target = relation_target(field, self.types.get(field.type))
        if target is not None:
            foreign_key = (table_name(self.new.app, target), on_delete(field))
        self.steps.append(
            ConvertField(
                table=table,
                current=current,
                target=field,
                source=source,
                source_table=source_table,
                labels=(self.types.get(current.type).label, self.types.get(field.type).label),
                reason=reason,
                foreign_key=foreign_key,
            )
        )
        if table == self.table:
            self.touched.update(str(c.name) for c in field_columns(field, self.types))
            self.touched.update(str(c.name) for c in field_columns(current, self.types))

    def add(self, table: str, field: FieldDef) -> None:
        columns = field_columns(field, self.types)
        if not columns:
            return  # a table-owning field's tables are found by diff_tables
        taken = [str(c.name) for c in columns if table == self.table and c.name in self.existing]
        if taken:
            raise DefinitionError(
                Label(
                    f"字段 {field.key} 的列 {', '.join(taken)} 已存在（可能属于已停用的字段）",
                    f"The column {', '.join(taken)} of field {field.key} exists already "
                    "(a retired field's?)",
                ),
                details={"field": field.key},
            )
        key = relation_foreign_key(table, field, self.types, self.new.app)
        if key is not None:
            columns = [
                sa.Column(c.name, c.type, key._copy(), nullable=True) if c.name == field.key else c
                for c in columns
            ]
        self.steps.append(AddField(table=table, field=field, columns=columns))
        if key is not None and table != self.table:
            # Main-table indexes come from diff_indexes; a child table's relation needs its own.
            name = identifier(table, field.key, prefix="ix")
            self.steps.append(CreateIndex(table=table, index=IndexSpec(name, (field.key,))))

    def retire(self, table: str, field: FieldDef) -> None:
        field_type = self.types.get(field.type)
        columns = [str(c.name) for c in field_columns(field, self.types)]
        tables = [field_table_name(table, field.key)] if owns_tables(field_type, field) else []
        if columns or tables:
            self.steps.append(RetireField(table=table, field=field, columns=columns, tables=tables))
            if table == self.table:
                self.touched.update(columns)

    # --- tables and indexes ----------------------------------------------------
    def diff_tables(self, old_form: FormDef) -> None:
        old = {self.table_map.get(t.name, t.name) for t in form_tables(old_form, self.types).tables}
        new = form_tables(self.new, self.types)
        for table in new.tables:
            if table.name not in old and table.name not in self.restored_tables:
                owner = next((f for f in self.new.fields if table in new.field_tables(f.key)), None)
                self.steps.append(CreateTable(table=table.name, definition=table, owner=owner))

    def diff_indexes(self, old_form: FormDef) -> None:
        old_specs = index_specs(old_form, self.types)
        new_specs = index_specs(self.new, self.types)
        translated = {
            name: dataclasses.replace(
                spec, columns=tuple(self.column_map.get(c, c) for c in spec.columns)
            )
            for name, spec in old_specs.items()
        }
        for name, spec in translated.items():
            if new_specs.get(name) != spec or self.touched.intersection(spec.columns):
                self.steps.append(DropIndex(table=self.table, index=old_specs[name]))
        for name, spec in new_specs.items():
            if translated.get(name) != spec or self.touched.intersection(spec.columns):
                self.steps.append(CreateIndex(table=self.table, index=spec))

    # --- checks against the data --------------------------------------------------
    def count(self, connection: sa.Connection) -> None:
        for step in self.steps:
            if isinstance(step, ConvertField):
                found = examine_rows(
                    connection,
                    step.source_table,
                    (self.types.get(step.source.type), step.source),
                    (self.types.get(step.target.type), step.target),
                )
                step.failures, step.changed = found.failures, found.changed
                step.collisions = found.collisions
            elif isinstance(step, AddField) and step.field.required:
                step.existing_rows = self.row_count(connection, step.table)
            elif isinstance(step, CreateIndex) and step.index.unique:
                step.duplicates = self.duplicates(connection, step.index)

    def row_count(self, connection: sa.Connection, table: str) -> int | None:
        """Rows in ``table`` as the database holds it now (before any rename of this plan)."""
        before = {new: old for old, new in self.table_map.items()}.get(table, table)
        if not sa.inspect(connection).has_table(before):
            return None
        source = sa.table(before)
        return int(connection.execute(sa.select(sa.func.count()).select_from(source)).scalar_one())

    def duplicates(self, connection: sa.Connection, index: IndexSpec) -> int | None:
        reverse = {new: old for old, new in self.column_map.items()}
        columns = [reverse.get(c, c) for c in index.columns]
        if any(c not in self.existing or c in self.touched for c in columns):
            return None  # a new or converted column: checked by the database when it runs
        table = sa.table(self.table, *(sa.column(c) for c in columns))
        groups = (
            sa.select(*table.c)
            .where(*(c.is_not(None) for c in table.c))
            .group_by(*table.c)
            .having(sa.func.count() > 1)
            .subquery()
        )
        return int(connection.execute(sa.select(sa.func.count()).select_from(groups)).scalar_one())


def unsupported(field: FieldDef, old: str, new: str) -> DefinitionError:
    return DefinitionError(
        Label(
            f"字段 {field.key} 不能由 {old} 改为 {new}：请新增一个字段，再停用旧字段",
            f"Field {field.key} cannot change from {old} to {new}: add a new field and "
            "retire the old one",
        ),
        details={"field": field.key, "from": old, "to": new},
    )
