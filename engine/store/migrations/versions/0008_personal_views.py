"""Personal list views: a user's own saved columns, filter and sort of a form's list.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from engine.store.database import JSONDocument

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "personal_views",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("app", sa.String(50), nullable=False),
        sa.Column("form", sa.String(50), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("spec", JSONDocument, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_personal_views"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE",
                                name="fk_personal_views_user_id_users"),
        sa.UniqueConstraint("user_id", "app", "form", "name", name="uq_personal_views_user_id_app_form_name"),
    )
    op.create_index("ix_personal_views_user_id", "personal_views", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_personal_views_user_id", table_name="personal_views")
    op.drop_table("personal_views")
