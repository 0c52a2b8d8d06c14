"""Writers that meet, in the store: a PostgreSQL deadlock is run again (a
bounded number of times, then busy), a unit of work that committed part of
itself is not; SQLite writers of one process queue instead of failing."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa

from engine.core.errors import BusyError
from engine.store.database import Database
from tests.conftest import admin_execute, postgres_schema_database

ROWS = sa.table("pair", sa.column("id"), sa.column("touched"))


@pytest.fixture
def postgres(postgres_url: str) -> Iterator[Database]:
    database, schema = postgres_schema_database(postgres_url)
    with database.transaction() as conn:
        conn.exec_driver_sql("CREATE TABLE pair (id integer PRIMARY KEY, touched integer NOT NULL)")
        conn.exec_driver_sql("INSERT INTO pair VALUES (1, 0), (2, 0)")
    try:
        yield database
    finally:
        database.dispose()
        admin_execute(postgres_url, f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def touch(conn: sa.Connection, row: int) -> None:
    conn.execute(ROWS.update().where(ROWS.c.id == row).values(touched=ROWS.c.touched + 1))


def test_a_deadlock_is_run_again_and_both_writers_land(postgres: Database) -> None:
    meet = threading.Barrier(2)
    attempts = [0, 0]

    def writer(first: int) -> str:
        def work() -> str:
            attempts[first - 1] += 1
            with postgres.transaction() as conn:
                touch(conn, first)
                if attempts[first - 1] == 1:
                    meet.wait()  # both hold their first row: each now waits for the other's
                touch(conn, 3 - first)
            return "done"

        return postgres.retrying(work)

    with ThreadPoolExecutor(2) as pool:
        assert list(pool.map(writer, (1, 2))) == ["done", "done"]
    assert sorted(attempts) == [1, 2]  # the deadlock's victim ran once more
    with postgres.reading() as conn:
        assert conn.execute(sa.select(ROWS.c.touched).order_by(ROWS.c.id)).scalars().all() == [2, 2]


def deadlock() -> sa.exc.OperationalError:
    class Orig(Exception):
        sqlstate = "40P01"

    return sa.exc.OperationalError("UPDATE", {}, Orig("deadlock detected"))


def test_a_deadlock_that_keeps_recurring_is_busy_after_the_attempts(postgres: Database) -> None:
    runs = []

    def work() -> None:
        runs.append(1)
        raise deadlock()

    with pytest.raises(BusyError) as busy:
        postgres.retrying(work, attempts=3)
    assert len(runs) == 3 and busy.value.code == "busy" and busy.value.retry_after == 1


def test_work_that_committed_part_of_itself_is_not_run_again(postgres: Database) -> None:
    runs = []

    def work() -> None:
        runs.append(1)
        with postgres.transaction() as conn:
            touch(conn, 1)
        raise deadlock()

    with pytest.raises(BusyError):
        postgres.retrying(work)
    assert len(runs) == 1
    with postgres.reading() as conn:
        assert conn.execute(sa.select(ROWS.c.touched).where(ROWS.c.id == 1)).scalar_one() == 1


def test_sqlite_writers_queue_and_readers_do_not_wait(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'queue.sqlite3'}", busy_timeout_ms=5000)
    with database.transaction() as conn:
        conn.exec_driver_sql("CREATE TABLE pair (id integer PRIMARY KEY, touched integer NOT NULL)")
        conn.exec_driver_sql("INSERT INTO pair VALUES (1, 0), (2, 0)")

    def writer(_: int) -> None:
        # Read, then write: under a deferred BEGIN two of these fail at once
        # with "database is locked" (the read lock cannot be upgraded).
        with database.transaction() as conn:
            seen = conn.execute(sa.select(ROWS.c.touched).where(ROWS.c.id == 1)).scalar_one()
            conn.execute(ROWS.update().where(ROWS.c.id == 1).values(touched=seen + 1))

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(writer, range(200)))
    with database.transaction() as held:
        touch(held, 2)
        with database.reading() as conn:  # a reader sees its snapshot while a writer holds the lock
            assert conn.execute(sa.select(ROWS.c.touched).order_by(ROWS.c.id)).scalars().all() == [200, 0]
    database.dispose()


def test_an_sqlite_writer_that_waits_in_vain_is_busy(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'busy.sqlite3'}", busy_timeout_ms=100)
    with database.transaction() as conn:
        conn.exec_driver_sql("CREATE TABLE pair (id integer PRIMARY KEY, touched integer NOT NULL)")
    entered, release = threading.Event(), threading.Event()

    def hold() -> None:
        with database.transaction():
            entered.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    entered.wait(10)
    try:
        with pytest.raises(BusyError), database.transaction() as conn:  # same process: its queue
            conn.exec_driver_sql("INSERT INTO pair VALUES (3, 0)")
        other = Database(database.url, busy_timeout_ms=100)  # as another process would: SQLite's lock
        with pytest.raises(BusyError), other.transaction() as conn:
            conn.exec_driver_sql("INSERT INTO pair VALUES (4, 0)")
        other.dispose()
    finally:
        release.set()
        holder.join()
    with database.transaction() as conn:  # the lock was given back
        conn.exec_driver_sql("INSERT INTO pair VALUES (5, 0)")
    database.dispose()


def test_the_writer_queue_hands_the_lock_to_waiters_in_the_order_they_came() -> None:
    from engine.store.contention import WriterQueue

    queue = WriterQueue()
    assert queue.acquire(timeout=1)
    order: list[str] = []

    def writer(name: str) -> None:
        assert queue.acquire(timeout=5)
        order.append(name)
        queue.release()

    waiting = []
    for name in ("first", "second", "third"):
        thread = threading.Thread(target=writer, args=(name,))
        thread.start()
        waiting.append(thread)
        deadline = time.monotonic() + 5
        while len(queue._waiters) < len(waiting):  # each is in the queue before the next comes
            assert time.monotonic() < deadline
            time.sleep(0.001)
    queue.release()
    # The releasing thread asks again at once: it goes behind those waiting (a
    # plain Lock mostly gives it straight back, and an import starves the rest).
    assert queue.acquire(timeout=5)
    order.append("again")
    queue.release()
    for thread in waiting:
        thread.join()
    assert order == ["first", "second", "third", "again"]


def test_the_writer_queue_gives_up_after_its_timeout_and_stays_usable() -> None:
    from engine.store.contention import WriterQueue

    queue = WriterQueue()
    assert queue.acquire(timeout=1)
    started = time.monotonic()
    assert not queue.acquire(timeout=0.05)
    assert 0.04 <= time.monotonic() - started < 2
    queue.release()
    assert queue.acquire(timeout=0.05)
    queue.release()


def test_writers_of_two_processes_take_turns_through_the_file_lock(tmp_path: Path) -> None:
    from engine.store.contention import WriterQueue

    lock_path = tmp_path / "db.sqlite3.writer-lock"
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time\nfrom engine.store.contention import WriterQueue\n"
         f"q = WriterQueue({str(lock_path)!r})\nassert q.acquire(timeout=5)\n"
         "print('held', flush=True)\nsys.stdin.readline()\nq.release()\nprint('released', flush=True)\n"
         "sys.stdin.readline()\n"],
        cwd=Path(__file__).resolve().parents[2], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdin is not None
        assert holder.stdout.readline().strip() == "held"
        queue = WriterQueue(str(lock_path))
        assert queue.others_writing()  # what a background writer here gives way to
        assert not queue.acquire(timeout=0.1)  # the other process's writer holds it
        holder.stdin.write("\n")
        holder.stdin.flush()
        assert holder.stdout.readline().strip() == "released"
        assert not queue.others_writing()
        assert queue.acquire(timeout=1)
        queue.release()
    finally:
        holder.kill()
        holder.wait()


def test_a_background_writer_gives_way_to_writers_that_come_after_it() -> None:
    from engine.store.contention import WriterQueue

    queue = WriterQueue()
    assert queue.acquire(timeout=1)  # someone's edit holds the lock
    order: list[str] = []

    def writer(name: str, background: bool) -> None:
        assert queue.acquire(timeout=5, background=background)
        order.append(name)
        queue.release()

    importer = threading.Thread(target=writer, args=("import", True))
    importer.start()
    time.sleep(0.02)  # the import waits first (in a plain queue it would go first)
    editor = threading.Thread(target=writer, args=("edit", False))
    editor.start()
    deadline = time.monotonic() + 5
    while len(queue._waiters) < 1:
        assert time.monotonic() < deadline
        time.sleep(0.001)
    queue.release()
    for thread in (importer, editor):
        thread.join()
    assert order == ["edit", "import"]


def test_a_background_writer_is_not_starved_by_a_steady_stream_of_writers() -> None:
    from engine.store.contention import GiveWay, WriterQueue

    queue = WriterQueue()
    stop = threading.Event()

    def busy() -> None:  # two writers that keep the lock wanted all the time
        while not stop.is_set():
            assert queue.acquire(timeout=5)
            time.sleep(0.002)
            queue.release()

    writers = [threading.Thread(target=busy) for _ in range(2)]
    for thread in writers:
        thread.start()
    try:
        time.sleep(0.02)
        assert queue.others_writing()
        waits = []
        for hold in (0.005, 0):
            started = time.monotonic()
            assert queue.acquire(timeout=5, background=True)
            waits.append(time.monotonic() - started)
            time.sleep(hold)
            queue.release()
    finally:
        stop.set()
        for thread in writers:
            thread.join()
    # The first waits the longest it may; the next as many times as long as the one before held the lock.
    assert GiveWay.MOST_SECONDS * 0.9 <= waits[0] < GiveWay.MOST_SECONDS + 1, waits
    assert GiveWay.RATIO * 0.005 * 0.9 <= waits[1] < GiveWay.MOST_SECONDS * 0.9, waits
    assert not queue.others_writing()


def test_a_background_writer_on_postgresql_lets_the_process_s_other_database_users_go_first(
        postgres: Database) -> None:
    from engine.store.contention import GiveWay

    def background_transaction() -> float:
        started = time.monotonic()
        with postgres.writer(background=True) as conn, conn.begin():
            touch(conn, 1)
        return time.monotonic() - started

    background_transaction()  # the pool has its connections: what follows times waiting only
    with postgres.reading() as other:  # a request of this process is using the database
        other.execute(sa.select(ROWS.c.touched)).all()
        waited = background_transaction()
    alone = background_transaction()
    # It waited up to four times as long as its last transaction took, then took as long again.
    assert GiveWay.RATIO > 2 and waited > 2 * alone, (waited, alone)
    with postgres.reading() as conn:
        assert conn.execute(sa.select(ROWS.c.touched).where(ROWS.c.id == 1)).scalar_one() == 3
