"""The core never imports terminal libraries, and `glo --help` never imports torch."""

import subprocess
import sys

CORE = ["glo", "glo.config", "glo.data", "glo.model", "glo.train", "glo.metrics", "glo.runs",
        "glo.events", "glo.controls", "glo.checkpoint", "glo.textimage", "glo.atomic", "glo.analysis",
        "glo.analysis_store", "glo.probe", "glo.latent"]
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
