"""The organization: passwords and admins on users, department codes and
order, memberships, roles (direct and by department), delegations, API tokens.

Columns are added in place (no table rebuild): rebuilding ``users`` or
``departments`` on SQLite would drop them, and app tables point at both with
``ON DELETE SET NULL``.

Revision ID: 0002
Revises: 0001
Create Date: 2026-05-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from engine.store.database import JSONDocument

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def timestamp() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("users", sa.Column("password_hash", sa.String(255), nullable=True))
    op.add_column(
        "users", sa.Column("is_admin", sa.Boolean(), server_default=sa.false(), nullable=False)
    )
    op.add_column("users", sa.Column("last_login_at", timestamp(), nullable=True))

    op.add_column("departments", sa.Column("code", sa.String(50), nullable=True))
    op.add_column(
        "departments", sa.Column("sort", sa.Integer(), server_default="0", nullable=False)
    )
    op.create_index("ix_departments_code", "departments", ["code"], unique=True)

    op.create_table(
        "user_departments",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("is_main", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("position", sa.String(100), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_user_departments_user_id_users", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["department_id"], ["departments.id"],
            name="fk_user_departments_department_id_departments", ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "department_id", name="pk_user_departments"),
    )
    op.create_index(
        "ix_user_departments_department_id", "user_departments", ["department_id"]
    )
    op.create_index(
        "uq_user_departments_main", "user_departments", ["user_id"], unique=True,
        sqlite_where=sa.text("is_main = 1"), postgresql_where=sa.text("is_main"),
    )

    op.create_table(
        "roles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("app", sa.String(50), nullable=True),
        sa.Column("key", sa.String(100), nullable=False),
        sa.Column("label", JSONDocument, nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("grants", JSONDocument, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_roles"),
        sa.UniqueConstraint("app", "key", name="uq_roles_app_key"),
    )
    op.create_index(
        "uq_roles_key_all_apps", "roles", ["key"], unique=True,
        sqlite_where=sa.text("app IS NULL"), postgresql_where=sa.text("app IS NULL"),
    )

    op.create_table(
        "role_members",
        sa.Column("role_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["role_id"], ["roles.id"], name="fk_role_members_role_id_roles", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_role_members_user_id_users", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("role_id", "user_id", name="pk_role_members"),
    )
    op.create_index("ix_role_members_user_id", "role_members", ["user_id"])

    op.create_table(
        "role_departments",
        sa.Column("role_id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["role_id"], ["roles.id"], name="fk_role_departments_role_id_roles", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["department_id"], ["departments.id"],
            name="fk_role_departments_department_id_departments", ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("role_id", "department_id", name="pk_role_departments"),
    )
    op.create_index(
        "ix_role_departments_department_id", "role_departments", ["department_id"]
    )

    op.create_table(
        "delegations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("from_user_id", sa.Integer(), nullable=False),
        sa.Column("to_user_id", sa.Integer(), nullable=False),
        sa.Column("starts_at", timestamp(), nullable=False),
        sa.Column("ends_at", timestamp(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", timestamp(), nullable=False),
        sa.ForeignKeyConstraint(
            ["from_user_id"], ["users.id"], name="fk_delegations_from_user_id_users",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["to_user_id"], ["users.id"], name="fk_delegations_to_user_id_users",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_delegations"),
    )
    op.create_index("ix_delegations_from_user_id", "delegations", ["from_user_id"])
    op.create_index("ix_delegations_to_user_id", "delegations", ["to_user_id"])

    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("prefix", sa.String(8), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_at", timestamp(), nullable=False),
        sa.Column("expires_at", timestamp(), nullable=True),
        sa.Column("revoked_at", timestamp(), nullable=True),
        sa.Column("last_used_at", timestamp(), nullable=True),
        sa.Column("last_used_ip", sa.String(45), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_api_tokens_user_id_users", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_api_tokens"),
        sa.UniqueConstraint("token_hash", name="uq_api_tokens_token_hash"),
    )
    op.create_index("ix_api_tokens_user_id", "api_tokens", ["user_id"])


def downgrade() -> None:
    for table in (
        "api_tokens",
        "delegations",
        "role_departments",
        "role_members",
        "roles",
        "user_departments",
    ):
        op.drop_table(table)
    op.drop_index("ix_departments_code", table_name="departments")
    # Dropping columns rebuilds the tables on SQLite: batch mode does that.
    with op.batch_alter_table("departments") as batch:
        batch.drop_column("sort")
        batch.drop_column("code")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("last_login_at")
        batch.drop_column("is_admin")
        batch.drop_column("password_hash")
