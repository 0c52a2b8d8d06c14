"""bench/api.py keeps working: its quick mode runs the full HTTP stack and
the engine side by side and prints its table (the goals are judged on full
runs, in the closing notes)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def test_api_benchmark_runs_quickly() -> None:
    result = subprocess.run([sys.executable, "bench/api.py", "--quick"], capture_output=True, text=True,
                            cwd=ROOT, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "GET a page of 50" in result.stdout and "POST one customer" in result.stdout
    assert result.stdout.count("|") > 10
