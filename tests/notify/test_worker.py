"""The worker's loop, its place in ``qiqiao serve``, the ``qiqiao worker``
command's errors, and the channels' documentation."""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.composition import compose
from engine.core.clock import FixedClock
from engine.notify.channels import CHANNELS
from engine.notify.outbox import enqueue
from engine.notify.settings import NotifySettings
from engine.store.database import Database
from engine.store.migrate import upgrade_system_tables
from runtime.cli import main
from runtime.serve import wants_worker
from runtime.worker import Worker, WorkerTask, build_tasks, start_in_thread
from tests.notify.sinks import SmtpSink, smtp_sink

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpSink]:
    with smtp_sink() as sink:
        yield sink


@pytest.fixture
def sqlite(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'qiqiao.sqlite3'}")
    upgrade_system_tables(database)
    yield database
    database.dispose()


def _mail(database: Database, key: str) -> None:
    with database.transaction() as conn:
        enqueue(conn, channel="email", recipient="li@example.com", key=key, now=dt.datetime.now(dt.UTC),
                payload={"to": ["li@example.com"], "subject": key, "text": "x", "html": None})


def test_run_once_runs_every_task_at_the_clocks_time_and_survives_a_failing_one(
        sqlite: Database, caplog: pytest.LogCaptureFixture) -> None:
    clock = FixedClock(dt.datetime(2026, 12, 1, 8, 0))
    seen: list[tuple[str, dt.datetime]] = []

    def broken(now: dt.datetime) -> int:
        raise RuntimeError("boom")

    tasks = [WorkerTask("first", 1, lambda now: seen.append(("first", now)) or 2),
             WorkerTask("broken", 1, broken),
             WorkerTask("last", 1, lambda now: seen.append(("last", now)) or 1)]
    worker = Worker(compose(sqlite, clock=clock), tasks, name="t")
    with caplog.at_level(logging.ERROR, logger="qiqiao.worker"):
        assert worker.run_once() == 3
    assert seen == [("first", clock.now()), ("last", clock.now())]
    assert "worker task broken failed" in caplog.text


def test_run_forever_stops_when_told(sqlite: Database) -> None:
    stop = threading.Event()
    runs: list[int] = []

    def count(now: dt.datetime) -> int:
        runs.append(1)
        if len(runs) == 3:
            stop.set()
        return 0

    thread = threading.Thread(target=Worker(compose(sqlite), [WorkerTask("tick", 0.01, count)], name="t")
                              .run_forever, args=(stop,))
    thread.start()
    thread.join(10)
    assert not thread.is_alive() and len(runs) == 3


def test_the_outbox_is_the_first_task_and_delivers(sqlite: Database, smtp: SmtpSink) -> None:
    smtp.clear()
    engine = compose(sqlite)
    tasks = build_tasks(engine, NotifySettings.from_env({"QIQIAO_SMTP_URL": smtp.url}), name="t")
    assert tasks[0].key == "outbox"
    _mail(sqlite, "task:1")
    assert Worker(engine, tasks, name="t").run_once() == 1
    assert smtp.counts() == {"task:1": 1}


def test_serve_runs_the_worker_in_a_thread_on_sqlite(sqlite: Database, smtp: SmtpSink) -> None:
    smtp.clear()
    _mail(sqlite, "serve:1")
    url = sqlite.url.render_as_string(hide_password=False)
    thread, stop = start_in_thread(url, {"QIQIAO_SMTP_URL": smtp.url}, delay=0)
    try:
        smtp.wait_for(1, timeout=20)
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive()
    assert smtp.counts() == {"serve:1": 1}
    assert wants_worker(None, url) and not wants_worker(False, url)
    assert not wants_worker(None, "postgresql://u@h/q") and wants_worker(True, "postgresql://u@h/q")


def test_the_worker_command_reports_bad_settings_and_a_missing_database(sqlite: Database, tmp_path: Path) -> None:
    url = sqlite.url.render_as_string(hide_password=False)
    runner = CliRunner()
    bad = runner.invoke(main, ["worker", "--once", "--database", url, "--locale", "en"],
                        env={"QIQIAO_ROBOTS": "[1, 2]"})
    assert bad.exit_code == 1 and "QIQIAO_ROBOTS" in bad.output and "Traceback" not in bad.output
    missing = runner.invoke(main, ["worker", "--once", "--database", f"sqlite:///{tmp_path / 'none.sqlite3'}",
                                   "--locale", "en"])
    assert missing.exit_code == 1 and "qiqiao init" in missing.output
    done = runner.invoke(main, ["worker", "--once", "--database", url, "--name", "cli"])
    assert done.exit_code == 0 and "Worker cli: 0 item(s) done" in done.output


@pytest.mark.parametrize("key", CHANNELS.keys())
def test_every_channel_is_documented(key: str) -> None:
    text = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    channels = text.split("## Channels", 1)[1].split("\n## ", 1)[0]
    assert re.search(rf"^### {re.escape(key)}$", channels, re.MULTILINE), f"docs/rules.md: no '### {key}'"
