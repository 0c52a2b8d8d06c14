"""``make demo PORT=...`` serves the demo on that port: the Makefile target
run as a user runs it, a real process answering on the port it was given."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

from tests.api.test_serve import ROOT, free_port, lines_until_serving, wait_for_port


def test_make_demo_takes_another_port_and_folder(tmp_path: Path) -> None:
    port = free_port()
    # -o: the virtualenv is taken as installed (the test must not reinstall it).
    command = ["make", "--no-print-directory", "-o", ".venv/.installed", "demo", f"PORT={port}",
               f"INSTANCE={tmp_path}", "DEMO_ARGS=--scale 0.05"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "QIQIAO_SECRET_KEY": "test-make-demo"}
    env.pop("PORT", None)
    process = subprocess.Popen(command, cwd=ROOT, env=env, text=True, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, start_new_session=True)
    try:
        lines = lines_until_serving(process, 180)
        output = "\n".join(lines)
        assert lines and lines[-1].startswith("Serving Qiqiao"), output
        assert f"http://127.0.0.1:{port}/auth/login" in output
        assert (tmp_path / "qiqiao.sqlite3").exists()
        wait_for_port(f"http://127.0.0.1:{port}/")
    finally:
        # make and the server it started are one process group, started here.
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
