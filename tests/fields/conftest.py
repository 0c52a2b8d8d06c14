"""A database for the field tests: each kind Qiqiao runs on (SQLite and
PostgreSQL, from the shared ``bare_database`` fixture of tests/conftest.py)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from engine.store.database import Database


@pytest.fixture
def engine(bare_database: Database) -> sa.Engine:
    return bare_database.engine
