"""Import jobs in the engine (engine.records.import_jobs), on SQLite and
PostgreSQL: a job queued but not yet run, and a job whose process is killed
in the middle of the import."""

from __future__ import annotations

import datetime as dt
import io
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

from engine.composition import compose
from engine.core.clock import FixedClock, SystemClock
from engine.core.errors import ConflictError
from engine.records import Actor
from engine.records.import_jobs import ImportJobs
from engine.records.importing import ImportOptions
from engine.store.database import Database
from engine.store.files import LocalFolderStorage
from tests.api.conftest import populate

SYSTEM = Actor(None, "import")
CUSTOMERS = sa.table("crm_customer", sa.column("id"))


class HeldRunner:
    """Runs nothing until told to: a job stays queued as long as the test wants."""

    def __init__(self) -> None:
        self.held: dict[int, Callable[[], None]] = {}

    def submit(self, job_id: int, work: Callable[[], None]) -> None:
        self.held[job_id] = work


def names_csv(count: int) -> bytes:
    return ("客户名称\n" + "".join(f"Killed {i:05d}\n" for i in range(count))).encode()


def customers(database: Database) -> int:
    with database.reading() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(CUSTOMERS)).scalar_one())


def jobs_on(database: Database, folder: Path, **settings: object) -> ImportJobs:
    engine = compose(database)
    return ImportJobs(database, engine.records.get, LocalFolderStorage(folder, database), **settings)  # type: ignore[arg-type]


def test_a_queued_job_can_be_cancelled_and_has_no_failed_rows_yet(database: Database, tmp_path: Path) -> None:
    populate(database, passwords=False)
    runner = HeldRunner()
    jobs = jobs_on(database, tmp_path / "files", runner=runner)
    info = jobs.store_file(io.BytesIO(names_csv(3)), "names.csv", actor=SYSTEM)
    job = jobs.start("crm", "customer", info.id, ImportOptions(on_error="skip"), actor=SYSTEM)
    assert job.status == "queued" and job.options["format"] == "csv"
    assert [j.id for j in jobs.recent("crm", actor=SYSTEM)] == [job.id]
    with pytest.raises(ConflictError):
        jobs.write_failed_rows(job.id, io.BytesIO(), actor=SYSTEM)
    cancelled = jobs.cancel(job.id, actor=SYSTEM)
    assert cancelled.status == "cancelled" and cancelled.finished_at is not None
    runner.held[job.id]()  # the runner comes round to it: it is not run
    assert jobs.get(job.id, actor=SYSTEM).status == "cancelled" and customers(database) == 0
    with pytest.raises(ConflictError):  # cancelled before it began: no report
        jobs.write_failed_rows(job.id, io.BytesIO(), actor=SYSTEM)


RUN_AND_BE_KILLED = """
import sys
from engine.composition import compose
from engine.records import Actor
from engine.records.import_jobs import ImportJobs, ThreadRunner
from engine.records.importing import ImportOptions
from engine.store.database import Database
from engine.store.files import LocalFolderStorage

database = Database(sys.argv[1])
runner = ThreadRunner()
jobs = ImportJobs(database, compose(database).records.get, LocalFolderStorage(sys.argv[2], database),
                  runner=runner, beat_seconds=0.2)
job = jobs.start("crm", "customer", sys.argv[3], ImportOptions(batch_size=50), actor=Actor(None, "import"))
print(job.id, flush=True)
runner.join(job.id)
"""


def test_a_job_whose_process_died_is_marked_failed(database: Database, tmp_path: Path) -> None:
    populate(database, passwords=False)
    folder = tmp_path / "files"
    # The observer's clock stands still while the child runs (its beats, every
    # 0.2 s, are in real time) and is moved past the staleness once it is dead.
    clock = FixedClock(SystemClock().now())
    jobs = jobs_on(database, folder, stale_seconds=3.0, clock=clock)
    info = jobs.store_file(io.BytesIO(names_csv(20_000)), "many.csv", actor=SYSTEM)
    url = database.url.render_as_string(hide_password=False)
    child = subprocess.Popen([sys.executable, "-c", RUN_AND_BE_KILLED, url, str(folder), info.id],
                             stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[2])
    try:
        assert child.stdout is not None
        job_id = int(child.stdout.readline())
        deadline = time.monotonic() + 60
        while jobs.get(job_id, actor=SYSTEM).processed_rows == 0:
            assert time.monotonic() < deadline and child.poll() is None
            time.sleep(0.01)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait()
    assert jobs.get(job_id, actor=SYSTEM).status == "running"  # not yet silent for long
    clock.set(SystemClock().now() + dt.timedelta(seconds=3.5))
    job = jobs.get(job_id, actor=SYSTEM)
    assert job.status == "failed" and job.finished_at is not None, job
    assert job.error is not None and "process running the import stopped" in job.error.en
    assert "已写入的批次保留" in job.error.zh
    written = customers(database)
    # Every batch it reported is written (a batch may have been committed just before its report).
    assert 0 < job.counts["created"] == job.processed_rows <= written < 20_000
    assert jobs.reap() == 0
