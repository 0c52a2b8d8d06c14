"""Creating many records at once (imports, bulk API): the same checks as one
``create``, done for a whole batch with a handful of statements.

Every row is coerced, defaulted, computed and validated in Python exactly as
``RecordService.create`` does; the database work is batched: one query per
relation field to check related ids, one per unique field, one block of
serial numbers, ``executemany`` inserts, one audit statement for the
batch (an entry per record, with its values, see ``engine.records.ending``). The
batch is all-or-nothing: one bad row and nothing is written, and the error
lists every bad row with every problem.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.core.errors import ValidationError
from engine.core.i18n import Label
from engine.definitions.model import FormDef
from engine.expr import EvaluationContext
from engine.records.actor import owner_problems
from engine.records.columnar import columnar_ready, prepare_columns
from engine.records.compiled import CompiledForm
from engine.records.ending import finish_batch
from engine.records.file_refs import check_files
from engine.records.links import apply_linked_defaults
from engine.records.prepare import (
    VALUE_TAKEN,
    FieldErrors,
    apply_defaults,
    blank,
    coerce,
    validate_values,
)
from engine.records.reader import missing_records
from engine.records.serials import draw_serials
from engine.store.tables import FormTables

if TYPE_CHECKING:
    from engine.records.filters import PathGuard
    from engine.records.service import Actor, RecordService

CHUNK = 5000  # ids per IN (...) list: well under SQLite's variable limit


class RowsInvalid(ValidationError):
    """Some rows of a batch are invalid; ``row_errors`` maps a row's index
    (0-based, in the order given) to its field errors. Nothing was written."""

    code = "rows_invalid"

    def __init__(self, form: FormDef, row_errors: dict[int, FieldErrors]) -> None:
        self.row_errors = row_errors
        rows = len(row_errors)
        super().__init__(Label(f"{form.label.zh}：{rows} 行数据有误，未写入任何记录",
                               f"{form.label.en}: {rows} row(s) are invalid; nothing was written"))

    def as_dict(self, locale: str = "en") -> dict[str, Any]:
        body = super().as_dict(locale)
        body["details"] = {
            "rows": {
                str(index): {key: [m.text(locale) for m in messages] for key, messages in errors.items()}
                for index, errors in sorted(self.row_errors.items())
            }
        }
        return body


def create_many(
    service: RecordService,
    conn: Connection,
    form_key: str,
    rows: Sequence[Mapping[str, Any]],
    actor: Actor,
) -> list[int]:
    """Create ``rows`` in one go; returns their ids in order, or raises RowsInvalid."""
    compiled, tables = service.form(form_key)
    policy = actor.policy(service, form_key)
    policy.require("create")
    if actor.source == "import":
        policy.require("import")
    context = service.context(conn, compiled, actor)
    now = service.clock.now()
    empty_outside = service.reader.outside_rollups(conn, compiled, None)
    row_errors: dict[int, FieldErrors] = {}
    if columnar_ready(compiled):
        def number(values: list[dict[str, Any]], errors: list[FieldErrors]) -> None:
            if not any(errors):
                _assign_serials(conn, service.app.key, compiled, values, now)

        prepared, column_errors = prepare_columns(compiled, rows, context, empty_outside, number)
        datas = [(values, errors, set(raw))
                 for values, errors, raw in zip(prepared, column_errors, rows, strict=True)]
        row_errors.update((index, errors) for index, errors in enumerate(column_errors) if errors)
    else:
        datas, prepared = _prepare_rows(service, conn, compiled, rows, context, now, empty_outside,
                                        row_errors, policy.guard())
    if not policy.unrestricted:
        grants = policy.creating_grants()
        for index, raw in enumerate(rows):
            for key, problems in policy.check_writable(raw, grants).items():
                row_errors.setdefault(index, {}).setdefault(key, []).extend(problems)
        for index, (data, _, _) in enumerate(datas):
            if "owner" in data:
                moved = owner_problems(policy, actor, actor.user_id, data["owner"])
                if moved:
                    row_errors.setdefault(index, {}).setdefault("owner", []).extend(moved)
    for index, file_errors in check_files(conn, compiled, [(d[0], d[2]) for d in datas]).items():
        row_errors.setdefault(index, {}).update(file_errors)
    _check_relations(service, conn, compiled, prepared, datas, row_errors, policy.guard())
    _check_unique(conn, compiled, tables, prepared, row_errors)
    if row_errors:
        raise RowsInvalid(compiled.form, row_errors)
    if not prepared:
        return []
    stamp = now.astimezone(dt.UTC)
    system = {"owner": actor.user_id, "created_by": actor.user_id, "created_at": stamp,
              "updated_by": actor.user_id, "updated_at": stamp, "version": 1}
    main_rows = []
    if compiled.values_are_columns:
        # Every stored value goes into its column as it is: the row is the values
        # over a template holding every column (executemany needs the same keys).
        template = {**dict.fromkeys(f.key for f, _ in compiled.encoders), **system}
        for values, (data, _, _) in zip(prepared, datas, strict=True):
            row = {**template, **values}
            row["owner"] = data.get("owner", actor.user_id)
            main_rows.append(row)
    else:
        for values, (data, _, _) in zip(prepared, datas, strict=True):
            row = service.row(compiled, values)
            row.update(system)
            row["owner"] = data.get("owner", actor.user_id)
            main_rows.append(row)
    ids = _insert(conn, tables.main, main_rows)
    if compiled.subforms or compiled.link_fields:
        for record_id, values in zip(ids, prepared, strict=True):
            service.reader.write_children(conn, compiled, tables, record_id, values, creating=True)
    finish_batch(service, conn, compiled, actor,
                 service.created_records(conn, compiled, tables, ids, main_rows, prepared))
    return ids


def _prepare_rows(
    service: RecordService,
    conn: Connection,
    compiled: CompiledForm,
    rows: Sequence[Mapping[str, Any]],
    context: EvaluationContext,
    now: dt.datetime,
    empty_outside: Mapping[str, Any],
    row_errors: dict[int, FieldErrors],
    guard: PathGuard | None,
) -> tuple[list[tuple[dict[str, Any], FieldErrors, set[str]]], list[dict[str, Any]]]:
    """Row by row, exactly as ``RecordService.create`` does (forms with rules,
    subforms, linked defaults or relation paths)."""
    datas = []
    for raw in rows:
        data, errors = coerce(compiled, raw, creating=True)
        apply_defaults(compiled, data, raw, context)
        if compiled.has_links and not errors:
            apply_linked_defaults(service, conn, compiled, data, raw, context, creating=True)
        datas.append((data, errors, set(raw)))
    if not any(errors for _, errors, _ in datas):
        _assign_serials(conn, service.app.key, compiled, [d for d, _, _ in datas], now)
    related = _related_for_rows(service, conn, compiled, [d for d, _, _ in datas])
    prepared: list[dict[str, Any]] = []
    for index, (data, errors, given) in enumerate(datas):
        row_related = service.reader.row_related(conn, compiled, data) if compiled.child_related else None
        state = compiled.compute(data, context, related[index] if related else None, empty_outside,
                                 row_related)
        validate_values(compiled, state, errors, given=given, creating=True)
        service.reader.check_row_relations(conn, compiled, state.values, errors, given, guard)
        prepared.append(state.values)
        if errors:
            row_errors[index] = errors
    return datas, prepared


def _insert(conn: Connection, table: sa.Table, rows: list[dict[str, Any]]) -> list[int]:
    """Insert ``rows``; their new ids, in order.

    ``INSERT ... RETURNING`` for many rows costs several times the insert
    itself (SQLite runs it a row per statement; on PostgreSQL the driver
    handles a result per page), so ids are had another way and the insert is
    a plain ``executemany``. SQLite: within one write transaction, rows
    inserted without an id get consecutive rowids, so the last one says what
    they all are. PostgreSQL: the ids are drawn from the table's sequence
    first, in one query, and inserted with the rows."""
    if conn.dialect.name == "sqlite":
        conn.execute(table.insert(), rows)
        last = int(conn.exec_driver_sql("SELECT last_insert_rowid()").scalar_one())
        return list(range(last - len(rows) + 1, last + 1))
    if conn.dialect.name == "postgresql":
        sequence = sa.func.pg_get_serial_sequence(table.name, "id")
        drawn = conn.execute(sa.select(sa.func.nextval(sequence))
                             .select_from(sa.func.generate_series(1, len(rows)))).scalars()
        ids = sorted(int(i) for i in drawn)
        conn.execute(table.insert(), [{**row, "id": i} for row, i in zip(rows, ids, strict=True)])
        return ids
    result = conn.execute(table.insert().returning(table.c.id, sort_by_parameter_order=True), rows)
    return [int(i) for i in result.scalars()]


def _related_for_rows(
    service: RecordService, conn: Connection, compiled: CompiledForm, datas: list[dict[str, Any]]
) -> list[dict[str, Any]] | None:
    if not compiled.related_paths:
        return None
    loaded: dict[str, dict[Any, Any]] = {}
    for key in compiled.related_paths:
        ids = {d.get(key) for d in datas} - {None}
        target = str(compiled.form.get_field(key).setting("target"))
        target_compiled, target_tables = service.form(target)
        found: dict[Any, Any] = {}
        for chunk in _chunks(sorted(ids)):
            rows = [r._mapping for r in conn.execute(
                sa.select(target_tables.main).where(target_tables.main.c.id.in_(chunk)))]
            for record in service.reader.hydrate(conn, target_compiled, target_tables, rows,
                                                 fields=[f.key for f in target_compiled.stored_fields]):
                seen = target_compiled.formula_values(record)
                title = target_compiled.form.title_field
                seen["_title"] = record.get(title) if title else record["id"]
                found[record["id"]] = seen
        loaded[key] = found
    return [{key: loaded[key].get(d.get(key)) for key in compiled.related_paths} for d in datas]


def _chunks(items: Sequence[Any]) -> list[Sequence[Any]]:
    return [items[i:i + CHUNK] for i in range(0, len(items), CHUNK)]


def _check_relations(
    service: RecordService, conn: Connection, compiled: CompiledForm, prepared: list[dict[str, Any]],
    datas: list[tuple[dict[str, Any], FieldErrors, set[str]]], row_errors: dict[int, FieldErrors],
    guard: PathGuard | None,
) -> None:
    """As ``RecordReader.check_relations``, for a batch: one query per relation."""
    for f in compiled.relations:
        wanted: set[Any] = set()
        for values in prepared:
            value = values.get(f.key)
            wanted.update(value if isinstance(value, list | tuple) else [value])
        wanted.discard(None)
        if not wanted:
            continue
        target, found = service.reader.readable_ids(conn, str(f.setting("target")), wanted, guard)
        for index, values in enumerate(prepared):
            value = values.get(f.key)
            ids = value if isinstance(value, list | tuple) else [value]
            missing = [i for i in ids if i is not None and i not in found]
            if missing:
                row_errors.setdefault(index, {}).setdefault(f.key, []).append(missing_records(target, missing))


def _check_unique(
    conn: Connection, compiled: CompiledForm, tables: FormTables, prepared: list[dict[str, Any]],
    row_errors: dict[int, FieldErrors],
) -> None:
    for f in compiled.stored_fields:
        if not f.unique:
            continue
        first_row: dict[Any, int] = {}
        for index, values in enumerate(prepared):
            value = values.get(f.key)
            if blank(value):
                continue
            if value in first_row:
                row_errors.setdefault(index, {}).setdefault(f.key, []).append(Label(
                    f"与第 {first_row[value] + 1} 行重复", f"Same value as row {first_row[value] + 1}"))
            else:
                first_row[value] = index
        column = tables.main.c[f.key]
        for chunk in _chunks(list(first_row)):
            for value in conn.execute(sa.select(column).where(column.in_(chunk))).scalars():
                at = first_row.get(value)
                if at is not None:
                    row_errors.setdefault(at, {}).setdefault(f.key, []).append(VALUE_TAKEN)


def _assign_serials(
    conn: Connection, app: str, compiled: CompiledForm, prepared: list[dict[str, Any]], now: dt.datetime
) -> None:
    for f in compiled.serials:
        numbers = draw_serials(conn, app, compiled.form.key, f, compiled.types[f.key], now.date(),
                               count=len(prepared))
        for values, number in zip(prepared, numbers, strict=True):
            values[f.key] = number
