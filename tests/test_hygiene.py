"""The core never imports terminal libraries, and `glo --help` never imports torch."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# every module of the core: glo's rooms, that is every module of glo below glo.view
CORE = sorted(
    ".".join(("glo", *path.relative_to(ROOT / "glo").with_suffix("").parts)).removesuffix(".__init__")
    for path in (ROOT / "glo").rglob("*.py")
    if path.relative_to(ROOT / "glo").parts[0] not in ("cli", "view", "__main__.py")
)
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


def test_console_help_does_not_import_torch_or_textual():
    loaded = _loaded_after("import contextlib, io\nfrom glo.cli.tui_cmd import main\n"
                           "with contextlib.redirect_stdout(io.StringIO()):\n    main(['--help'])")
    assert not loaded & {"torch", "numpy", "textual", "tui"}, loaded & {"torch", "numpy", "textual", "tui"}
