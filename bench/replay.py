"""The database's own share of a piece of work: record the SQL it sends to
the driver, transaction by transaction, then send exactly that SQL again
through the ``sqlite3`` module, on a copy of the file as it was before the
work, with none of Qiqiao's Python in between.

A replay does the same writes into the same pages (the same state, so the
same ids come back from the same inserts) and pays the same commits. What is
left is what any engine that persists the same rows would pay, however little
Python it ran: the floor under a speed goal (``bench/flows.py``).
"""

from __future__ import annotations

import shutil
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from engine.store.database import Database

# A statement, its parameters, and whether they are many rows' (Core's
# "insertmanyvalues" also says many for one multi-row INSERT with one tuple).
Step = tuple[str, Any, bool]


@dataclass
class Recording:
    """The transactions recorded, each a list of driver-level statements."""

    snapshot: Path
    transactions: list[list[Step]] = field(default_factory=list)

    @property
    def statements(self) -> int:
        return sum(len(t) for t in self.transactions)


def snapshot(database: Database, to: Path) -> Path:
    """A copy of the SQLite file as it is now (the WAL folded in first)."""
    with database.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    source = Path(str(database.url.database))
    shutil.copyfile(source, to)
    return to


@contextmanager
def recording(database: Database, to: Path) -> Iterator[Recording]:
    """Record what runs in the block, after a snapshot of the file."""
    found = Recording(snapshot(database, to))
    # Per connection: the work may read on a second connection in the middle
    # of its write transaction (a cache refilled), and that read's rollback
    # must not drop what the writer sent.
    current: dict[int, list[Step]] = {}

    def sent(conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, many: bool) -> None:
        current.setdefault(id(conn), []).append((statement, parameters, many))

    def committed(conn: Any) -> None:
        # Every write transaction begins with the BEGIN the store sends (reads
        # end in a rollback, which drops what they sent).
        steps = current.pop(id(conn), [])
        assert steps and steps[0][0].startswith("BEGIN"), steps[:1]
        found.transactions.append(steps)

    def rolled_back(conn: Any) -> None:
        current.pop(id(conn), None)

    engine = database.engine
    listeners: list[tuple[str, Callable[..., None]]] = [
        ("before_cursor_execute", sent), ("commit", committed), ("rollback", rolled_back)]
    for name, listener in listeners:
        sa.event.listen(engine, name, listener)
    try:
        yield found
    finally:
        for name, listener in listeners:
            sa.event.remove(engine, name, listener)


def replay(recorded: Recording, into: Path) -> float:
    """Send the recorded SQL again on a fresh copy of the snapshot, with the
    pragmas Qiqiao's connections use; the seconds it took (the copy untimed)."""
    for suffix in ("-wal", "-shm"):
        into.with_name(into.name + suffix).unlink(missing_ok=True)
    shutil.copyfile(recorded.snapshot, into)
    raw = sqlite3.connect(into, isolation_level=None)
    try:
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON"):
            raw.execute(f"PRAGMA {pragma}")
        started = time.perf_counter()
        for transaction in recorded.transactions:
            for statement, parameters, many in transaction:
                if many and isinstance(parameters, list):
                    raw.executemany(statement, parameters)
                else:
                    raw.execute(statement, parameters).fetchall()
            raw.execute("COMMIT")
        return time.perf_counter() - started
    finally:
        raw.close()


def count_rows(path: Path, sql: str) -> int:
    raw = sqlite3.connect(path)
    try:
        return int(raw.execute(sql).fetchone()[0])
    finally:
        raw.close()
