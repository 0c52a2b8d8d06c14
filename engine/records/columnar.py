"""Preparing a batch column by column, for forms simple enough to allow it.

An import of 100,000 rows spends its time in per-value work: coercing the
text of a CSV cell, checking it, building the row. For a form without form
rules, subforms, multi relations, linked defaults or relation paths in its
formulas — the shape of most imported tables — each column is coerced and
checked on its own, and each distinct input is worked out once per batch
(a stage column of four values costs four coercions, not 1,000). The result
is exactly what the row-by-row path gives: the same coercion, defaults,
formulas, required and constraint checks, and the same messages.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from engine.core.i18n import Label
from engine.definitions.model import FieldDef
from engine.expr import EvaluationContext
from engine.expr.errors import ErrorValue
from engine.fields.base import FieldType, FieldValueError
from engine.records.compiled import SYSTEM_FIELDS, CompiledForm
from engine.records.prepare import FieldErrors, coerce

_HASHABLE = (str, int, float, bool, Decimal, dt.date, dt.time, type(None))
_MISSING = object()
_PROBE = 200  # rows after which a column of mostly distinct values stops memoizing


def columnar_ready(compiled: CompiledForm) -> bool:
    """True when the form's records can be prepared column by column."""
    return not (
        compiled.rules or compiled.subforms or compiled.link_fields or compiled.has_links
        or compiled.related_paths or compiled.child_related or compiled.lookups
        or any(r.subform for r in compiled.rollups)
    )


def prepare_columns(
    compiled: CompiledForm,
    rows: Sequence[Mapping[str, Any]],
    context: EvaluationContext,
    outside_rollups: Mapping[str, Any],
    before_formulas: Callable[[list[dict[str, Any]], list[FieldErrors]], None],
) -> tuple[list[dict[str, Any]], list[FieldErrors]]:
    """Every row's values (coerced, defaulted, computed) and its errors, in
    order. ``before_formulas`` runs once inputs and defaults are in (serial
    numbers are drawn there, so formulas may read them)."""
    count = len(rows)
    values: list[dict[str, Any]] = [{} for _ in range(count)]
    errors: list[FieldErrors] = [{} for _ in range(count)]
    keys: dict[str, None] = {}
    for row in rows:
        keys.update(dict.fromkeys(row))
    plain = compiled.plain_inputs
    for key in keys:
        entry = plain.get(key)
        if entry is None:
            _other_key(compiled, rows, key, values, errors)
            continue
        field, _ = entry
        _coerce_column(field, compiled.types[key], rows, key, values, errors)
    for field in compiled.input_fields:
        if field.key not in keys or any(field.key not in row for row in rows):
            _default_column(compiled, field, rows, values, context)
    for key, value in outside_rollups.items():
        for record in values:
            record[key] = value
    before_formulas(values, errors)
    if compiled.formulas:
        _compute_formulas(compiled, values, errors, context)
    _validate_columns(compiled, rows, values, errors)
    return values, errors


def _other_key(
    compiled: CompiledForm, rows: Sequence[Mapping[str, Any]], key: str,
    values: list[dict[str, Any]], errors: list[FieldErrors],
) -> None:
    """A key that is not a plain input field (owner, system fields, computed
    or unknown fields): the row-by-row rules, one row at a time."""
    for index, row in enumerate(rows):
        if key in row:
            data, problems = coerce(compiled, {key: row[key]}, creating=True)
            values[index].update(data)
            for where, messages in problems.items():
                errors[index].setdefault(where, []).extend(messages)


def _coerce_column(
    field: FieldDef, field_type: FieldType, rows: Sequence[Mapping[str, Any]], key: str,
    values: list[dict[str, Any]], errors: list[FieldErrors],
) -> None:
    # Text (what CSV cells are) is remembered by the text itself; other
    # inputs by type and value, since True, 1 and 1.0 are equal keys but
    # different inputs. Columns of mostly distinct values stop remembering.
    texts: dict[str, tuple[bool, Any]] = {}
    others: dict[tuple[type, Any], tuple[bool, Any]] = {}
    convert = field_type.coerce_input
    remember = True
    for index, row in enumerate(rows):
        if key not in row:
            continue
        raw = row[key]
        hit: tuple[bool, Any] | None = None
        if remember:
            if type(raw) is str:
                hit = texts.get(raw)
            elif isinstance(raw, _HASHABLE):
                hit = others.get((type(raw), raw))
        if hit is None:
            try:
                hit = (True, convert(field, raw))
            except FieldValueError as exc:
                hit = (False, exc.message)
            if remember:
                if type(raw) is str:
                    texts[raw] = hit
                elif isinstance(raw, _HASHABLE):
                    others[(type(raw), raw)] = hit
                if index == _PROBE and len(texts) + len(others) > _PROBE // 2:
                    remember = False
        if hit[0]:
            values[index][key] = hit[1]
        else:
            errors[index].setdefault(key, []).append(hit[1])


def _default_column(
    compiled: CompiledForm, field: FieldDef, rows: Sequence[Mapping[str, Any]],
    values: list[dict[str, Any]], context: EvaluationContext,
) -> None:
    field_type = compiled.types[field.key]
    formula = compiled.default_formulas.get(field.key)
    fixed: Any = None
    if formula is None and field.default is not None:
        try:
            fixed = field_type.coerce(field, field.default)
        except FieldValueError:
            fixed = None
    for index, row in enumerate(rows):
        if field.key in row:
            continue
        if formula is None:
            values[index][field.key] = fixed
            continue
        result = formula.evaluate(compiled.formula_values(values[index]), context)
        try:
            values[index][field.key] = field_type.coerce(
                field, None if isinstance(result, ErrorValue) else result)
        except FieldValueError:
            values[index][field.key] = None


def _compute_formulas(
    compiled: CompiledForm, values: list[dict[str, Any]], errors: list[FieldErrors],
    context: EvaluationContext,
) -> None:
    readers: list[tuple[str, FieldDef, Callable[[FieldDef, Any], Any] | None]] = [
        (f.key, f, None if type(compiled.types[f.key]).formula_value is FieldType.formula_value
         else compiled.types[f.key].formula_value)
        for f in compiled.formula_inputs
    ]
    read_system = [key for key in SYSTEM_FIELDS
                   if any(key in (n.split(".")[0] for n in c.names) for _, c in compiled.formulas)]
    for record in values:
        seen: dict[str, Any] = {key: record.get(key) for key in read_system}
        for key, field, read in readers:
            value = record.get(key)
            seen[key] = value if read is None or value is None else read(field, value)
        for field, formula in compiled.formulas:
            field_type = compiled.types[field.key]
            result = formula.evaluate(seen, context)
            if isinstance(result, ErrorValue):
                record[field.key] = None
                continue
            try:
                record[field.key] = field_type.coerce(field, result)
            except FieldValueError:
                record[field.key] = None
            seen[field.key] = (field_type.formula_value(field, record[field.key])
                               if record[field.key] is not None else None)


def _validate_columns(
    compiled: CompiledForm, rows: Sequence[Mapping[str, Any]], values: list[dict[str, Any]],
    errors: list[FieldErrors],
) -> None:
    required = Label("必填", "Required")
    for field, field_type, checks in compiled.validation_plan:
        key = field.key
        must = field.required and not field.hidden and not field_type.computed
        if not must and not checks:
            continue
        blank = field_type.is_blank
        own_blank = type(field_type).is_blank is not FieldType.is_blank
        validate = field_type.validate
        for index, record in enumerate(values):
            value = record.get(key)
            if value is None or value == "" or (own_blank and blank(value)) or value == []:
                if must and key not in errors[index]:
                    errors[index][key] = [required]
                continue
            if checks and key in rows[index] and key not in errors[index]:
                problems = validate(field, value)
                if problems:
                    errors[index][key] = list(problems)

