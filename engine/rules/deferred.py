"""Skipped runs, written after the write that fired them commits, off its path.

Every rule of a form hears each write of it, and most of them are skipped by
their condition. A row per skipped rule inside the write made every create
pay for rules that did nothing: 10 skipped rules cost a create 2.6x on
SQLite (bench/rules.py), and even written later in bulk a row costs 12-25
µs of index upkeep, a quarter of a create per ten rules. So the rule engine
hands an event's skips to the connection (``defer``) as one small entry (a
tuple, nothing formatted); they follow its transaction — dropped with a
rolled-back savepoint or transaction, moved to this process's buffer when it
commits — and a background thread writes the buffer every ``INTERVAL``
seconds: per rule, one ordinary run row when it was skipped once, else one
row that counts the skips and names their records (``runs.write_skipped``
builds the rows from the entries, off the write's path). Whoever reads the
run log flushes first, so the log is whole when read.

What can be lost is the last interval's skips when the process dies: they
record that nothing happened. Done, failed and cut runs are written in the
write's transaction.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import threading
import weakref
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from engine.store.contention import WRITING
from engine.store.database import Database

INTERVAL = 0.5
BATCH = 2000  # entries (events with skips) that wake the writer before its interval
_ROWS = "qiqiao_deferred_runs"
# Writes the entries (in commit order) in the caller's transaction.
Writer = Callable[[Connection, list[Any]], None]
_MARKS = "qiqiao_deferred_marks"


class DeferredRuns:
    """The deferred skipped runs of one database (see the module docstring)."""

    def __init__(self, database: Database, write: Writer) -> None:
        self.database = database
        self.write = write
        # The entries committed since the last flush, in commit order.
        self._buffer: list[Any] = []
        self._lock = threading.Lock()
        self._writing = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        engine = database.engine
        sa.event.listen(engine, "commit", self._committed)
        sa.event.listen(engine, "rollback", self._rolled_back)
        sa.event.listen(engine, "savepoint", self._savepoint)
        sa.event.listen(engine, "rollback_savepoint", self._savepoint_rolled_back)
        sa.event.listen(engine, "release_savepoint", self._savepoint_released)
        _LOGS.add(self)
        _BY_ENGINE[engine] = self

    @property
    def waiting(self) -> bool:
        """Whether committed rows wait to be written."""
        return bool(self._buffer)

    def defer(self, conn: Connection, entry: Any) -> None:
        """Keep ``entry`` with ``conn``'s transaction until it ends."""
        conn.info.setdefault(_ROWS, []).append(entry)

    def flush(self) -> int:
        """Write what committed transactions left; how many entries."""
        with self._writing:
            with self._lock:
                entries, self._buffer = self._buffer, []
            if entries:
                try:
                    with self.database.transaction() as conn:
                        self.write(conn, entries)
                except Exception:
                    with self._lock:  # kept for the next flush, in order
                        self._buffer[:0] = entries
                    raise
            return len(entries)

    # --- the transaction's end ------------------------------------------------
    def _committed(self, conn: Connection) -> None:
        info = conn.info
        entries = info.pop(_ROWS, None)
        if _MARKS in info:
            del info[_MARKS]
        if not entries:
            return
        with self._lock:
            self._buffer.extend(entries)
            full = len(self._buffer) >= BATCH
        self._start()
        if full:
            self._wake.set()

    @staticmethod
    def _rolled_back(conn: Connection) -> None:
        conn.info.pop(_ROWS, None)
        conn.info.pop(_MARKS, None)

    @staticmethod
    def _savepoint(conn: Connection, name: str) -> None:
        conn.info.setdefault(_MARKS, []).append(len(conn.info.get(_ROWS, ())))

    @staticmethod
    def _savepoint_rolled_back(conn: Connection, name: str, context: Any) -> None:
        marks = conn.info.get(_MARKS)
        if marks:
            del conn.info.setdefault(_ROWS, [])[marks.pop():]

    @staticmethod
    def _savepoint_released(conn: Connection, name: str, context: Any) -> None:
        marks = conn.info.get(_MARKS)
        if marks:
            marks.pop()

    # --- the writer thread ----------------------------------------------------
    def _start(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            with self._lock:
                if self._thread is None or not self._thread.is_alive():
                    self._thread = threading.Thread(target=self._run, name="qiqiao-rule-runs", daemon=True)
                    self._thread.start()

    def _run(self) -> None:
        while True:
            self._wake.wait(INTERVAL)
            self._wake.clear()
            try:
                if not self.flush():
                    return  # idle: the next commit starts a new thread
            except Exception:  # a busy or closed database: the rows wait for the next flush
                logging.getLogger("qiqiao.rules").exception("writing skipped rule runs failed")
                return


_LOGS: weakref.WeakSet[DeferredRuns] = weakref.WeakSet()
_BY_ENGINE: weakref.WeakKeyDictionary[Engine, DeferredRuns] = weakref.WeakKeyDictionary()


def flush_before_reading(conn: Connection) -> None:
    """Write the waiting skipped runs of ``conn``'s database before it reads
    the log — unless ``conn`` holds SQLite's write turn (the flush would wait
    for it): the reader then sees what was written so far."""
    log = _BY_ENGINE.get(conn.engine)
    if log is None or not log.waiting:
        return
    if conn.engine.dialect.name == "sqlite" and conn.get_execution_options().get(WRITING):
        return
    log.flush()


def deferred_runs(database: Database, write: Writer) -> DeferredRuns:
    """The deferred log of ``database`` (one per database, made on first use)."""
    found: DeferredRuns | None = database.__dict__.get("_deferred_runs")
    if found is None:
        with _CREATING:
            found = database.__dict__.get("_deferred_runs")
            if found is None:
                found = database.__dict__["_deferred_runs"] = DeferredRuns(database, write)
    return found


_CREATING = threading.Lock()


@atexit.register
def _flush_all() -> None:
    for log in list(_LOGS):
        with contextlib.suppress(Exception):  # the database may be gone at exit: nothing else to do
            log.flush()
