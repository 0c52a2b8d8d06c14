"""The flow engine's tables: instances, their jobs (a node's work in one
visit), the tasks of the people a job waits for, and each instance's history.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from engine.store.database import JSONDocument

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

MOMENT = sa.DateTime(timezone=True)


def _instance_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["instance_id"], ["flow_instances.id"], ondelete="CASCADE",
                                   name=f"fk_{table}_instance_id_flow_instances")


def upgrade() -> None:
    op.create_table(
        "flow_instances",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("app", sa.String(50), nullable=False),
        sa.Column("flow", sa.String(100), nullable=False),
        sa.Column("definition_id", sa.Integer(), nullable=False),
        sa.Column("form", sa.String(50), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("submitter_id", sa.Integer(), nullable=True),
        sa.Column("started_at", MOMENT, nullable=False),
        sa.Column("ended_at", MOMENT, nullable=True),
        sa.Column("current", JSONDocument, nullable=False),
        sa.Column("state", JSONDocument, nullable=False),
        sa.Column("lock_version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_flow_instances"),
    )
    op.create_index("ix_flow_instances_app_form_record_id", "flow_instances", ["app", "form", "record_id"])
    op.create_index("ix_flow_instances_submitter_id_id", "flow_instances", ["submitter_id", "id"])
    op.create_index("ix_flow_instances_status_id", "flow_instances", ["status", "id"])
    op.create_table(
        "flow_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("node", sa.String(100), nullable=False),
        sa.Column("node_type", sa.String(30), nullable=False),
        sa.Column("visit", sa.Integer(), nullable=False),
        sa.Column("branch", sa.String(300), nullable=True),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("result", JSONDocument, nullable=True),
        sa.Column("started_at", MOMENT, nullable=False),
        sa.Column("ended_at", MOMENT, nullable=True),
        sa.Column("wake_at", MOMENT, nullable=True),
        _instance_fk("flow_jobs"),
        sa.PrimaryKeyConstraint("id", name="pk_flow_jobs"),
    )
    op.create_index("ix_flow_jobs_instance_id_node", "flow_jobs", ["instance_id", "node"])
    op.create_index("ix_flow_jobs_status_wake_at", "flow_jobs", ["status", "wake_at"])
    op.create_table(
        "flow_tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("app", sa.String(50), nullable=False),
        sa.Column("node", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("assignee_id", sa.Integer(), nullable=False),
        sa.Column("box", sa.String(8), nullable=False),
        sa.Column("outcome", sa.String(12), nullable=True),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("delegated_from", sa.Integer(), nullable=True),
        sa.Column("added_by", sa.Integer(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("created_at", MOMENT, nullable=False),
        sa.Column("acted_at", MOMENT, nullable=True),
        sa.Column("due_at", MOMENT, nullable=True),
        sa.Column("urged_at", MOMENT, nullable=True),
        _instance_fk("flow_tasks"),
        sa.ForeignKeyConstraint(["job_id"], ["flow_jobs.id"], ondelete="CASCADE",
                                name="fk_flow_tasks_job_id_flow_jobs"),
        sa.PrimaryKeyConstraint("id", name="pk_flow_tasks"),
    )
    op.create_index("ix_flow_tasks_assignee_id_box_id", "flow_tasks", ["assignee_id", "box", "id"])
    op.create_index("ix_flow_tasks_instance_id_job_id", "flow_tasks", ["instance_id", "job_id"])
    op.create_table(
        "flow_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("at", MOMENT, nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("node", sa.String(100), nullable=True),
        sa.Column("task_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("files", JSONDocument, nullable=True),
        sa.Column("diff", JSONDocument, nullable=True),
        sa.Column("detail", JSONDocument, nullable=True),
        _instance_fk("flow_events"),
        sa.PrimaryKeyConstraint("id", name="pk_flow_events"),
    )
    op.create_index("ix_flow_events_instance_id_id", "flow_events", ["instance_id", "id"])


def downgrade() -> None:
    for table in ("flow_events", "flow_tasks", "flow_jobs", "flow_instances"):
        op.drop_table(table)
