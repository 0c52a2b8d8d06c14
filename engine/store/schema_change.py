"""Schema changes of app tables: plan, apply, purge (DESIGN §4, "Schema changes never lose data").

Publishing a changed form goes through here::

    plan = plan_schema_change(old_form, new_form, FIELD_TYPES, database)
    print(plan.describe("zh"))          # the preview, with unconvertible rows counted
    apply_schema_change(database, plan)  # one transaction; refused if values would be lost

The plan lives in ``schema_plan`` (the comparison by key in ``schema_diff``),
the steps in ``schema_steps`` and ``conversion``, running them and purging
in ``schema_apply``; this module is the front door.
"""

from __future__ import annotations

from engine.store.conversion import ConvertField
from engine.store.conversion_rows import RowFailure
from engine.store.history import RetiredField, retired_fields
from engine.store.schema_apply import (
    BACKUP_KEY,
    AppliedChange,
    apply_schema_change,
    purge_field,
)
from engine.store.schema_plan import SchemaPlan, plan_schema_change
from engine.store.schema_steps import (
    AddField,
    CreateIndex,
    CreateTable,
    DropIndex,
    RenameField,
    RenameTable,
    RestoreField,
    RetireField,
    Runner,
    Step,
)

__all__ = [
    "BACKUP_KEY",
    "AddField",
    "AppliedChange",
    "ConvertField",
    "CreateIndex",
    "CreateTable",
    "DropIndex",
    "RenameField",
    "RenameTable",
    "RestoreField",
    "RetireField",
    "RetiredField",
    "RowFailure",
    "Runner",
    "SchemaPlan",
    "Step",
    "apply_schema_change",
    "plan_schema_change",
    "purge_field",
    "retired_fields",
]
