"""Linked defaults (数据联动): a field's default fetched from another form.

``default_link: {form: product, match: {id: product}, field: sales_price}``
fills an empty field with ``sales_price`` of the first ``product`` record
whose ``id`` equals this record's ``product``. Each ``match`` value is a
formula over this record (or over the subform row, for a row's field). A
default fills only what the input leaves out: on create, and for new
subform rows on update.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.definitions.model import FieldDef
from engine.expr import EvaluationContext, compile_formula, is_error
from engine.fields.base import FieldType, FieldValueError
from engine.records.compiled import SYSTEM_FIELDS, CompiledForm

if TYPE_CHECKING:
    from engine.records.service import RecordService


def apply_linked_defaults(
    service: RecordService,
    conn: Connection,
    compiled: CompiledForm,
    data: dict[str, Any],
    given: Mapping[str, Any],
    context: EvaluationContext,
    *,
    creating: bool,
) -> None:
    """Fill fields and subform cells left empty from their ``default_link``."""
    if creating:
        for f in compiled.input_fields:
            if f.default_link and f.key not in given:
                seen = compiled.formula_values(data)
                data[f.key] = linked_value(service, conn, f, compiled.types[f.key], seen, context)
    for sub in compiled.subforms:
        linked = [c for c in sub.fields if c.default_link]
        if not linked or sub.key not in data:
            continue
        types = compiled.child_types[sub.key]
        given_rows = given.get(sub.key) or []
        for index, row in enumerate(data[sub.key] or []):
            if row.get("id") is not None:
                continue  # an existing row keeps what it has
            typed = given_rows[index] if index < len(given_rows) and isinstance(given_rows[index], Mapping) else {}
            seen = {c.key: types[c.key].formula_value(c, row.get(c.key)) for c in sub.fields}
            for child in linked:
                if child.key not in typed:
                    row[child.key] = linked_value(service, conn, child, types[child.key], seen, context)


def linked_value(
    service: RecordService,
    conn: Connection,
    field: FieldDef,
    field_type: FieldType,
    seen: Mapping[str, Any],
    context: EvaluationContext,
) -> Any:
    """The linked default of ``field`` for a record whose formulas see ``seen``; None if no match."""
    link = field.default_link or {}
    target_compiled, target_tables = service.form(str(link.get("form")))
    main = target_tables.main
    conditions = []
    for their_key, formula in (link.get("match") or {}).items():
        value = compile_formula(str(formula)).evaluate(seen, context)
        if isinstance(value, Mapping):  # a related record matches by its id
            value = value.get("id")
        if value is None or value == "" or is_error(value):
            return None
        their_field = target_compiled.fields.get(their_key)
        try:
            if their_key in SYSTEM_FIELDS or their_field is None:
                value = int(value) if their_key in ("id", "owner", "created_by", "updated_by") else value
            else:
                value = target_compiled.types[their_key].coerce(their_field, value)
        except (FieldValueError, TypeError, ValueError):
            return None
        if their_key not in main.c:
            return None
        conditions.append(main.c[their_key] == value)
    row = conn.execute(sa.select(main).where(*conditions).order_by(main.c.id).limit(1)).first()
    if row is None:
        return None
    wanted = str(link.get("field"))
    record = service.reader.hydrate(conn, target_compiled, target_tables, [row._mapping], fields=[wanted])[0]
    try:
        return field_type.coerce(field, record.get(wanted))
    except FieldValueError:
        return None
