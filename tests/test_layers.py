"""The floors and the core's rooms (README "Architecture") hold: import-linter's contracts in pyproject.toml pass, they
catch a front end that skips a floor, and no function in glo/ or tui/ grows past 80 lines."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT = str(Path(sys.executable).with_name("lint-imports"))
MAX_FUNCTION_LINES = 80


def lint(root: Path) -> subprocess.CompletedProcess:
    """lint-imports on the packages under ROOT (its pyproject.toml's contracts)."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run([LINT, "--no-cache"], cwd=root, env=env, capture_output=True, text=True, timeout=300)


def test_import_contracts_are_kept():
    result = lint(ROOT)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "BROKEN" not in result.stdout and "0 broken" in result.stdout


def test_a_skipped_floor_breaks_the_build(tmp_path):
    """The console importing the CLI, a core room importing rich (directly or through a module of its
    own), or a room importing a room above it (train from sweep, the store from training) fails."""
    for package in ("glo", "tui"):
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__", "*.npz"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / "tui" / "shortcut.py").write_text("from glo.cli.options import RUN_OPTIONS\n")
    (tmp_path / "glo" / "config.py").write_text((ROOT / "glo" / "config.py").read_text() + "\nimport rich\n")
    (tmp_path / "glo" / "data" / "pretty.py").write_text("import rich.console\n")
    (tmp_path / "glo" / "train" / "upward.py").write_text("from glo.sweep import manifest\n")
    (tmp_path / "glo" / "store" / "upward.py").write_text("from glo.train import loop\n")
    result = lint(tmp_path)
    assert result.returncode != 0
    out = result.stdout
    assert "tui.shortcut -> glo.cli.options" in out and "glo.config -> rich" in out, out[-3000:]
    assert "glo.data.pretty -> rich" in out, out[-3000:]
    assert "glo.train.upward -> glo.sweep.manifest" in out and "glo.store.upward -> glo.train.loop" in out, out[-3000:]


def test_no_function_over_80_lines():
    long = []
    for path in sorted([*ROOT.glob("glo/**/*.py"), *ROOT.glob("tui/**/*.py")]):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({lines} lines)")
    assert not long, long
