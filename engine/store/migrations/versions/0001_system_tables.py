"""System tables: apps, definitions, users, departments, audit log, serial
counters, files, schema changes.

Revision ID: 0001
Revises:
Create Date: 2026-05-20
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from engine.store.database import JSONDocument

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def timestamp() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "apps",
        sa.Column("key", sa.String(50), nullable=False),
        sa.Column("label", JSONDocument, nullable=False),
        sa.Column("version", sa.String(50), nullable=False),
        sa.Column("package", sa.String(100), nullable=True),
        sa.Column("package_version", sa.String(50), nullable=True),
        sa.Column("installed_at", timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_apps"),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("login", sa.String(100), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("email", sa.String(200), nullable=True),
        sa.Column("mobile", sa.String(30), nullable=True),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("locale", sa.String(10), server_default="zh", nullable=False),
        sa.Column("created_at", timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("login", name="uq_users_login"),
    )
    op.create_table(
        "definitions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("app", sa.String(50), nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("key", sa.String(100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("body", JSONDocument, nullable=False),
        sa.Column("published_at", timestamp(), nullable=False),
        sa.Column("published_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["published_by"], ["users.id"], name="fk_definitions_published_by_users"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_definitions"),
        sa.UniqueConstraint(
            "app", "kind", "key", "version", name="uq_definitions_app_kind_key_version"
        ),
    )
    op.create_table(
        "departments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("head_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["head_id"], ["users.id"], name="fk_departments_head_id_users"),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["departments.id"], name="fk_departments_parent_id_departments"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_departments"),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", timestamp(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("app", sa.String(50), nullable=False),
        sa.Column("form", sa.String(50), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(30), nullable=False),
        sa.Column("changes", JSONDocument, nullable=True),
        sa.Column("source", sa.String(30), nullable=True),
        sa.Column("request_id", sa.String(64), nullable=True),
        sa.Column("ip", sa.String(45), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_audit_log_user_id_users"),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    op.create_index("ix_audit_log_app_form_record_id", "audit_log", ["app", "form", "record_id"])
    op.create_table(
        "serial_counters",
        sa.Column("app", sa.String(50), nullable=False),
        sa.Column("form", sa.String(50), nullable=False),
        sa.Column("field", sa.String(50), nullable=False),
        sa.Column("period", sa.String(20), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("app", "form", "field", "period", name="pk_serial_counters"),
    )
    op.create_table(
        "files",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("content_type", sa.String(100), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("storage_key", sa.String(255), nullable=False),
        sa.Column("created_at", timestamp(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name="fk_files_created_by_users"),
        sa.PrimaryKeyConstraint("id", name="pk_files"),
    )
    op.create_index("ix_files_sha256", "files", ["sha256"])
    op.create_table(
        "schema_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("app", sa.String(50), nullable=False),
        sa.Column("form", sa.String(50), nullable=False),
        sa.Column("from_version", sa.Integer(), nullable=True),
        sa.Column("to_version", sa.Integer(), nullable=True),
        sa.Column("plan", JSONDocument, nullable=False),
        sa.Column("rows_nulled", sa.Integer(), nullable=False),
        sa.Column("backup", JSONDocument, nullable=True),
        sa.Column("backup_path", sa.String(500), nullable=True),
        sa.Column("applied_at", timestamp(), nullable=False),
        sa.Column("applied_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["applied_by"], ["users.id"], name="fk_schema_changes_applied_by_users"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_schema_changes"),
    )
    op.create_index("ix_schema_changes_app_form", "schema_changes", ["app", "form"])


def downgrade() -> None:
    for table in (
        "schema_changes",
        "files",
        "serial_counters",
        "audit_log",
        "departments",
        "definitions",
        "users",
        "apps",
    ):
        op.drop_table(table)
