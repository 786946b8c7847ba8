"""ruff and mypy, configured in pyproject.toml, find nothing: ruff over the code, its tests, benchmarks and
scripts; mypy over glo and tui (``files`` in [tool.mypy]), with --strict's flags on the core's rooms."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUFF = str(Path(sys.executable).with_name("ruff"))
MYPY = str(Path(sys.executable).with_name("mypy"))
LINTED = ["glo", "tui", "tests", "benchmarks", "scripts"]


def run(*command: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


def test_ruff_finds_nothing():
    result = run(RUFF, "check", "--output-format", "concise", *LINTED)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


def test_mypy_finds_nothing():
    # about 20 s cold (2 cores), under 2 s with mypy's incremental cache (.mypy_cache/, which ignores itself)
    result = run(MYPY)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "Success: no issues found" in result.stdout
