"""``qiqiao serve`` and ``qiqiao demo`` as real processes: the demo ends with a
server (granian) answering the example call it prints; a taken port or an
unreachable database is one sentence, not a traceback."""

from __future__ import annotations

import os
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from engine.store.database import Database
from engine.store.migrate import (
    VERSION_TABLE,
    SchemaOutdated,
    current_revision,
    head_revision,
    upgrade_system_tables,
)
from runtime.app import create_app
from tests.api.conftest import app_config

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def qiqiao(*args: str, env: dict[str, str] | None = None, **popen: object) -> subprocess.Popen[str]:
    environ = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    return subprocess.Popen([sys.executable, "-m", "runtime.cli", *args], cwd=ROOT, env=environ, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **popen)  # type: ignore[call-overload]


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], list[str]]]:
    port = free_port()
    process = qiqiao("demo", "--instance", str(tmp_path), "--scale", "0.05", "--port", str(port),
                     env={"QIQIAO_SECRET_KEY": "test-serve"})
    lines = lines_until_serving(process, 120)
    try:
        yield process, lines
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def lines_until_serving(process: subprocess.Popen[str], seconds: float) -> list[str]:
    """What the process printed up to its "Serving Qiqiao" line (or its end)."""
    lines: list[str] = []
    deadline = time.monotonic() + seconds
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
        if line.startswith("Serving Qiqiao"):
            break
    return lines


def wait_for_port(url: str, seconds: float = 30) -> None:
    host, _, port = url.split("//")[1].split("/")[0].partition(":")
    deadline = time.monotonic() + seconds
    while True:
        try:
            socket.create_connection((host, int(port)), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_the_demo_serves_the_example_call_it_prints(demo: tuple[subprocess.Popen[str], list[str]]) -> None:
    process, lines = demo
    assert lines and lines[-1].startswith("Serving Qiqiao"), "\n".join(lines)
    curl = shlex.split(next(line.strip() for line in lines if line.strip().startswith("curl ")))
    header, url = curl[curl.index("-H") + 1], curl[-1]
    wait_for_port(url)
    name, _, value = header.partition(": ")
    with urllib.request.urlopen(urllib.request.Request(url, headers={name: value}), timeout=30) as answer:
        assert answer.status == 200
        assert answer.headers["Content-Type"] == "application/json"
        assert answer.headers["X-Content-Type-Options"] == "nosniff" and answer.headers["X-Request-ID"]
        body = answer.read()
    assert b'"records"' in body and body.count(b'"id"') >= 5
    anonymous = urllib.request.Request(url)
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(anonymous, timeout=30)
    assert refused.value.code == 401
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=30) == 0


def test_serve_refuses_a_taken_port_in_a_sentence(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process = qiqiao("serve", "--port", str(port), "--database", f"sqlite:///{tmp_path / 'q.sqlite3'}")
        output, _ = process.communicate(timeout=60)
    assert process.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in output and "Traceback" not in output


def test_serve_reports_an_unreachable_database_in_a_sentence() -> None:
    process = qiqiao("serve", "--port", str(free_port()), "--database", "postgresql://nobody@127.0.0.1:1/none")
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 1
    assert "cannot start the app" in output and "Traceback" not in output


def test_an_app_on_system_tables_behind_the_code_refuses_to_start(bare_database: Database) -> None:
    with pytest.raises(SchemaOutdated, match="run qiqiao init first"):
        create_app(app_config(bare_database))
    upgrade_system_tables(bare_database, "0002")
    with pytest.raises(SchemaOutdated, match=f"at revision 0002 and this version needs {head_revision()}: run qiqiao init"):
        create_app(app_config(bare_database))
    with bare_database.transaction() as conn:
        conn.execute(sa.text(f"UPDATE {VERSION_TABLE} SET version_num = '9999'"))
    with pytest.raises(SchemaOutdated, match="newer Qiqiao"):
        create_app(app_config(bare_database))


def test_serve_upgrades_the_system_tables_before_its_workers_start(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    upgrade_system_tables(database, "0002")
    database.dispose()
    port = free_port()
    process = qiqiao("serve", "--port", str(port), "--database", f"sqlite:///{tmp_path / 'old.sqlite3'}",
                     env={"QIQIAO_SECRET_KEY": "test-serve"})
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline().strip() for _ in range(2)]
        assert lines[0] == f"Upgraded the database's system tables from 0002 to {head_revision()}", lines
        assert lines[1].startswith("Serving Qiqiao"), lines
        wait_for_port(f"http://127.0.0.1:{port}/")
        with pytest.raises(urllib.error.HTTPError) as refused:  # the app answers: it needs a token
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/apps", timeout=30)
        assert refused.value.code == 401
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
    assert current_revision(Database(f"sqlite:///{tmp_path / 'old.sqlite3'}")) == head_revision()


def test_serve_runs_a_worker_per_core() -> None:
    from runtime.serve import default_workers

    # On SQLite too: writers of several processes take turns through a file lock (docs/store.md).
    assert default_workers() == max(1, os.cpu_count() or 1)
