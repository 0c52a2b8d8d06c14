"""Subform (子表单): child rows inside a record (quote lines, contacts of a visit).

The rows live in a child table ``<parent>__<key>`` with ``id``,
``parent_id`` (foreign key to the parent's ``id``, ``ON DELETE CASCADE``),
``position`` (the row's order) and one column set per child field, built by
the child fields' own types. The value is a list of row dicts
``{child_key: value, ..., "id": row id when it has one}``; the store writes
and reads the child table (``child_rows`` / ``from_child_rows``), and
``to_db`` writes nothing to the parent's table.
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from engine.core.i18n import Label, Message
from engine.core.registry import Registry
from engine.definitions.model import FieldDef
from engine.fields.base import DefinitionProblem, FieldType, FieldValueError
from engine.fields.inputs import is_blank_input, parse_id, shorten
from engine.fields.settings import int_setting, settings_object

NOT_ROWS = Message("“{value}” 不是子表行的列表", "\"{value}\" is not a list of rows")
UNKNOWN_COLUMN = Message("子表没有字段 {key}", "The subform has no field {key}")
ROW_MESSAGE = Message("第 {row} 行 {field}：{message}", "Row {row}, {field}: {message}")
REQUIRED = Message("必填", "is required")
TOO_FEW_ROWS = Message("至少需要 {min} 行", "At least {min} rows")
TOO_MANY_ROWS = Message("最多 {max} 行", "At most {max} rows")
NESTED = Message("子表单中不能再放 {type}", "A subform cannot contain a {type}")
ROW_KEYS = frozenset({"id"})


class SubformType(FieldType):
    """Child rows with their own ``fields``; ``min_rows`` / ``max_rows``."""

    key = "subform"
    label = Label("子表单", "Subform")
    formula_type = "records"
    default_storage = "child_table"
    operators = ("is_blank", "not_blank")
    settings_schema = settings_object({
        "min_rows": {"type": "integer", "minimum": 0},
        "max_rows": {"type": "integer", "minimum": 1},
    })

    def __init__(self, types: Registry[FieldType]) -> None:
        self.types = types

    def children(self, field: FieldDef) -> list[tuple[FieldDef, FieldType]]:
        """The child fields that hold values, with their types (layout items skipped)."""
        found = []
        for child in field.fields:
            ftype = self.types.find(child.type)
            if ftype is not None and not ftype.layout:
                found.append((child, ftype))
        return found

    def check_settings(self, field: FieldDef) -> list[DefinitionProblem]:
        problems = []
        low, high = field.setting("min_rows"), field.setting("max_rows")
        if isinstance(low, int) and isinstance(high, int) and low > high:
            problems.append(DefinitionProblem("min_rows", Message(
                "最少行数 {min} 大于最多行数 {max}", "min_rows {min} is greater than max_rows {max}"
            ).format(min=low, max=high)))
        if not field.fields:
            problems.append(DefinitionProblem("fields", Label("子表单至少需要一个字段", "A subform needs at least one field")))
        for index, child in enumerate(field.fields):
            ftype = self.types.find(child.type)
            if ftype is None:
                continue  # an unknown type is reported by the loader
            if child.type == self.key:
                problems.append(DefinitionProblem(f"fields[{index}].type", NESTED.format(type=child.type)))
            for problem in ftype.check_settings(child):
                problems.append(DefinitionProblem(f"fields[{index}].{problem.path}", problem.message))
        return problems

    # --- storage ----------------------------------------------------------------
    @staticmethod
    def child_table_name(field: FieldDef, parent: str) -> str:
        return f"{parent}__{field.key}"

    def tables(self, field: FieldDef, parent: str, metadata: sa.MetaData) -> list[sa.Table]:
        name = self.child_table_name(field, parent)
        columns: list[sa.Column[Any]] = [
            sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
            sa.Column("parent_id", sa.Integer(), sa.ForeignKey(f"{parent}.id", ondelete="CASCADE"),
                      nullable=False, index=True),
            sa.Column("position", sa.Integer(), nullable=False, default=0),
        ]
        for child, ftype in self.children(field):
            if ftype.storage_for(child) == "column" and ftype.stored:
                columns.extend(ftype.columns(child))
        # A row's id is never given again (engine.store.row_ids): audit entries name rows.
        child_table = sa.Table(name, metadata, *columns, sqlite_autoincrement=True)
        extra = [child_table]
        for child, ftype in self.children(field):
            extra.extend(ftype.tables(child, name, metadata))
        return extra

    def to_db(self, field: FieldDef, value: Any) -> dict[str, Any]:
        return {}

    def from_db(self, field: FieldDef, row: Mapping[str, Any]) -> Any:
        rows = row.get(field.key)
        return list(rows) if rows else None

    def child_rows(self, field: FieldDef, parent_id: int, value: Any) -> list[dict[str, Any]]:
        """The child table rows for a value, in order (``id`` kept when a row has one)."""
        stored = []
        for position, item in enumerate(value or ()):
            row: dict[str, Any] = {"parent_id": parent_id, "position": position}
            if item.get("id") is not None:
                row["id"] = item["id"]
            for child, ftype in self.children(field):
                if ftype.storage_for(child) == "column" and ftype.stored:
                    row.update(ftype.to_db(child, item.get(child.key)))
            stored.append(row)
        return stored

    def from_child_rows(self, field: FieldDef, rows: list[Mapping[str, Any]]) -> Any:
        """The value from child table rows (any order; sorted by position)."""
        value = []
        for row in sorted(rows, key=lambda r: (r.get("position") or 0, r.get("id") or 0)):
            item: dict[str, Any] = {"id": row.get("id")}
            for child, ftype in self.children(field):
                item[child.key] = ftype.from_db(child, row) if ftype.stored else None
            value.append(item)
        return value or None

    # --- input --------------------------------------------------------------------
    def coerce(self, field: FieldDef, raw: Any) -> Any:
        if isinstance(raw, str) and raw.strip().startswith("["):
            try:
                raw = json.loads(raw)
            except ValueError:
                raise FieldValueError(NOT_ROWS.format(value=shorten(raw))) from None
        if is_blank_input(raw):
            return None
        if not isinstance(raw, list | tuple):
            raise FieldValueError(NOT_ROWS.format(value=shorten(raw)))
        children = {child.key: (child, ftype) for child, ftype in self.children(field)}
        rows = []
        for item in raw:
            if not isinstance(item, Mapping):
                raise FieldValueError(NOT_ROWS.format(value=shorten(item)))
            row: dict[str, Any] = {}
            for key, cell in item.items():
                if key == "id":
                    row["id"] = None if is_blank_input(cell) else parse_id(cell)
                    continue
                if key not in children:
                    raise FieldValueError(UNKNOWN_COLUMN.format(key=key))
                child, ftype = children[key]
                row[key] = ftype.coerce(child, cell)
            if any(v is not None for k, v in row.items() if k not in ROW_KEYS):
                rows.append({**{child.key: None for child, _ in self.children(field)}, **row})
        return rows or None

    def validate(self, field: FieldDef, value: Any) -> list[Label]:
        """The table's problems and each row's, as sentences naming the row."""
        messages = self.validate_in_record(field, value)
        for number, row in enumerate(value, start=1):
            for child, ftype in self.children(field):
                cell = row.get(child.key)
                problems = []
                if ftype.is_blank(cell):
                    if child.required and not ftype.computed:
                        problems.append(REQUIRED.format())
                else:
                    problems = ftype.validate(child, cell)
                messages.extend(Label(
                    ROW_MESSAGE.zh.format(row=number, field=child.label.zh, message=p.zh),
                    ROW_MESSAGE.en.format(row=number, field=child.label.en, message=p.en),
                ) for p in problems)
        return messages

    def validate_in_record(self, field: FieldDef, value: Any) -> list[Label]:
        """The table's own problems (how many rows), without the rows': the
        record service checks each row itself, under ``items[0].product``."""
        messages = []
        low, high = field.setting("min_rows"), field.setting("max_rows")
        if isinstance(low, int) and len(value) < low:
            messages.append(TOO_FEW_ROWS.format(min=low))
        if isinstance(high, int) and len(value) > high:
            messages.append(TOO_MANY_ROWS.format(max=high))
        return messages

    def is_blank(self, value: Any) -> bool:
        return not value

    # --- output ---------------------------------------------------------------------
    def formula_value(self, field: FieldDef, value: Any) -> Any:
        return [
            {child.key: ftype.formula_value(child, row.get(child.key)) for child, ftype in self.children(field)}
            for row in value or ()
        ]

    def display(self, field: FieldDef, value: Any, locale: str = "zh") -> str:
        if not value:
            return ""
        count = len(value)
        return Message("{n} 行", "{n} rows" if count != 1 else "{n} row").format(n=count).text(locale)

    def json_value(self, field: FieldDef, value: Any) -> Any:
        if value is None:
            return None
        return [
            {**({"id": row["id"]} if row.get("id") is not None else {}),
             **{child.key: ftype.json_value(child, row.get(child.key)) for child, ftype in self.children(field)}}
            for row in value
        ]

    def export_value(self, field: FieldDef, value: Any, locale: str = "zh") -> Any:
        # One cell holds the rows as JSON; an import reads it back.
        if not value:
            return None
        return json.dumps(self.json_value(field, value), ensure_ascii=False)

    def json_schema(self, field: FieldDef) -> dict[str, Any]:
        properties: dict[str, Any] = {"id": {"type": ["integer", "null"], "minimum": 1}}
        for child, ftype in self.children(field):
            child_schema = ftype.json_schema(child)
            properties[child.key] = {"anyOf": [child_schema, {"type": "null"}]} if child_schema else {}
        schema: dict[str, Any] = {
            "type": "array",
            "items": {"type": "object", "properties": properties, "additionalProperties": False},
        }
        if isinstance(field.setting("max_rows"), int):
            schema["maxItems"] = field.setting("max_rows")
        return schema

    def fake(self, field: FieldDef, rng: random.Random) -> Any:
        low = max(int_setting(field, "min_rows", 1), 1)
        high = max(min(int_setting(field, "max_rows", 3), 3), low)
        rows = []
        for _ in range(rng.randint(low, high)):
            rows.append({
                child.key: ftype.fake(child, rng)
                for child, ftype in self.children(field)
                if not ftype.computed and ftype.stored
            })
        return rows
