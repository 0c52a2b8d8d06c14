"""App owners: the users who manage one app (its roles, and every record in
it) without being administrators of the whole system.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "app_owners",
        sa.Column("app", sa.String(50), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["app"], ["apps.key"], name="fk_app_owners_app_apps", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_app_owners_user_id_users", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("app", "user_id", name="pk_app_owners"),
    )
    op.create_index("ix_app_owners_user_id", "app_owners", ["user_id"])


def downgrade() -> None:
    op.drop_table("app_owners")
