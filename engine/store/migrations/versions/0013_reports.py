"""Reports: the per-form data versions (a base number and the
writes since) the result cache is keyed by, and
the state of the reports' alerts.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from engine.store.database import JSONDocument

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "data_versions",
        sa.Column("app", sa.String(50), nullable=False),
        sa.Column("form", sa.String(50), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("app", "form", name="pk_data_versions"),
    )
    op.create_table(
        "data_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("app", sa.String(50), nullable=False),
        sa.Column("form", sa.String(50), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_data_changes"),
    )
    op.create_index("ix_data_changes_app_form_id", "data_changes", ["app", "form", "id"])
    op.create_table(
        "report_alert_states",
        sa.Column("app", sa.String(50), nullable=False),
        sa.Column("report", sa.String(100), nullable=False),
        sa.Column("alert", sa.String(100), nullable=False),
        sa.Column("next_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("held", sa.Boolean(), nullable=False),
        sa.Column("held_rows", JSONDocument, nullable=False),
        sa.Column("last_value", JSONDocument, nullable=True),
        sa.Column("fired_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("app", "report", "alert", name="pk_report_alert_states"),
    )
    op.create_index("ix_report_alert_states_next_at", "report_alert_states", ["next_at"])


def downgrade() -> None:
    op.drop_index("ix_report_alert_states_next_at", table_name="report_alert_states")
    op.drop_table("report_alert_states")
    op.drop_index("ix_data_changes_app_form_id", table_name="data_changes")
    op.drop_table("data_changes")
    op.drop_table("data_versions")
