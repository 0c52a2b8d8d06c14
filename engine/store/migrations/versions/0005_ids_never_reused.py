"""Record ids are never reused: on SQLite, app tables made before every app
table had ``AUTOINCREMENT`` are rebuilt with it, keeping the highest id they
gave (from their rows and the audit log). Nothing to do on PostgreSQL.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

from __future__ import annotations

from alembic import op
from alembic.operations import Operations

from engine.store.row_ids import rebuild_tables_that_reuse_ids

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    rebuild_tables_that_reuse_ids(op.get_bind(), Operations(op.get_context()))


def downgrade() -> None:
    pass  # AUTOINCREMENT does no harm to older code
