"""Writers that meet: SQLite's write queue, and which database errors mean
"busy, try again" rather than a bug.

SQLite allows one writer at a time. A transaction opened with a plain
(deferred) ``BEGIN`` that reads first and writes later must upgrade its read
lock; under WAL a second writer cannot wait for that upgrade (SQLite answers
"database is locked" at once, whatever the busy timeout), which made
concurrent writes fail. So write transactions begin with ``BEGIN
IMMEDIATE``: they take the write lock up front and wait for it within the
busy timeout. Inside one process they first queue on a lock of their own,
which wakes the next writer as soon as the last one ends (SQLite's busy
handler polls, sleeping up to 100 ms between tries); processes queue on
SQLite's lock. Read-only work keeps its deferred ``BEGIN`` and its snapshot,
and never waits for a writer.

PostgreSQL writers wait on row locks; two that lock the same rows in
opposite orders are told "deadlock detected" (or, at a stricter isolation,
"could not serialize"): the unit of work is safe to run again from the
start (``Database.retrying``).
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.core.errors import BusyError

WRITING = "qiqiao_writing"  # the execution option that marks a connection's transactions as writes
# The execution option that marks a writer as background work (an import): it gives way to the others.
BACKGROUND = "qiqiao_background"
_HELD = "qiqiao_write_lock"  # in the connection's info while it holds its process's write lock
_PACED = "qiqiao_paced"  # in the connection's info during a background transaction on PostgreSQL
# SQLSTATEs of PostgreSQL errors after which the transaction may simply be run again.
RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})  # deadlock_detected, serialization_failure
_SQLITE_BUSY = ("database is locked", "database table is locked", "database is busy")


class GiveWay:
    """Background work (an import's batches) that lets others go first:
    before each of its transactions it waits while ``others()`` says others
    are busy, up to ``RATIO`` times as long as its last transaction took (at
    most ``MOST_SECONDS``). Under steady load it then keeps about a fifth of
    what it competes for, and is never starved; with nobody else busy it
    does not wait at all."""

    RATIO = 4
    MOST_SECONDS = 0.1
    POLL_SECONDS = 0.001

    def __init__(self, others: Callable[[], bool]) -> None:
        self.others = others
        self._since = 0.0
        self._last = self.MOST_SECONDS / self.RATIO  # before the first transaction: a guess

    def wait(self, timeout: float) -> None:
        until = time.monotonic() + min(timeout, self.MOST_SECONDS, self.RATIO * self._last)
        while self.others() and time.monotonic() < until:
            time.sleep(self.POLL_SECONDS)

    def started(self) -> None:
        self._since = time.monotonic()

    def ended(self) -> None:
        self._last = time.monotonic() - self._since


class WriterQueue:
    """This process's writers in a queue, and, for a database file, the
    queue's head taking a file lock that the processes share.

    ``threading.Lock`` wakes no one in particular: a writer that releases it
    and at once asks again (an import, batch after batch) mostly gets it
    back, and the writers that were waiting wait on, up to the busy timeout.
    Here a release hands the lock to the oldest waiter directly.

    Between processes SQLite's own busy handler polls, sleeping up to 100 ms
    between tries, which made a second worker's writers wait long after the
    lock was free. The head of each process's queue instead polls an
    ``flock`` next to the database every half millisecond: the wait for
    another process's writer ends about when its transaction does.

    A background writer (an import's batches) gives way (``GiveWay``)
    while other writers wait for or hold the lock, in any process: an
    import then keeps a fifth of the lock's time under steady load instead
    of a third or more (it took a turn in every round of the queue, each
    writer behind a batch waiting for it). A process shows that it has
    other writers by a shared ``flock`` on a second file, which a background
    writer probes.
    """

    POLL_SECONDS = 0.0005

    def __init__(self, lock_path: str | None = None) -> None:
        self._mutex = threading.Lock()
        self._waiters: deque[threading.Lock] = deque()
        self._held = False
        self._lock_path = lock_path
        self._files: dict[str, tuple[int, int]] = {}  # path -> (pid, descriptor): a forked child opens its own
        self._foreground = 0  # this process's writers, not background, waiting for or holding the lock
        self._holder_background = False
        self.background = GiveWay(self.others_writing)

    def acquire(self, timeout: float, *, background: bool = False) -> bool:
        """Take the lock within ``timeout`` seconds; False when it did not come."""
        deadline = time.monotonic() + timeout
        if background:
            self.background.wait(timeout / 2)
        else:
            self._enter_foreground()
        if not self._take_turn(max(0.0, deadline - time.monotonic())):
            if not background:
                self._leave_foreground()
            return False
        self._holder_background = background
        if self._lock_path is None:
            self.background.started()
            return True
        descriptor = self._descriptor(self._lock_path)
        while True:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                self.background.started()
                return True
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    self._release_turn()
                    return False
                time.sleep(self.POLL_SECONDS)

    def release(self) -> None:
        if self._lock_path is not None:
            fcntl.flock(self._descriptor(self._lock_path), fcntl.LOCK_UN)
        self._release_turn()

    def _release_turn(self) -> None:
        if self._holder_background:
            self.background.ended()
        else:
            self._leave_foreground()
        self._pass_turn()

    def _descriptor(self, path: str, name: str | None = None) -> int:
        """This process's descriptor of ``path`` (another one under another ``name``)."""
        pid = os.getpid()
        found = self._files.get(name or path)
        if found is None or found[0] != pid:
            found = self._files[name or path] = (pid, os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
        return found[1]

    # --- giving way -----------------------------------------------------------
    def _enter_foreground(self) -> None:
        with self._mutex:
            self._foreground += 1
            if self._foreground == 1 and self._lock_path is not None:
                fcntl.flock(self._descriptor(f"{self._lock_path}-waiting"), fcntl.LOCK_SH)

    def _leave_foreground(self) -> None:
        with self._mutex:
            self._foreground -= 1
            if self._foreground == 0 and self._lock_path is not None:
                fcntl.flock(self._descriptor(f"{self._lock_path}-waiting"), fcntl.LOCK_UN)

    def others_writing(self) -> bool:
        """Whether writers other than background ones wait for or hold the lock, in any process."""
        if self._foreground:
            return True
        if self._lock_path is None:
            return False
        # A descriptor of its own: a lock on another open file conflicts even
        # with this process's shared lock.
        probe = self._descriptor(f"{self._lock_path}-waiting", "probe")
        try:
            fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(probe, fcntl.LOCK_UN)
        return False

    # --- the in-process queue ----------------------------------------------------
    def _take_turn(self, timeout: float) -> bool:
        with self._mutex:
            if not self._held:
                self._held = True
                return True
            turn = threading.Lock()
            turn.acquire()
            self._waiters.append(turn)
        if turn.acquire(timeout=timeout):
            return True  # handed over by ``_pass_turn``
        with self._mutex:
            if turn in self._waiters:
                self._waiters.remove(turn)
                return False
        return True  # handed over just as the wait ran out: ours after all

    def _pass_turn(self) -> None:
        with self._mutex:
            if self._waiters:
                self._waiters.popleft().release()  # stays held: it passes to the next writer
            else:
                self._held = False


def begin_sqlite(connection: Connection, lock: WriterQueue, timeout_ms: int) -> None:
    """Begin a transaction on SQLite (the ``begin`` event; the sqlite3 module's
    own transaction handling is off): a writer queues for the lock, then takes
    SQLite's write lock up front; a reader takes a snapshot when it first reads."""
    options = connection.get_execution_options()
    if not options.get(WRITING):
        connection.exec_driver_sql("BEGIN")
        return
    if not lock.acquire(timeout=timeout_ms / 1000, background=bool(options.get(BACKGROUND))):
        raise BusyError()
    connection.info[_HELD] = lock
    try:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    except BaseException:
        end_sqlite(connection)
        raise


def begin_paced(connection: Connection, pace: GiveWay) -> None:
    """A transaction begins on PostgreSQL (the ``begin`` event): a background
    writer first lets the requests of its process that use the database go
    first. It blocks no one's rows, but its Python work (a batch of a
    thousand records) holds the process's GIL, which the requests wait for."""
    if connection.get_execution_options().get(BACKGROUND):
        pace.wait(GiveWay.MOST_SECONDS)
        connection.info[_PACED] = pace
        pace.started()


def end_paced(connection: Connection) -> None:
    pace = connection.info.pop(_PACED, None)
    if pace is not None:
        pace.ended()


def end_sqlite(connection: Connection) -> None:
    """A transaction ended (commit or rollback): the next writer's turn."""
    held = connection.info.pop(_HELD, None)
    if held is not None:
        held.release()


def release_on_checkin(_dbapi_connection: Any, record: Any) -> None:
    """A connection went back to the pool still holding the lock (its
    transaction was never ended, e.g. invalidated): release it anyway."""
    held = record.info.pop(_HELD, None)
    if held is not None:
        held.release()


def is_sqlite_busy(error: BaseException) -> bool:
    return isinstance(error, sa.exc.OperationalError) and any(
        text in str(error.orig) for text in _SQLITE_BUSY)


def is_transient(error: BaseException) -> bool:
    """A deadlock or serialization failure: the transaction was rolled back
    and may be run again as it was."""
    if not isinstance(error, sa.exc.DBAPIError):
        return False
    return getattr(error.orig, "sqlstate", None) in RETRYABLE_SQLSTATES


def as_busy(error: BaseException) -> BusyError | None:
    """The ``BusyError`` a database error amounts to, if it is one of "busy"."""
    if isinstance(error, BusyError):
        return error
    if is_sqlite_busy(error) or is_transient(error):
        return BusyError()
    return None


@contextmanager
def busy_error() -> Iterator[None]:
    """SQLite's "database is locked" (a writer that waited the busy timeout
    in vain) raised as ``BusyError``."""
    try:
        yield
    except sa.exc.OperationalError as error:
        if is_sqlite_busy(error):
            raise BusyError() from error
        raise
