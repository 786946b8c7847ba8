"""The console as the CLI opens it: the CLI's one way into ``tui`` (imported lazily by
``glo.cli.console``, so ``glo --help`` and headless commands never load Textual).

``open_console`` runs the console in this terminal (``glo run`` without --headless, a sweep in the
console); ``serve`` serves it to web browsers, one console process per tab (``glo serve``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any


def check() -> None:
    """Import the console's app (Textual and its widgets); raises ImportError where it cannot load."""
    import tui.app  # noqa: F401


def open_console(runs_dir: str | os.PathLike | None, **kw: Any) -> int:
    """Run the console until the user quits (``tui.app.run_console``); its exit code."""
    from tui.app import run_console

    return run_console(runs_dir, **kw)


def serve(runs_dir: Path, config: Any, host: str, port: int, remote: bool,
          on_ready: Callable[[], None] | None = None) -> None:
    """Serve the console on HOST:PORT until Ctrl-C; CONFIG (a glo.config.RunConfig, or None) fills every
    tab's settings form."""
    from tui.serve import console_command, serve_console

    serve_console(console_command(runs_dir, config), host, port, remote=remote, on_ready=on_ready)
