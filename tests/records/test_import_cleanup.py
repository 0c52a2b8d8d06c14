"""Old imports are cleaned up (engine.records.import_cleanup), on SQLite and
PostgreSQL: at the start of an import, finished jobs older than a week go with
their files; a job still queued and a file a kept job names stay; and
``qiqiao imports clean --older-than`` does it on demand."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.core.clock import FixedClock
from engine.core.errors import NotFoundError
from engine.records.import_jobs import ImportJobs
from engine.store.database import Database
from engine.store.files import LocalFolderStorage
from runtime.cli import main
from tests.records.test_import_jobs import SYSTEM, HeldRunner, jobs_on, names_csv

MONDAY = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)


def _file(jobs: ImportJobs, name: str) -> str:
    return jobs.store_file(io.BytesIO(names_csv(2)), name, actor=SYSTEM).id


def test_an_import_start_removes_finished_jobs_older_than_a_week_with_their_files(
        database: Database, tmp_path: Path) -> None:
    from tests.api.conftest import populate

    populate(database, passwords=False)
    folder = tmp_path / "files"
    then = jobs_on(database, folder, runner=HeldRunner(), clock=FixedClock(MONDAY))
    old_file, shared_file = _file(then, "old.csv"), _file(then, "shared.csv")
    old = then.cancel(then.start("crm", "customer", old_file, actor=SYSTEM).id, actor=SYSTEM)
    waiting = then.start("crm", "customer", shared_file, actor=SYSTEM)  # still queued: kept, with its file
    sharing = then.cancel(then.start("crm", "customer", shared_file, actor=SYSTEM).id, actor=SYSTEM)

    # Six days on, nothing is old enough yet.
    soon = jobs_on(database, folder, runner=HeldRunner(), clock=FixedClock(MONDAY + dt.timedelta(days=6)))
    recent = soon.start("crm", "customer", _file(soon, "recent.csv"), actor=SYSTEM)
    assert {j.id for j in soon.recent("crm", actor=SYSTEM)} == {old.id, waiting.id, sharing.id, recent.id}

    later = jobs_on(database, folder, runner=HeldRunner(), clock=FixedClock(MONDAY + dt.timedelta(days=8)))
    later.start("crm", "customer", _file(later, "new.csv"), actor=SYSTEM)
    left = {j.id for j in later.recent("crm", actor=SYSTEM)}
    assert old.id not in left and sharing.id not in left
    assert {waiting.id, recent.id} <= left
    storage = LocalFolderStorage(folder, database)
    with pytest.raises(NotFoundError):
        storage.info(old_file)
    assert storage.info(shared_file).name == "shared.csv"  # the queued job still names it
    with pytest.raises(NotFoundError):
        later.get(old.id, actor=SYSTEM)


def test_the_command_cleans_what_ended_longer_ago_than_asked(database: Database, tmp_path: Path) -> None:
    from tests.api.conftest import populate

    populate(database, passwords=False)
    folder = tmp_path / "files"
    jobs = jobs_on(database, folder, runner=HeldRunner())
    done_file = _file(jobs, "done.csv")
    done = jobs.cancel(jobs.start("crm", "customer", done_file, actor=SYSTEM).id, actor=SYSTEM)
    url = database.url.render_as_string(hide_password=False)
    runner = CliRunner()
    kept = runner.invoke(main, ["imports", "clean", "--older-than", "1d", "--database", url, "--files", str(folder)])
    assert kept.exit_code == 0, kept.output
    assert "Removed 0 import job(s) and 0 file(s)" in kept.output
    cleaned = runner.invoke(main, ["imports", "clean", "--older-than", "0m", "--database", url,
                                   "--files", str(folder)])
    assert cleaned.exit_code == 0, cleaned.output
    assert "Removed 1 import job(s) and 1 file(s) older than 0m" in cleaned.output
    with pytest.raises(NotFoundError):
        jobs.get(done.id, actor=SYSTEM)
    assert not any(p.is_file() for p in folder.rglob("*"))  # the bytes went too
    wrong = runner.invoke(main, ["imports", "clean", "--older-than", "a week", "--database", url])
    assert wrong.exit_code == 2 and "not an age such as 7d" in wrong.output
