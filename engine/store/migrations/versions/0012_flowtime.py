"""A flow task's next reminder (``remind_at``) beside its time-out
(``due_at``): the worker finds what is due through one index each.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("flow_tasks", sa.Column("remind_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_flow_tasks_box_remind_at", "flow_tasks", ["box", "remind_at"])
    op.create_index("ix_flow_tasks_box_due_at", "flow_tasks", ["box", "due_at"])


def downgrade() -> None:
    op.drop_index("ix_flow_tasks_box_due_at", table_name="flow_tasks")
    op.drop_index("ix_flow_tasks_box_remind_at", table_name="flow_tasks")
    with op.batch_alter_table("flow_tasks") as batch:
        batch.drop_column("remind_at")
