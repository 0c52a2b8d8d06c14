"""The steps of a schema change: each says what it does, in zh and en, and does it.

The step that converts values (``ConvertField``) lives in ``conversion``.
A step runs inside the one transaction of ``apply_schema_change`` through
alembic's operations (``Operations`` on a ``MigrationContext``); a step that
must rebuild a SQLite table does so in batch mode. Steps are built by
``plan_schema_change`` and recorded, as ``to_dict()``, in ``schema_changes``.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

import sqlalchemy as sa
from alembic.operations import Operations

from engine.core.i18n import Label, Message
from engine.definitions.model import FieldDef
from engine.store.tables import FieldTypes, IndexSpec


def field_to_dict(f: FieldDef) -> dict[str, Any]:
    """A field as the definition mapping it was read from (``FieldDef.from_dict`` reads it back)."""
    data: dict[str, Any] = {"key": f.key, "type": f.type, "label": f.label.as_dict()}
    if f.help is not None:
        data["help"] = f.help.as_dict()
    for flag in ("required", "unique", "readonly", "hidden", "index"):
        if getattr(f, flag):
            data[flag] = True
    for name in ("default", "default_formula", "default_link"):
        if getattr(f, name) is not None:
            data[name] = getattr(f, name)
    data.update(f.settings)
    if f.fields:
        data["fields"] = [field_to_dict(child) for child in f.fields]
    return data


def named(f: FieldDef, locale: str) -> str:
    return (
        f"「{f.label.text(locale)}」({f.key})"
        if locale.startswith("zh")
        else f"“{f.label.text(locale)}” ({f.key})"
    )


@dataclass
class Runner:
    """What a step runs with: the connection (in the change's transaction),
    alembic's operations on it, the field types, what the caller accepts, and
    how many values it has emptied (``nulled``) and rounded or cut (``rounded``)."""

    connection: sa.Connection
    operations: Operations
    field_types: FieldTypes
    accept_nulling: bool
    accept_rounding: bool = False
    nulled: int = 0
    rounded: int = 0
    backup: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclass(kw_only=True)
class Step(ABC):
    """One change to one table; each kind says what it does and does it."""

    kind: ClassVar[str] = "step"
    table: str

    @abstractmethod
    def describe(self, locale: str = "en") -> str:
        """The step as a sentence for the plan's preview."""

    @abstractmethod
    def apply(self, run: Runner) -> None:
        """Run the step inside the plan's transaction."""

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "table": self.table}

    @property
    def blocking(self) -> Label | None:
        """Why the step cannot run, if a check made when planning found out."""
        return None


@dataclass(kw_only=True)
class CreateTable(Step):
    """A new form's table, or a table a new field owns (subform rows, links)."""

    kind: ClassVar[str] = "create_table"
    definition: sa.Table = dataclasses.field(repr=False)
    owner: FieldDef | None = None
    form_label: Label | None = None

    def describe(self, locale: str = "en") -> str:
        if self.owner is not None:
            return (
                Message("为字段{field}新建表 {table}", "Create table {table} for field {field}")
                .format(field=named(self.owner, locale), table=self.table)
                .text(locale)
            )
        form = (self.form_label or Label(self.table, self.table)).text(locale)
        return (
            Message("新建表单「{form}」的数据表 {table}", "Create table {table} for form “{form}”")
            .format(form=form, table=self.table)
            .text(locale)
        )

    def apply(self, run: Runner) -> None:
        self.definition.create(run.connection, checkfirst=True)

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        data["columns"] = [str(c.name) for c in self.definition.columns]
        if self.owner is not None:
            data["field"] = self.owner.key
        return data


@dataclass(kw_only=True)
class RenameTable(Step):
    """A renamed subform or multi relation takes its table along."""

    kind: ClassVar[str] = "rename_table"
    new_table: str
    owner: FieldDef | None = None

    def describe(self, locale: str = "en") -> str:
        return (
            Message("表 {old} 改名为 {new}", "Rename table {old} to {new}")
            .format(old=self.table, new=self.new_table)
            .text(locale)
        )

    def apply(self, run: Runner) -> None:
        run.operations.rename_table(self.table, self.new_table)

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "new_table": self.new_table}


@dataclass(kw_only=True)
class AddField(Step):
    """A new field: its columns are added (a plain ADD COLUMN on both databases)."""

    kind: ClassVar[str] = "add_field"
    field: FieldDef
    columns: list[sa.Column[Any]]
    # Rows already in the table (counted for a required field: they get no value).
    existing_rows: int | None = None

    def describe(self, locale: str = "en") -> str:
        names = ", ".join(str(c.name) for c in self.columns)
        text = (
            Message(
                "新增字段{field}：在表 {table} 中加列 {columns}",
                "Add field {field}: new column {columns} in {table}",
            )
            .format(field=named(self.field, locale), table=self.table, columns=names)
            .text(locale)
        )
        if self.field.required and self.existing_rows:
            text += (
                Message(
                    "；该字段必填，但现有 {n} 行在该字段中没有值（下次编辑时须补填）",
                    "; it is required, but the {n} existing row(s) will have no value in it "
                    "(to be filled in at their next edit)",
                )
                .format(n=self.existing_rows)
                .text(locale)
            )
        return text

    def apply(self, run: Runner) -> None:
        for column in self.columns:
            copy = column._copy()
            run.operations.add_column(self.table, copy, inline_references=bool(copy.foreign_keys))

    def to_dict(self) -> dict[str, Any]:
        return {
            **super().to_dict(),
            "field": field_to_dict(self.field),
            "columns": [str(c.name) for c in self.columns],
        }


@dataclass(kw_only=True)
class RenameField(Step):
    """An explicit rename (``renamed_from``): the columns are renamed, the data stays."""

    kind: ClassVar[str] = "rename_field"
    field: FieldDef
    old_key: str
    renames: list[tuple[str, str]]

    def describe(self, locale: str = "en") -> str:
        return (
            Message(
                "字段{field}由 {old} 改名为 {new}，数据保留",
                "Rename field {field} from {old} to {new}; its data stays",
            )
            .format(field=named(self.field, locale), old=self.old_key, new=self.field.key)
            .text(locale)
        )

    def apply(self, run: Runner) -> None:
        # A native RENAME COLUMN on both databases (SQLite 3.25+): no rebuild.
        for old, new in self.renames:
            if old != new:
                run.operations.alter_column(self.table, old, new_column_name=new)

    def to_dict(self) -> dict[str, Any]:
        return {
            **super().to_dict(),
            "field": self.field.key,
            "old_key": self.old_key,
            "columns": [list(pair) for pair in self.renames],
        }


@dataclass(kw_only=True)
class RetireField(Step):
    """A removed field: hidden from the form, its columns and data kept."""

    kind: ClassVar[str] = "retire_field"
    field: FieldDef
    columns: list[str]
    tables: list[str] = dataclasses.field(default_factory=list)

    def describe(self, locale: str = "en") -> str:
        kept = ", ".join([*self.columns, *self.tables]) or "-"
        return (
            Message(
                "停用字段{field}：{kept} 及其数据保留，可恢复，或显式清除",
                "Retire field {field}: {kept} and its data stay; it can be restored, "
                "or purged explicitly",
            )
            .format(field=named(self.field, locale), kept=kept)
            .text(locale)
        )

    def apply(self, run: Runner) -> None:
        return None  # nothing to do: keeping the data is the point

    def to_dict(self) -> dict[str, Any]:
        return {
            **super().to_dict(),
            "field": field_to_dict(self.field),
            "columns": self.columns,
            "tables": self.tables,
        }


@dataclass(kw_only=True)
class RestoreField(Step):
    """A retired field comes back under its key: its data is still there."""

    kind: ClassVar[str] = "restore_field"
    field: FieldDef

    def describe(self, locale: str = "en") -> str:
        return (
            Message(
                "恢复已停用的字段{field}，原有数据仍在",
                "Restore the retired field {field}; its data is still there",
            )
            .format(field=named(self.field, locale))
            .text(locale)
        )

    def apply(self, run: Runner) -> None:
        return None

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "field": field_to_dict(self.field)}


@dataclass(kw_only=True)
class DropIndex(Step):
    kind: ClassVar[str] = "drop_index"
    index: IndexSpec

    def describe(self, locale: str = "en") -> str:
        return (
            Message("删除索引 {name}（{columns}）", "Drop index {name} ({columns})")
            .format(name=self.index.name, columns=", ".join(self.index.columns))
            .text(locale)
        )

    def apply(self, run: Runner) -> None:
        run.operations.drop_index(self.index.name, table_name=self.table)

    def to_dict(self) -> dict[str, Any]:
        return {
            **super().to_dict(),
            "name": self.index.name,
            "columns": list(self.index.columns),
            "unique": self.index.unique,
        }


@dataclass(kw_only=True)
class CreateIndex(Step):
    kind: ClassVar[str] = "create_index"
    index: IndexSpec
    duplicates: int | None = None  # duplicated values found when planning a unique index

    def describe(self, locale: str = "en") -> str:
        unique = self.index.unique
        head = Message(
            "新增唯一索引 {name}（{columns}）" if unique else "新增索引 {name}（{columns}）",
            (
                "Add unique index {name} on ({columns})"
                if unique
                else "Add index {name} on ({columns})"
            ),
        )
        text = head.format(name=self.index.name, columns=", ".join(self.index.columns)).text(locale)
        if self.duplicates:
            text += (
                Message(
                    "；已有 {n} 组重复值，无法建立",
                    "; {n} values are duplicated, so it cannot be created",
                )
                .format(n=self.duplicates)
                .text(locale)
            )
        return text

    @property
    def blocking(self) -> Label | None:
        if not self.duplicates:
            return None
        return Message(
            "唯一索引 {name} 无法建立：已有 {n} 组重复值",
            "The unique index {name} cannot be created: {n} values are duplicated",
        ).format(name=self.index.name, n=self.duplicates)

    def apply(self, run: Runner) -> None:
        run.operations.create_index(
            self.index.name, self.table, list(self.index.columns), unique=self.index.unique
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            **super().to_dict(),
            "name": self.index.name,
            "columns": list(self.index.columns),
            "unique": self.index.unique,
        }
