"""Running the ``qiqiao`` command as a user runs it, for the tests: a real
process on a real database file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QIQIAO = [sys.executable, "-m", "runtime.cli"]


def run(*args: str, database: Path, stdin: str = "", check: bool = True) -> subprocess.CompletedProcess[str]:
    """``qiqiao ARGS`` on the SQLite file ``database``; AssertionError when it fails and ``check``."""
    env = {**os.environ, "QIQIAO_DATABASE_URL": f"sqlite:///{database}"}
    result = subprocess.run([*QIQIAO, *args], capture_output=True, text=True, env=env, cwd=ROOT,
                            input=stdin, timeout=120)
    if check and result.returncode != 0:
        raise AssertionError(f"qiqiao {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result
