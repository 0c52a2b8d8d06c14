"""Applying a schema change, and purging a retired field.

``apply_schema_change`` runs a plan's steps in one transaction through
alembic's operations and records it in ``schema_changes``: it all happens or
none of it does. It refuses, before touching anything, a plan whose
conversions would empty values unless the caller accepts that, in which
case the original values are kept in the change's ``backup``.
``purge_field`` is the only thing that drops a field's data, and it writes
a backup file first.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext

from engine.core.clock import Clock, SystemClock
from engine.core.errors import ConflictError, DefinitionError, NotFoundError
from engine.core.i18n import Label
from engine.definitions.model import FormDef
from engine.store.conversion import ConvertField, changed_error, unconvertible_error
from engine.store.conversion_rows import json_ready
from engine.store.database import Database
from engine.store.history import RetiredField, retired_fields
from engine.store.models import SchemaChange
from engine.store.row_ids import TABLE_OPTIONS, rebuilding
from engine.store.schema_plan import SchemaPlan
from engine.store.schema_steps import Runner, field_to_dict

BACKUP_KEY = "_qiqiao_backup"


@dataclass(frozen=True)
class AppliedChange:
    """The ``schema_changes`` row written (``None`` for an empty plan), the
    number of values emptied because they could not be converted, and the
    number rounded or cut on the way (both kept in ``backup``)."""

    id: int | None
    rows_nulled: int
    backup: dict[str, Any] | None = None
    rows_rounded: int = 0


def migration_operations(connection: sa.Connection) -> Operations:
    """Alembic's operations on ``connection`` (in its open transaction)."""
    return Operations(MigrationContext.configure(connection))


def apply_schema_change(
    database: Database,
    plan: SchemaPlan,
    accept_nulling: bool = False,
    *,
    accept_rounding: bool = False,
    applied_by: int | None = None,
    clock: Clock | None = None,
) -> AppliedChange:
    """Run ``plan`` on ``database`` in one transaction and record it.

    Raises ``ConflictError`` with nothing changed when a step is blocked
    (duplicates for a unique index), when rows cannot be converted and
    ``accept_nulling`` is false, when a conversion would change values
    (round them to fewer decimals, cut a date-time to its day) and
    ``accept_rounding`` is false, or when the database refuses a step.
    Emptied and changed values are kept, as they were, in the backup.
    """
    problems = plan.problems
    if problems:
        raise ConflictError(
            Label("；".join(p.zh for p in problems), "; ".join(p.en for p in problems)),
            details={"problems": [p.as_dict() for p in problems]},
        )
    for step in plan.steps:
        if isinstance(step, ConvertField) and step.failures and not accept_nulling:
            raise unconvertible_error(step, step.failures)
        if isinstance(step, ConvertField) and step.changed and not accept_rounding:
            raise changed_error(step, step.changed)
    if plan.is_empty:
        return AppliedChange(None, 0)
    now = (clock or SystemClock()).now()
    try:
        with database.schema_transaction() as connection:
            run = Runner(
                connection,
                migration_operations(connection),
                plan.field_types,
                accept_nulling,
                accept_rounding,
            )
            for step in plan.steps:
                step.apply(run)
            backup = {BACKUP_KEY: run.backup} if run.backup else None
            change_id = record(
                connection,
                plan.new,
                plan.to_dict(),
                now,
                applied_by,
                from_version=plan.from_version,
                to_version=plan.to_version,
                rows_nulled=run.nulled,
                backup=backup,
            )
    except sa.exc.DBAPIError as exc:
        raise ConflictError(
            Label(
                f"数据库拒绝了结构变更，未做任何变更：{exc.orig}",
                f"The database refused the schema change; nothing was changed: {exc.orig}",
            ),
            details={"table": plan.table},
        ) from exc
    return AppliedChange(change_id, run.nulled, backup, run.rounded)


def record(
    connection: sa.Connection,
    form: FormDef,
    plan: dict[str, Any],
    now: Any,
    applied_by: int | None,
    **values: Any,
) -> int:
    result = connection.execute(
        sa.insert(SchemaChange)
        .values(
            app=form.app, form=form.key, plan=plan, applied_at=now, applied_by=applied_by, **values
        )
        .returning(SchemaChange.id)
    )
    return int(result.scalar_one())


def purge_field(
    database: Database,
    form: FormDef,
    key: str,
    backup_dir: str | Path,
    *,
    applied_by: int | None = None,
    clock: Clock | None = None,
) -> Path:
    """Drop the data of the retired field ``key`` of ``form`` for good.

    ``key`` is a field of the form, or ``subform.field`` for a retired field of
    a subform. A JSON backup (``id`` and the field's columns for every row,
    the rows of its own tables) is written to ``backup_dir`` first; its path
    is returned and recorded with the change.
    """
    table, field_key = form.table_name, key
    if "." in key:
        parent, field_key = key.split(".", 1)
        table = f"{form.table_name}__{parent}"
    live = form.field(key) if "." not in key else None
    if live is not None:
        raise DefinitionError(
            Label(
                f"字段 {key} 仍在表单中，只能清除已停用的字段",
                f"Field {key} is still on the form; only a retired field can be purged",
            ),
            details={"field": key},
        )
    with database.engine.connect() as connection:
        retired = retired_fields(connection, form.app, form.key).get(table, {}).get(field_key)
    if retired is None:
        raise NotFoundError(
            Label(
                f"表单 {form.key} 没有已停用的字段 {key}",
                f"Form {form.key} has no retired field {key}",
            ),
            details={"field": key},
        )
    now = (clock or SystemClock()).now()
    path = write_backup(database, form, retired, Path(backup_dir), now.strftime("%Y%m%dT%H%M%S"))
    step = {
        "kind": "purge_field",
        "table": table,
        "field": field_to_dict(retired.field),
        "columns": list(retired.columns),
        "tables": list(retired.tables),
    }
    with database.schema_transaction() as connection:
        operations = migration_operations(connection)
        if retired.columns:
            with rebuilding(connection, table), operations.batch_alter_table(
                    table, table_kwargs=TABLE_OPTIONS) as batch_op:
                for column in retired.columns:
                    batch_op.drop_column(column)
        for owned in reversed(retired.tables):
            operations.drop_table(owned)
        record(
            connection,
            form,
            {"app": form.app, "form": form.key, "table": form.table_name, "steps": [step]},
            now,
            applied_by,
            rows_nulled=0,
            backup_path=str(path),
        )
    return path


def write_backup(
    database: Database, form: FormDef, retired: RetiredField, folder: Path, stamp: str
) -> Path:
    """Everything the purge will drop, as JSON, in ``folder``."""
    content: dict[str, Any] = {
        "app": form.app,
        "form": form.key,
        "table": retired.table,
        "field": field_to_dict(retired.field),
        "columns": list(retired.columns),
        "rows": [],
        "tables": {},
    }
    with database.engine.connect() as connection:
        if retired.columns:
            source = sa.table(
                retired.table, sa.column("id"), *(sa.column(c) for c in retired.columns)
            )
            rows = connection.execute(sa.select(source).order_by(source.c.id))
            content["rows"] = [json_ready(dict(row._mapping)) for row in rows]
        for owned in retired.tables:
            reflected = sa.Table(owned, sa.MetaData(), autoload_with=connection)
            content["tables"][owned] = [
                json_ready(dict(row._mapping)) for row in connection.execute(sa.select(reflected))
            ]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{retired.table}.{retired.field.key}.{stamp}.json"
    path.write_text(
        json.dumps(content, ensure_ascii=False, indent=1, default=str), encoding="utf-8"
    )
    return path
