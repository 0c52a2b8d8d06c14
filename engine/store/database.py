"""The database: one SQLAlchemy engine, its transactions, and what differs per dialect.

SQLite (a file, WAL) is the embedded default; PostgreSQL (through psycopg 3)
is the scale-out database. Everything that differs between the two lives in
this module: connection set-up, transactional DDL, identifier limits and
the JSON column type. The rest of the store asks ``Database`` instead of
looking at the dialect name.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import URL, Connection, Engine, make_url

from engine.core.errors import BusyError, ConflictError
from engine.core.i18n import Label
from engine.store.contention import (
    BACKGROUND,
    WRITING,
    GiveWay,
    WriterQueue,
    begin_paced,
    begin_sqlite,
    busy_error,
    end_paced,
    end_sqlite,
    is_transient,
    release_on_checkin,
)

T = TypeVar("T")

DEFAULT_URL = "sqlite:///instance/qiqiao.sqlite3"
BUSY_TIMEOUT_MS = 5000
# A unit of work that meets a deadlock or a serialization failure before any of
# its transactions committed is run again this many times in all, then answered busy.
RETRY_ATTEMPTS = 3
# An import's batch takes about this long (see import_batch_seconds): on SQLite
# it holds the one write lock; on PostgreSQL its Python work holds the GIL of a
# worker whose requests then wait (50 ms batches: p99 at 32 clients 312-437 ->
# 227-238 ms in bench/load.py, against fixed 1000-row batches).
IMPORT_BATCH_SECONDS = {"sqlite": 0.02, "postgresql": 0.05}
# PostgreSQL truncates identifiers at 63 bytes; SQLite has no limit. Names we
# generate (indexes, constraints, temporary columns) stay under the smaller one.
MAX_IDENTIFIER = 63

# JSON documents: JSONB on PostgreSQL (indexable, compact), JSON text on SQLite.
JSONDocument = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


class Moment(sa.types.TypeDecorator[dt.datetime]):
    """A timestamp column (``created_at``, ``updated_at``): reads back as an
    aware UTC moment on both databases (SQLite keeps no offset).

    A batch writes the same moment into every row; on SQLite, where each
    value is formatted to text, the last formatting is reused instead of
    being redone for each of 100,000 rows.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)  # type: ignore[no-any-return]
        return value if value.tzinfo is dt.UTC else value.astimezone(dt.UTC)  # type: ignore[no-any-return]

    def bind_processor(self, dialect: sa.Dialect) -> Callable[[Any], Any] | None:
        process = self.impl_instance.bind_processor(dialect)
        if process is None:
            return None
        # One (moment, text) pair, swapped whole, so threads never mix halves.
        memo: list[tuple[Any, Any]] = [(None, None)]

        def remember(value: Any) -> Any:
            seen, text = memo[0]
            if value is not seen or value is None:
                text = process(value)
                memo[0] = (value, text)
            return text

        return remember


def normalize_url(url: str | URL) -> URL:
    """``url`` with the driver Qiqiao uses: psycopg 3 for PostgreSQL."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def identifier(*parts: str, prefix: str = "") -> str:
    """A database identifier made of ``parts``, shortened with a stable hash
    when it would pass the PostgreSQL limit (so two long names never collide)."""
    name = "_".join(p for p in (prefix, *parts) if p)
    if len(name) <= MAX_IDENTIFIER:
        return name
    digest = hashlib.sha1(name.encode("utf-8")).hexdigest()[:8]
    return f"{name[: MAX_IDENTIFIER - 9]}_{digest}"


class Database:
    """A database Qiqiao runs on, made from a URL.

    Created once per process (the runtime's app factory, a CLI command, a
    test fixture) and shared; it is thread-safe the way a SQLAlchemy engine is.
    """

    def __init__(self, url: str | URL = DEFAULT_URL, *, echo: bool = False,
                 busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> None:
        self.url = normalize_url(url)
        # How long an SQLite writer waits for its turn before the write is refused as busy.
        self.busy_timeout_ms = busy_timeout_ms
        self.engine: Engine = self._create_engine(echo)

    @classmethod
    def from_url(cls, url: str | URL | None = None, *, echo: bool = False) -> Database:
        """The database at ``url``; ``None`` means the SQLite file default."""
        return cls(url or DEFAULT_URL, echo=echo)

    # --- dialect -----------------------------------------------------------
    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self.engine.dialect.name

    @property
    def import_batch_rows(self) -> int:
        """Records an import writes per transaction by default, at most;
        batches are sized by time (``import_batch_seconds``) up to this. SQLite
        has one write lock for the whole file, held by a batch from start to
        commit: at most 200 rows. PostgreSQL locks rows, and larger batches
        cost less: at most 1000."""
        return 200 if self.is_sqlite else 1000

    @property
    def import_batch_seconds(self) -> float | None:
        """How long an import's batch should take. On SQLite it holds the
        write lock: every other writer that arrives meanwhile waits that long
        (200-row batches of customers held it 45 ms under load, bench/load.py).
        On PostgreSQL its Python work slows the requests of its worker process
        (one thread runs at a time); None: batches of ``import_batch_rows``."""
        return IMPORT_BATCH_SECONDS.get(self.dialect)

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @property
    def is_postgresql(self) -> bool:
        return self.dialect == "postgresql"

    def _create_engine(self, echo: bool) -> Engine:
        if self.url.get_backend_name() == "sqlite":
            return self._create_sqlite_engine(echo)
        engine = sa.create_engine(self.url, echo=echo, pool_pre_ping=True)
        # Background writers (imports) let the process's other database users go first.
        pace = GiveWay(lambda: engine.pool.checkedout() > 1)  # type: ignore[attr-defined]
        sa.event.listen(engine, "begin", lambda connection: begin_paced(connection, pace))
        sa.event.listen(engine, "commit", end_paced)
        sa.event.listen(engine, "rollback", end_paced)

        @sa.event.listens_for(engine, "connect")
        def set_up_postgresql(dbapi_connection: Any, _record: Any) -> None:
            # Sessions speak UTC, so timestamps read back the same whatever
            # the server's own time zone is.
            with dbapi_connection.cursor() as cursor:
                cursor.execute("SET TIME ZONE 'UTC'")
            dbapi_connection.commit()

        return engine

    def _create_sqlite_engine(self, echo: bool) -> Engine:
        database = self.url.database
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(self.url, echo=echo)

        @sa.event.listens_for(engine, "connect")
        def set_up_sqlite(dbapi_connection: Any, _record: Any) -> None:
            # The sqlite3 module starts transactions only before DML, so DDL
            # would run outside them; take over BEGIN (below) to make
            # schema changes atomic.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            if database and database != ":memory:":
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={int(self.busy_timeout_ms)}")
            cursor.close()

        on_disk = bool(database) and database != ":memory:" and not str(database).startswith("file:")
        # This process's writers queue here, in turn, and take a file lock the
        # processes share (see engine.store.contention).
        lock = WriterQueue(f"{database}.writer-lock" if on_disk else None)
        sa.event.listen(engine, "begin", lambda connection: begin_sqlite(connection, lock, self.busy_timeout_ms))
        sa.event.listen(engine, "commit", end_sqlite)
        sa.event.listen(engine, "rollback", end_sqlite)
        sa.event.listen(engine, "checkin", release_on_checkin)
        return engine

    # --- transactions ------------------------------------------------------
    def writer(self, *, background: bool = False) -> Connection:
        """A connection whose transactions write: on SQLite each one takes the
        write lock when it begins (``BEGIN IMMEDIATE``, after this process's
        queue), so it never fails half-way upgrading a read lock. For callers
        that begin and commit batches themselves (an import). A ``background``
        writer's transactions give way to the other writers waiting on SQLite
        (``WriterQueue``)."""
        return self.engine.connect().execution_options(**{WRITING: True, BACKGROUND: background})

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A connection in a write transaction: committed when the block ends,
        rolled back when it raises. A writer that cannot get its turn in time
        raises ``BusyError``."""
        with busy_error(), self.writer() as connection, connection.begin():
            yield connection

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A connection for reads only: one consistent snapshot, rolled back
        at the end (there is nothing to commit, and no commit to wait for).
        On SQLite it takes no write lock and waits for no writer (WAL)."""
        with busy_error(), self.engine.connect() as connection:
            yield connection

    def retrying(self, work: Callable[[], T], attempts: int = RETRY_ATTEMPTS) -> T:
        """``work()``, run again (after a short random pause) when it fails
        with a deadlock or a serialization failure (PostgreSQL) or a busy
        database, as long as none of its transactions has committed yet — a
        unit of work that committed part of itself is not safe to repeat.
        When the attempts are spent, ``BusyError`` (a 503: try again later)."""
        for attempt in range(1, attempts + 1):
            before = _commits()
            try:
                return work()
            except Exception as error:
                if not is_transient(error):
                    raise
                if attempt == attempts or _commits() != before:
                    raise BusyError() from error
                time.sleep(random.uniform(0.01, 0.05) * attempt)  # apart, so they do not meet again
        raise AssertionError("unreachable")

    @contextmanager
    def schema_transaction(self) -> Iterator[Connection]:
        """A transaction for DDL that may rebuild tables.

        On SQLite, rebuilding a table (alembic's batch mode) drops and
        recreates it; with foreign keys enforced the drop would fire
        ``ON DELETE`` actions in the tables that point at it. So foreign key
        enforcement is switched off for the duration (it can only be switched
        outside a transaction), and the keys are checked before commit, the
        procedure SQLite documents for altering tables.
        """
        with self.writer() as connection:
            if not self.is_sqlite:
                with connection.begin():
                    yield connection
                return
            raw = connection.connection.dbapi_connection
            assert raw is not None
            raw.execute("PRAGMA foreign_keys=OFF")
            try:
                with connection.begin():
                    yield connection
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        tables = sorted({str(row[0]) for row in broken})
                        raise ConflictError(
                            Label(
                                f"架构变更会破坏外键：{', '.join(tables)}",
                                f"The schema change would break foreign keys in {', '.join(tables)}",
                            ),
                            details={"tables": tables},
                        )
            finally:
                raw.execute("PRAGMA foreign_keys=ON")

    # --- introspection -------------------------------------------------------
    def table_names(self, connection: Connection | None = None) -> set[str]:
        if connection is not None:
            return set(sa.inspect(connection).get_table_names())
        with self.engine.connect() as conn:
            return set(sa.inspect(conn).get_table_names())

    def column_names(self, table: str, connection: Connection | None = None) -> list[str]:
        """The columns ``table`` has now (empty when it does not exist)."""
        if connection is None:
            with self.engine.connect() as conn:
                return self.column_names(table, conn)
        inspector = sa.inspect(connection)
        if not inspector.has_table(table):
            return []
        return [str(c["name"]) for c in inspector.get_columns(table)]

    def dispose(self) -> None:
        """Close every pooled connection (tests, shutdown)."""
        self.engine.dispose()

    def __repr__(self) -> str:
        return f"Database({self.url.render_as_string(hide_password=True)!r})"


_counter = threading.local()


def _commits() -> int:
    """How many transactions this thread has committed (to tell whether a
    failed unit of work left anything behind)."""
    return int(getattr(_counter, "commits", 0))


@sa.event.listens_for(Engine, "commit")
def _count_commit(_connection: Connection) -> None:
    _counter.commits = _commits() + 1
