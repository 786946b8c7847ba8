"""The core never imports terminal libraries, and `glo --help` never imports torch."""

import subprocess
import sys
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
# every core module, as the import-linter contract lists them (tests/test_layers.py checks that list)
CORE = next(c for c in tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
            if c["name"].startswith("the core imports"))["source_modules"]
FORBIDDEN = ["textual", "rich", "typer", "click", "plotext", "textual_plotext"]


def _loaded_after(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys; print(' '.join(sys.modules))"],
                         check=True, capture_output=True, text=True).stdout
    return {m.split(".")[0] for m in out.split()}


def test_core_imports_no_terminal_library():
    loaded = _loaded_after("\n".join(f"import {m}" for m in CORE))
    assert not loaded & set(FORBIDDEN), loaded & set(FORBIDDEN)


def test_cli_help_does_not_import_torch():
    loaded = _loaded_after("from glo.cli.app import main\nmain(['--help'])")
    assert "torch" not in loaded and "numpy" not in loaded
