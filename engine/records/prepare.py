"""The steps of a write that need no database: coercing input, defaults,
and validating computed values. Shared by single writes and batches."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.core.i18n import Label
from engine.definitions.model import FieldDef, FormDef
from engine.expr import EvaluationContext, is_error
from engine.fields.base import FieldType, FieldValueError
from engine.records.compiled import SYSTEM_FIELDS, CompiledForm, FormState
from engine.store.tables import FormTables

Rows = list[dict[str, Any]]
FieldErrors = dict[str, list[Label]]
SET_BY_SYSTEM = frozenset(SYSTEM_FIELDS) - {"owner"}


def coerce(
    compiled: CompiledForm, values: Mapping[str, Any], *, creating: bool
) -> tuple[dict[str, Any], FieldErrors]:
    data: dict[str, Any] = {}
    errors: FieldErrors = {}
    form = compiled.form
    plain = compiled.plain_inputs
    for key, raw in values.items():
        entry = plain.get(key)
        if entry is not None:  # the common case: a stored, input field of one column
            plain_field, convert = entry
            try:
                data[key] = convert(plain_field, raw)
            except FieldValueError as exc:
                errors.setdefault(key, []).append(exc.message)
            continue
        if key in SET_BY_SYSTEM:
            if key in ("id", "version") and not creating:
                continue  # a change names its record by the path and its version apart
            errors.setdefault(key, []).append(
                Label(f"{key} 由系统维护，不能填写", f"{key} is set by the system and cannot be written")
            )
            continue
        if key == "owner":
            data["owner"] = coerce_user_id(raw, errors)
            continue
        f = compiled.fields.get(key)
        if f is None:
            errors.setdefault(key, []).append(unknown_field(form, key))
            continue
        field_type = compiled.types[key]
        if not field_type.stored or field_type.computed:
            if raw is not None and raw != "":
                errors.setdefault(key, []).append(
                    Label("该字段由系统计算，不能填写", "This field is computed and cannot be written")
                )
            continue
        if compiled.storage[key] == "child_table":
            data[key] = coerce_rows(compiled, f, raw, errors)
            continue
        try:
            data[key] = field_type.coerce_input(f, raw)
        except FieldValueError as exc:
            errors.setdefault(key, []).append(exc.message)
    return data, errors

def coerce_rows(
    compiled: CompiledForm, sub: FieldDef, raw: Any, errors: FieldErrors
) -> Rows:
    if raw is None or raw == "":
        return []
    if not isinstance(raw, list | tuple):
        errors.setdefault(sub.key, []).append(Label("子表应为行的列表", "A subform takes a list of rows"))
        return []
    types = compiled.child_types[sub.key]
    rows: Rows = []
    for index, row in enumerate(raw):
        if not isinstance(row, Mapping):
            errors.setdefault(f"{sub.key}[{index}]", []).append(
                Label("每一行应为字段到值的映射", "Each row maps field keys to values")
            )
            continue
        clean: dict[str, Any] = {}
        if row.get("id") is not None:
            clean["id"] = row["id"]
        else:  # a new row: what it leaves out takes the child field's default
            clean.update(row_defaults(sub, types, row))
        for key, value in row.items():
            if key == "id":
                continue
            child = sub.child(key)
            where = f"{sub.key}[{index}].{key}"
            if child is None:
                errors.setdefault(where, []).append(unknown_field(sub, key))
                continue
            if types[key].computed:
                continue  # computed again below; a client may echo it back
            try:
                clean[key] = types[key].coerce_input(child, value)
            except FieldValueError as exc:
                errors.setdefault(where, []).append(exc.message)
        rows.append(clean)
    return rows

def row_defaults(sub: FieldDef, types: Mapping[str, FieldType], row: Mapping[str, Any]) -> dict[str, Any]:
    """The ``default`` of each input child field a new subform row leaves out
    (a default that no longer fits its field is left out too)."""
    found: dict[str, Any] = {}
    for child in sub.fields:
        if child.default is None or child.key in row or types[child.key].computed:
            continue
        try:
            found[child.key] = types[child.key].coerce(child, child.default)
        except FieldValueError:
            continue
    return found


def apply_defaults(
    compiled: CompiledForm, data: dict[str, Any], given: Mapping[str, Any],
    context: EvaluationContext,
) -> None:
    for f in compiled.input_fields:
        if f.key in given:
            continue
        if f.key in compiled.default_formulas:
            seen = compiled.formula_values(data)
            result = compiled.default_formulas[f.key].evaluate(seen, context)
            try:
                data[f.key] = compiled.types[f.key].coerce(f, None if is_error(result) else result)
            except FieldValueError:
                data[f.key] = None
        elif f.default is not None:
            try:
                data[f.key] = compiled.types[f.key].coerce(f, f.default)
            except FieldValueError:
                data[f.key] = None


def validate_values(
    compiled: CompiledForm,
    state: FormState,
    errors: FieldErrors,
    *,
    given: set[str],
    creating: bool,
) -> None:
    """Required fields (by definition and by form rule, when visible), each
    changed value's own constraints, subform rows, and ``error`` rules."""
    values = state.values
    for f, field_type, checks in compiled.validation_plan:
        value = values.get(f.key)
        if field_type.is_blank(value):
            if (f.key not in errors and state.required.get(f.key) and state.visible.get(f.key, True)
                    and not field_type.computed):
                errors.setdefault(f.key, []).append(Label("必填", "Required"))
            elif compiled.storage[f.key] == "child_table" and (f.key in given or creating) and f.key not in errors:
                # No rows is still a number of rows (min_rows).
                problems = field_type.validate_in_record(f, [])
                if problems:
                    errors[f.key] = list(problems)
            continue
        if checks and f.key in given and f.key not in errors:
            problems = field_type.validate_in_record(f, value)  # a subform's rows: below, row by row
            if problems:
                errors[f.key] = list(problems)
        if compiled.storage[f.key] == "child_table" and (f.key in given or creating):
            validate_rows(compiled, f, value, errors)
    if state.errors:
        errors.setdefault("_record", []).extend(state.errors)

def validate_rows(compiled: CompiledForm, sub: FieldDef, rows: Any, errors: FieldErrors) -> None:
    types = compiled.child_types[sub.key]
    for index, row in enumerate(rows or ()):
        for child in sub.fields:
            child_type = types[child.key]
            if not child_type.stored:
                continue
            where = f"{sub.key}[{index}].{child.key}"
            value = row.get(child.key)
            if child_type.is_blank(value):
                if child.required and not child_type.computed:
                    errors.setdefault(where, []).append(Label("必填", "Required"))
                continue
            problems = child_type.validate(child, value)
            if problems and where not in errors:
                errors[where] = list(problems)

@dataclass(frozen=True, slots=True)
class TakenValue(Label):
    """The message of a unique value another record holds: a write whose
    every problem is one of these is a conflict (409), not bad input."""


def only_taken_values(errors: FieldErrors) -> bool:
    return bool(errors) and all(isinstance(m, TakenValue) for ms in errors.values() for m in ms)


# Which record holds the value is not said: it may be one the writer cannot read.
VALUE_TAKEN = TakenValue("已有记录使用了这个值", "Another record already has this value")


def check_unique(
    conn: Connection,
    compiled: CompiledForm,
    tables: FormTables,
    values: Mapping[str, Any],
    errors: FieldErrors,
    given: set[str],
    record_id: int | None,
) -> None:
    for f in compiled.stored_fields:
        if not f.unique or f.key not in given or f.key in errors:
            continue
        value = values.get(f.key)
        if compiled.types[f.key].is_blank(value):
            continue
        column = tables.main.c[f.key]
        query = sa.select(tables.main.c.id).where(column == value).limit(1)
        if record_id is not None:
            query = query.where(tables.main.c.id != record_id)
        clash = conn.execute(query).scalar()
        if clash is not None:
            errors.setdefault(f.key, []).append(
                VALUE_TAKEN
            )
    for index in compiled.form.indexes:
        keys = index.fields
        if not index.unique or len(keys) < 2 or not set(keys) & given or set(keys) & set(errors):
            continue
        if any(compiled.storage[k] != "column" for k in keys if k in compiled.storage):
            continue
        # SQL unique indexes let rows with a blank part repeat; so do we.
        if any(values.get(k) is None for k in keys) or any(k not in tables.main.c for k in keys):
            continue
        query = sa.select(tables.main.c.id).where(
            *(tables.main.c[k] == values.get(k) for k in keys)
        ).limit(1)
        if record_id is not None:
            query = query.where(tables.main.c.id != record_id)
        clash = conn.execute(query).scalar()
        if clash is not None:
            zh = "、".join(compiled.fields[k].label.zh if k in compiled.fields else k for k in keys)
            en = ", ".join(compiled.fields[k].label.en if k in compiled.fields else k for k in keys)
            errors.setdefault(keys[0], []).append(TakenValue(
                f"已有记录的 {zh} 与此相同", f"Another record has the same {en}"))


def blank(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def coerce_user_id(raw: Any, errors: FieldErrors) -> int | None:
    if raw is None or raw == "":
        return None
    if isinstance(raw, Mapping):
        raw = raw.get("id")
    try:
        return int(raw)
    except (TypeError, ValueError):
        errors.setdefault("owner", []).append(Label("负责人应为用户编号", "The owner must be a user id"))
        return None


def unknown_field(form: FormDef | FieldDef, key: str) -> Label:
    keys = [f.key for f in form.fields]
    close = difflib.get_close_matches(key, keys, n=1)
    if close:
        return Label(f"未知字段 {key}，是否指 {close[0]}？", f"Unknown field {key} — did you mean {close[0]}?")
    return Label(f"未知字段 {key}", f"Unknown field {key}")
