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
