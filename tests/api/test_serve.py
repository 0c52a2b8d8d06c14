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
    lines: list[str] = []
    deadline = time.monotonic() + 120
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
        if line.startswith("Serving Qiqiao"):
            break
    try:
        yield process, lines
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


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
