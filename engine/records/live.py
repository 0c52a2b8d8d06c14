"""The live form: what a form shows for the values a user has typed so far.

``evaluate_form`` runs the same computation as the record service (formulas,
subform rollups, form rules) without a database, so the designer's preview,
the web form as the user types and the API agree. ``RecordService.evaluate``
adds what needs the database: related records and rollups over other forms.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.core.registry import Registry
from engine.definitions.model import FormDef
from engine.expr import EvaluationContext
from engine.fields.base import FieldType, FieldValueError
from engine.records.compiled import CompiledForm, FormState, compiled_form


def coerce_leniently(compiled: CompiledForm, values: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Input values coerced where they can be; the others are reported, not raised,
    because a half-typed form is normal."""
    clean: dict[str, Any] = {}
    problems: dict[str, Any] = {}
    for key, raw in values.items():
        f = compiled.fields.get(key)
        if f is None or compiled.types[key].computed:
            continue
        if f.fields:
            types = compiled.child_types[key]
            rows = []
            for index, row in enumerate(raw or ()):
                clean_row: dict[str, Any] = {}
                for child_key, child_raw in (row or {}).items():
                    child = f.child(child_key)
                    if child is None or types[child_key].computed:
                        continue
                    try:
                        clean_row[child_key] = types[child_key].coerce(child, child_raw)
                    except FieldValueError as exc:
                        problems[f"{key}[{index}].{child_key}"] = exc.message
                rows.append(clean_row)
            clean[key] = rows
            continue
        try:
            clean[key] = compiled.types[key].coerce(f, raw)
        except FieldValueError as exc:
            problems[key] = exc.message
    return clean, problems


def evaluate_form(
    form: FormDef,
    values: Mapping[str, Any],
    *,
    field_types: Registry[FieldType] | None = None,
    context: EvaluationContext | None = None,
    related: Mapping[str, Any] | None = None,
) -> FormState:
    """Visibility, required-ness, read-only-ness and computed values for ``values``.

    Input that cannot be coerced yet is left out of the computation and its
    message is in ``state.input_errors``.
    """
    if field_types is None:
        from engine.fields import FIELD_TYPES

        field_types = FIELD_TYPES
    compiled = compiled_form(form, field_types)
    clean, problems = coerce_leniently(compiled, values)
    state = compiled.compute(clean, context or EvaluationContext(), related)
    state.input_errors.update(problems)
    state.inputs = clean
    return state
