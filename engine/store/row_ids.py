"""Record ids are never reused.

SQLite gives a row of a table without ``AUTOINCREMENT`` the largest id plus
one: deleting the newest record would hand its id to the next one, and the
audit log (which names records by id) would mix the two. So every app table
(a form's main table, a subform's rows) is created with ``AUTOINCREMENT``
(``TABLE_OPTIONS``), which keeps the highest id ever given in
``sqlite_sequence``.

A rebuild (alembic's batch mode, how SQLite alters a column) creates the
table anew: it must be given the same option, and the highest id carried
over, or the rebuilt table would start again after the largest id left
(``rebuilding``). Tables made before this (revision 0005) are rebuilt once by
``rebuild_tables_that_reuse_ids``, which takes the highest id from the table,
its sequence and the audit log. PostgreSQL's sequences never go back: there
is nothing to do there.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from alembic.operations import Operations
from sqlalchemy.engine import Connection

from engine.store.models import SYSTEM_TABLES, AuditEntry

TABLE_OPTIONS: dict[str, Any] = {"sqlite_autoincrement": True}


def _sequence_exists(conn: Connection) -> bool:
    return conn.exec_driver_sql(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_sequence'"
    ).first() is not None


def high_water(conn: Connection, table: str) -> int:
    """The highest id ``table`` has given, as far as can be known: its rows,
    its sequence and, for a form's main table, the audit log. 0 when none,
    and always on PostgreSQL (not needed there)."""
    if conn.dialect.name != "sqlite":
        return 0
    marks = [conn.execute(sa.select(sa.func.max(sa.column("id"))).select_from(sa.table(table))).scalar()]
    if _sequence_exists(conn):
        marks.append(conn.exec_driver_sql("SELECT seq FROM sqlite_sequence WHERE name = ?", (table,)).scalar())
    audit = AuditEntry.__table__
    marks.append(conn.execute(sa.select(sa.func.max(audit.c.record_id)).where(
        (audit.c.app + "_" + audit.c.form) == table)).scalar())
    return max((int(mark) for mark in marks if mark is not None), default=0)


def restore_high_water(conn: Connection, table: str, mark: int) -> None:
    """Make the next id of ``table`` greater than ``mark`` (SQLite with ``AUTOINCREMENT``)."""
    if conn.dialect.name != "sqlite" or mark <= 0 or not _sequence_exists(conn):
        return
    current = conn.exec_driver_sql("SELECT seq FROM sqlite_sequence WHERE name = ?", (table,)).first()
    if current is None:
        conn.exec_driver_sql("INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)", (table, mark))
    elif int(current[0] or 0) < mark:
        conn.exec_driver_sql("UPDATE sqlite_sequence SET seq = ? WHERE name = ?", (mark, table))


@contextmanager
def rebuilding(conn: Connection, table: str) -> Iterator[None]:
    """Around a rebuild of ``table``: the highest id it gave is kept."""
    mark = high_water(conn, table)
    yield
    restore_high_water(conn, table, mark)


def reuses_ids(conn: Connection, table: str) -> bool:
    """Whether SQLite would give ``table``'s ids again: an ``id`` primary key
    without ``AUTOINCREMENT``."""
    if conn.dialect.name != "sqlite":
        return False
    sql = conn.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
    ).scalar()
    if sql is None or "AUTOINCREMENT" in sql.upper():
        return False
    columns = conn.exec_driver_sql(f'PRAGMA table_info("{table}")').fetchall()
    keys = [row for row in columns if row[5]]  # (cid, name, type, notnull, default, pk)
    return len(keys) == 1 and keys[0][1] == "id" and str(keys[0][2]).upper() == "INTEGER"


def rebuild_tables_that_reuse_ids(conn: Connection, operations: Operations) -> list[str]:
    """Rebuild every app table that would reuse ids with ``AUTOINCREMENT``,
    its highest id carried over; the tables rebuilt. Call with foreign keys
    off (``Database.schema_transaction``): a rebuild drops the old table."""
    if conn.dialect.name != "sqlite":
        return []
    names = [str(name) for name in conn.exec_driver_sql(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
    ).scalars()]
    rebuilt = []
    for name in names:
        if name in SYSTEM_TABLES or name.startswith("qiqiao_") or not reuses_ids(conn, name):
            continue
        with rebuilding(conn, name), operations.batch_alter_table(
                name, recreate="always", table_kwargs=TABLE_OPTIONS):
            pass
        rebuilt.append(name)
    return rebuilt
