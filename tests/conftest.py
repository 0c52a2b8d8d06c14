"""Shared fixtures: a database of each kind Qiqiao runs on.

``database`` is parametrized over SQLite and PostgreSQL, so a test that asks
for it runs on both: a fresh SQLite file, or a fresh schema in a PostgreSQL
server this session starts itself (``initdb`` + ``pg_ctl`` into a temporary
folder, one server for the whole run). ``QIQIAO_TEST_POSTGRES_URL`` points
the tests at an existing server instead. When PostgreSQL cannot be had, the
PostgreSQL tests fail and say why: a skipped test would hide a missing feature.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import os
import pickle
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
import sqlalchemy as sa

from engine.store.database import Database, normalize_url
from engine.store.migrate import upgrade_system_tables

T = TypeVar("T")
POSTGRES_URL_VARIABLE = "QIQIAO_TEST_POSTGRES_URL"
SERVER_USER = "postgres"


# The test files that take longest (a minute or more of a worker's time on a
# busy two-core machine), longest first. They are run first: ``--dist
# loadscope`` hands out files (and classes) in collection order, and a long
# one handed out last keeps one worker busy while the others sit idle.
LONG_FIRST = (
    "tests/records/test_maven.py",
    "tests/api/test_openapi.py",
    "tests/test_bench.py",
    "tests/test_cli.py",
    "tests/org/test_org_cli.py",
    "tests/test_cli_exchange.py",
    "tests/web/test_import_wizard.py",
    "tests/load/test_soak.py",
    "tests/load/test_crash.py",
    "tests/api/test_demo_data.py",
    "tests/api/test_bench_api.py",
    "tests/web/test_admin.py",
    "tests/web/test_flows_pages.py",
    "tests/web/test_flows_pages_phone.py",
    "tests/notify/test_workers.py",
    "tests/api/test_demo.py",
    "tests/api/test_make_demo.py",
    "tests/security/test_auth_audit.py",
    "tests/api/test_contention.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The files of ``LONG_FIRST`` first, in its order. Then the others, with
    the browser tests spread among the first two thirds: they wait more than
    they compute, so they run best beside other tests, and the run ends on
    many short ones that share out evenly among the workers."""
    files = list(dict.fromkeys(_file(item) for item in items))
    first = [f for f in LONG_FIRST if f in files]
    rest = [f for f in files if f not in first]
    browser = [f for f in rest if f.startswith("tests/web/")]
    others = [f for f in rest if not f.startswith("tests/web/")]
    middle = len(others) * 2 // 3
    order = first + _spread(browser, others[:middle]) + others[middle:]
    rank = {path: n for n, path in enumerate(order)}
    items.sort(key=lambda item: rank[_file(item)])


def _file(item: pytest.Item) -> str:
    return item.nodeid.split("::", 1)[0]


def _spread(few: list[str], many: list[str]) -> list[str]:
    """``few`` placed evenly among ``many``, each list in its order."""
    merged: list[str] = []
    for n, path in enumerate(many):
        merged += few[n * len(few) // max(len(many), 1):(n + 1) * len(few) // max(len(many), 1)]
        merged.append(path)
    return merged if many else list(few)


class PostgresUnavailable(RuntimeError):
    pass


def find_binary(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    if candidates:
        return candidates[0]
    raise PostgresUnavailable(
        f"{name} was not found on PATH or in /usr/lib/postgresql/*/bin; install PostgreSQL "
        f"(Debian: apt-get install postgresql) or set {POSTGRES_URL_VARIABLE}"
    )


def free_port() -> int:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PostgresServer:
    """A throwaway PostgreSQL server in a temporary folder."""

    def __init__(self) -> None:
        self.initdb = find_binary("initdb")
        self.pg_ctl = find_binary("pg_ctl")
        self.as_root = os.geteuid() == 0
        self.folder = Path(tempfile.mkdtemp(prefix="qiqiao-pg-"))
        self.data = self.folder / "data"
        self.sockets = self.folder / "sockets"
        self.log = self.folder / "server.log"
        self.port = free_port()
        self.started = False

    def run(self, *command: str) -> None:
        # The server refuses to run as root: run its tools as the postgres user.
        args = ["runuser", "-u", SERVER_USER, "--", *command] if self.as_root else list(command)
        result = subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)
        if result.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise PostgresUnavailable(
                f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout}\n"
                f"{result.stderr}\n{log}"
            )

    def start(self) -> None:
        self.sockets.mkdir()
        if self.as_root:
            try:
                entry = pwd.getpwnam(SERVER_USER)
            except KeyError:
                raise PostgresUnavailable(
                    f"running as root, and there is no '{SERVER_USER}' user to run the server as"
                ) from None
            for path in (self.folder, self.sockets):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        self.folder.chmod(0o700)
        self.run(
            self.initdb,
            "-D",
            str(self.data),
            "-U",
            SERVER_USER,
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        )
        options = (
            f"-p {self.port} -k {self.sockets} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=100"
        )
        self.run(
            self.pg_ctl,
            "-D",
            str(self.data),
            "-l",
            str(self.log),
            "-o",
            options,
            "-w",
            "-t",
            "60",
            "start",
        )
        self.started = True

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{SERVER_USER}@127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        if self.started:
            with contextlib.suppress(PostgresUnavailable):
                self.run(self.pg_ctl, "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)


def admin_execute(url: str, statement: str) -> None:
    engine = sa.create_engine(normalize_url(url), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql(statement)
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """The URL of a PostgreSQL database for this test session (created, and
    dropped at the end, on the session's own server or on the given one)."""
    server: PostgresServer | None = None
    try:
        base = os.environ.get(POSTGRES_URL_VARIABLE)
        if not base:
            server = PostgresServer()
            server.start()
            base = server.url()
        name = f"qiqiao_test_{uuid.uuid4().hex[:8]}"
        admin_execute(base, f'CREATE DATABASE "{name}"')
    except (
        PostgresUnavailable,
        OSError,
        sa.exc.SQLAlchemyError,
        subprocess.SubprocessError,
    ) as exc:
        if server is not None:
            server.stop()
        pytest.fail(
            f"PostgreSQL is needed for these tests and could not be started: {exc}", pytrace=False
        )
    url = normalize_url(base).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with contextlib.suppress(sa.exc.SQLAlchemyError):
            admin_execute(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if server is not None:
            server.stop()


def postgres_schema_database(url: str) -> tuple[Database, str]:
    """A Database on a fresh schema of the session's PostgreSQL database."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin_execute(url, f'CREATE SCHEMA "{schema}"')
    scoped = normalize_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
    return Database(scoped), schema


@pytest.fixture(params=["sqlite", "postgresql"])
def bare_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """An empty database of each kind (no system tables yet)."""
    if request.param == "sqlite":
        database = Database(f"sqlite:///{tmp_path / 'qiqiao.sqlite3'}")
        yield database
        database.dispose()
        return
    url = request.getfixturevalue("postgres_url")
    database, schema = postgres_schema_database(url)
    try:
        yield database
    finally:
        database.dispose()
        admin_execute(url, f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture
def database(bare_database: Database) -> Database:
    """A fresh database of each kind with the system tables migrated."""
    upgrade_system_tables(bare_database)
    return bare_database


# --- snapshots: a set-up made once, copied into each test's fresh database ---


@dataclass(frozen=True)
class Snapshot:
    """Tables and rows to fill a fresh database of one kind with: an SQLite
    file to copy, or a ``pg_dump`` of a PostgreSQL schema to replay under the
    test's schema name. Replaying is several times faster than installing
    the CRM again, which is what most API tests start from."""

    sqlite_file: Path | None = None
    schema: str = ""
    dump: str = ""


def schema_of(database: Database) -> str:
    """The schema a ``postgres_schema_database`` works in."""
    options = str(database.url.query.get("options", ""))
    return options.removeprefix("-csearch_path=")


def libpq_url(database: Database) -> str:
    """The database's URL as psql and pg_dump read it (no driver, no options)."""
    plain = database.url.set(drivername="postgresql", query={})
    return plain.render_as_string(hide_password=False)


def take_snapshot(database: Database, folder: Path) -> Snapshot | None:
    """A snapshot of ``database`` (disposed first); None when PostgreSQL's
    client tools are missing, and the caller sets each database up itself."""
    database.dispose()
    if database.is_sqlite:
        source = Path(str(database.url.database))
        target = folder / "snapshot.sqlite3"
        shutil.copyfile(source, target)
        return Snapshot(sqlite_file=target)
    schema = schema_of(database)
    try:
        result = subprocess.run(
            [find_binary("pg_dump"), "--no-owner", "--no-privileges", "-n", schema, libpq_url(database)],
            capture_output=True, text=True, timeout=120, check=False)
    except (PostgresUnavailable, OSError):
        return None
    return Snapshot(schema=schema, dump=result.stdout) if result.returncode == 0 else None


def restore_snapshot(snapshot: Snapshot, database: Database) -> None:
    """Replace everything in ``database`` (a fresh one of the snapshot's kind)
    with the snapshot's tables and rows."""
    database.dispose()
    if snapshot.sqlite_file is not None:
        target = Path(str(database.url.database))
        for leftover in (Path(f"{target}-wal"), Path(f"{target}-shm")):
            leftover.unlink(missing_ok=True)
        shutil.copyfile(snapshot.sqlite_file, target)
        return
    schema = schema_of(database)
    # The template's name is unique enough never to occur in the rows themselves.
    script = f'DROP SCHEMA "{schema}" CASCADE;\n' + snapshot.dump.replace(snapshot.schema, schema)
    result = subprocess.run(
        [find_binary("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", libpq_url(database)],
        input=script, capture_output=True, text=True, timeout=120, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"restoring a snapshot into {schema} failed: {result.stderr[-2000:]}")


@pytest.fixture(scope="session")
def snapshots() -> dict[tuple[str, str], tuple[Snapshot | None, Any]]:
    """Set-ups made once per session and kind of database (see ``from_snapshot``)."""
    return {}


def _take(kind: str, request: pytest.FixtureRequest, build: Callable[[Database], T]) -> tuple[Snapshot | None, T]:
    folder = request.getfixturevalue("tmp_path_factory").mktemp(f"snapshot-{kind}")
    if kind == "sqlite":
        database = Database(f"sqlite:///{folder / 'qiqiao.sqlite3'}")
        schema = ""
    else:
        postgres_url = request.getfixturevalue("postgres_url")
        database, schema = postgres_schema_database(postgres_url)
    try:
        upgrade_system_tables(database)
        made = build(database)
        return take_snapshot(database, folder), made
    finally:
        database.dispose()
        if schema:
            admin_execute(postgres_url, f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def _shared_folder(request: pytest.FixtureRequest) -> Path:
    """A folder every worker of this test run sees (its own, without xdist)."""
    base = request.getfixturevalue("tmp_path_factory").getbasetemp()
    folder = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "shared-snapshots"
    folder.mkdir(exist_ok=True)
    return folder


def _take_once(name: str, kind: str, request: pytest.FixtureRequest,
               build: Callable[[Database], T]) -> tuple[Snapshot | None, T]:
    """``_take`` once for all the workers of this run: the first to ask builds
    and keeps the snapshot and what ``build`` returned in a shared folder;
    the others wait for it there and read it (a set-up that cannot be
    pickled is made by each worker itself)."""
    stem = _shared_folder(request) / f"{name}-{kind}"
    kept = stem.with_suffix(".pickle")
    with open(stem.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if kept.exists():
            return pickle.loads(kept.read_bytes())  # type: ignore[no-any-return]
        snapshot, made = _take(kind, request, build)
        if snapshot is not None and snapshot.sqlite_file is not None:
            shared = stem.with_suffix(".sqlite3")
            shutil.copyfile(snapshot.sqlite_file, shared)
            snapshot = Snapshot(sqlite_file=shared)
        try:
            data = pickle.dumps((snapshot, made))
        except (pickle.PicklingError, TypeError, AttributeError):
            return snapshot, made
        partial = stem.with_suffix(".partial")
        partial.write_bytes(data)
        partial.replace(kept)
        return snapshot, made


def from_snapshot(request: pytest.FixtureRequest, database: Database, name: str,
                  build: Callable[[Database], T]) -> T:
    """What ``build`` sets up (and returns), in ``database``: a fresh database
    of either kind, with or without system tables. The first test of a run
    (of any worker) to ask builds it once in a database of its own and keeps
    a snapshot; the others get a copy of that, much faster than installing
    the CRM and hashing passwords again."""
    snapshots = request.getfixturevalue("snapshots")
    key = (name, database.dialect)
    if key not in snapshots:
        snapshots[key] = _take_once(name, database.dialect, request, build)
    snapshot, made = snapshots[key]
    if snapshot is None:  # no pg_dump here: set it up the slow way
        upgrade_system_tables(database)
        return build(database)
    restore_snapshot(snapshot, database)
    return made  # type: ignore[no-any-return]
