"""The rule engine's and the notifications' tables: rule runs, ticks and
cursors; the outbox; in-app notifications, channel preferences and todos;
and the audit log's ``rule`` (which rule's action wrote).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from engine.store.database import JSONDocument

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

MOMENT = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("audit_log") as batch:
        batch.add_column(sa.Column("rule", sa.String(150), nullable=True))
    op.create_table(
        "rule_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("app", sa.String(50), nullable=False),
        sa.Column("rule", sa.String(100), nullable=False),
        sa.Column("trigger", sa.String(30), nullable=False),
        sa.Column("form", sa.String(50), nullable=True),
        sa.Column("record_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("started_at", MOMENT, nullable=False),
        sa.Column("duration_ms", sa.Float(), nullable=False),
        sa.Column("depth", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(30), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("actions", JSONDocument, nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("payload", JSONDocument, nullable=True),
        sa.Column("retry_of", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_rule_runs"),
    )
    op.create_index("ix_rule_runs_app_rule_id", "rule_runs", ["app", "rule", "id"])
    op.create_index("ix_rule_runs_app_form_record_id", "rule_runs", ["app", "form", "record_id"])
    op.create_index("ix_rule_runs_status", "rule_runs", ["status"])
    op.create_table(
        "rule_ticks",
        sa.Column("app", sa.String(50), nullable=False),
        sa.Column("rule", sa.String(100), nullable=False),
        sa.Column("tick", MOMENT, nullable=False),
        sa.Column("claimed_at", MOMENT, nullable=False),
        sa.Column("claimed_by", sa.String(100), nullable=True),
        sa.PrimaryKeyConstraint("app", "rule", "tick", name="pk_rule_ticks"),
    )
    op.create_table(
        "rule_cursors",
        sa.Column("app", sa.String(50), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("value", JSONDocument, nullable=False),
        sa.Column("updated_at", MOMENT, nullable=False),
        sa.PrimaryKeyConstraint("app", "key", name="pk_rule_cursors"),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(30), nullable=False),
        sa.Column("recipient", sa.String(500), nullable=False),
        sa.Column("payload", JSONDocument, nullable=False),
        sa.Column("idempotency_key", sa.String(200), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", MOMENT, nullable=False),
        sa.Column("lease_until", MOMENT, nullable=True),
        sa.Column("claimed_by", sa.String(100), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("result", JSONDocument, nullable=True),
        sa.Column("app", sa.String(50), nullable=True),
        sa.Column("rule_run_id", sa.Integer(), nullable=True),
        sa.Column("created_at", MOMENT, nullable=False),
        sa.Column("sent_at", MOMENT, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
        sa.UniqueConstraint("idempotency_key", name="uq_outbox_idempotency_key"),
    )
    op.create_index("ix_outbox_status_next_attempt_at", "outbox", ["status", "next_attempt_at"])
    op.create_index("ix_outbox_rule_run_id", "outbox", ["rule_run_id"])
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("app", sa.String(50), nullable=True),
        sa.Column("form", sa.String(50), nullable=True),
        sa.Column("record_id", sa.Integer(), nullable=True),
        sa.Column("link", sa.String(500), nullable=True),
        sa.Column("source", sa.String(150), nullable=True),
        sa.Column("created_at", MOMENT, nullable=False),
        sa.Column("read_at", MOMENT, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_notifications"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE",
                                name="fk_notifications_user_id_users"),
    )
    op.create_index("ix_notifications_user_id_read_at_id", "notifications", ["user_id", "read_at", "id"])
    op.create_table(
        "notification_prefs",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(30), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "channel", name="pk_notification_prefs"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE",
                                name="fk_notification_prefs_user_id_users"),
    )
    op.create_table(
        "todos",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("due_at", MOMENT, nullable=True),
        sa.Column("app", sa.String(50), nullable=True),
        sa.Column("form", sa.String(50), nullable=True),
        sa.Column("record_id", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(150), nullable=True),
        sa.Column("created_at", MOMENT, nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("done_at", MOMENT, nullable=True),
        sa.Column("done_by", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_todos"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE", name="fk_todos_user_id_users"),
    )
    op.create_index("ix_todos_user_id_done_at_due_at", "todos", ["user_id", "done_at", "due_at"])


def downgrade() -> None:
    for table in ("todos", "notification_prefs", "notifications", "outbox", "rule_cursors", "rule_ticks",
                  "rule_runs"):
        op.drop_table(table)
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_column("rule")
