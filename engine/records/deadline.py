"""A time limit on one list or count statement (docs/filters.md, "Limits").

The limits on filters (conditions, nesting, relation steps) bound what a
query may ask; a deadline bounds what it may cost, whatever the data: a
filter that is fine on 1,000 records may scan 70,000 on another deployment,
and five of those at once would stall every other user.

- PostgreSQL: ``SET LOCAL statement_timeout`` for the statement; the server
  cancels it (SQLSTATE 57014) and the transaction ends with the request.
- SQLite has no statement timeout: a progress handler, called every few
  thousand virtual-machine steps, interrupts the statement once the deadline
  has passed (``sqlite3.OperationalError: interrupted``).

Either way the caller gets ``QueryTimeout`` (a 400 saying to narrow the query).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.core.i18n import Label
from engine.records.filters import QueryError

QUERY_TIMEOUT = 5.0  # seconds a list or count statement may run
_SQLITE_STEPS = 10_000  # virtual-machine steps between two looks at the clock
_PG_CANCELED = "57014"  # query_canceled


class QueryTimeout(QueryError):
    """A list or count ran past its deadline and was stopped."""

    code = "query_timeout"

    def __init__(self, seconds: float) -> None:
        shown = f"{seconds:g}"
        super().__init__(Label(
            f"查询超过 {shown} 秒，已停止：请缩小筛选范围或减少条件",
            f"The query ran longer than {shown} s and was stopped; narrow the filter or use fewer conditions",
        ), "filter")


@contextmanager
def deadline(conn: Connection, seconds: float | None) -> Iterator[None]:
    """Statements run in the block are stopped after ``seconds`` (None or 0: never)."""
    if not seconds:
        yield
        return
    if conn.dialect.name == "postgresql":
        with _postgresql(conn, seconds):
            yield
    elif conn.dialect.name == "sqlite":
        with _sqlite(conn, seconds):
            yield
    else:
        yield


@contextmanager
def _postgresql(conn: Connection, seconds: float) -> Iterator[None]:
    conn.exec_driver_sql(f"SET LOCAL statement_timeout = {max(1, int(seconds * 1000))}")
    try:
        yield
    except sa.exc.OperationalError as exc:
        if getattr(exc.orig, "sqlstate", None) == _PG_CANCELED or getattr(exc.orig, "pgcode", None) == _PG_CANCELED:
            raise QueryTimeout(seconds) from None
        raise
    # Only after success: a canceled statement has aborted the transaction,
    # which ends (and takes the setting with it) when the error unwinds it.
    conn.exec_driver_sql("SET LOCAL statement_timeout = DEFAULT")


@contextmanager
def _sqlite(conn: Connection, seconds: float) -> Iterator[None]:
    driver: Any = conn.connection.driver_connection
    stop_at = time.monotonic() + seconds

    def past_deadline() -> int:
        return 1 if time.monotonic() > stop_at else 0

    driver.set_progress_handler(past_deadline, _SQLITE_STEPS)
    try:
        yield
    except sa.exc.OperationalError as exc:
        if "interrupted" in str(exc.orig) and time.monotonic() > stop_at:
            raise QueryTimeout(seconds) from None
        raise
    finally:
        driver.set_progress_handler(None, _SQLITE_STEPS)
