"""The soak test: 16 clients for about 10 seconds against ``qiqiao serve``
(a real process, its defaults) on SQLite and on PostgreSQL, with an import
running alongside. No answer may be a 5xx or a dropped connection, and no
write may be lost: every 201 reads back, every customer shows its last 200
PATCH, the follow-ups counted are the ones created, and no serial number is
given twice. The clients and the checks are bench/load.py's."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.load import postgres_database, soak
from tests.conftest import admin_execute

CLIENTS = 16
SECONDS = 10


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_sixteen_clients_for_ten_seconds_lose_nothing(kind: str, tmp_path: Path,
                                                      request: pytest.FixtureRequest) -> None:
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'soak.sqlite3'}"
    else:
        base = request.getfixturevalue("postgres_url")
        url, _ = postgres_database(base)
    try:
        tally, lost = soak(url, tmp_path, CLIENTS, SECONDS, scale=0.05, import_rows=200, tickets=True)
    finally:
        if kind == "postgresql":
            admin_execute(base, f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
    assert not tally.failures, sorted(set(tally.failures))
    assert not lost, lost
    # It did run: many requests, creates and PATCHes that landed, an import that finished.
    assert sum(tally.statuses.values()) > 100 and tally.statuses[201] > 20 and tally.patched
    assert tally.created["service_ticket"] and tally.imported >= 200
