"""The benchmarks keep working: each runs in its quick mode and prints its table.

(The goals are judged on full runs, in the closing notes; a quick run only
checks that every contender still runs and, for formulas, agrees.)
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("script", ["bench/formula.py", "bench/records.py", "bench/load.py", "bench/rules_outbox.py",
                                    "bench/rules.py", "bench/flows.py"])
def test_benchmark_runs(script: str) -> None:
    result = subprocess.run([sys.executable, script, "--quick"], capture_output=True, text=True,
                            cwd=ROOT, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "qiqiao" in result.stdout
    assert result.stdout.count("|") > 10


def test_report_benchmark_runs() -> None:
    # Small and on SQLite only: the engine, the hand SQL and Python must agree before anything is timed.
    result = subprocess.run([sys.executable, "bench/reports.py", "--quick", "--rows", "20000", "--databases", "sqlite",
                             "--dashboard-rows", "0", "--runs", "1", "--repeat", "1"],
                            capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "engine vs hand SQL" in result.stdout and "grouped in Python" in result.stdout
