"""Fixtures of the organization tests: a service on each database, with a
clock that stands still."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa

from engine.core.clock import FixedClock
from engine.org.service import OrgService
from engine.store.database import Database
from engine.store.models import AuditEntry

START = dt.datetime(2026, 5, 20, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def org(database: Database, clock: FixedClock) -> OrgService:
    return OrgService(database, clock)


def audit_rows(database: Database, **where: Any) -> list[dict[str, Any]]:
    """The audit entries matching ``where`` (column=value), oldest first."""
    table = AuditEntry.__table__
    query = sa.select(table).order_by(table.c.id)
    for column, value in where.items():
        query = query.where(table.c[column] == value)
    with database.reading() as conn:
        return [dict(row) for row in conn.execute(query).mappings()]
