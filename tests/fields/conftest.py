"""A SQLite file for the field tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[sa.Engine]:
    db = sa.create_engine(f"sqlite:///{tmp_path / 'fields.db'}")

    @sa.event.listens_for(db, "connect")
    def _foreign_keys(connection: Any, _record: Any) -> None:
        connection.execute("PRAGMA foreign_keys=ON")

    yield db
    db.dispose()
