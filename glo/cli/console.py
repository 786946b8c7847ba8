"""The CLI's one way into the console: ``tui.launch``, imported only when a command opens it.

``glo-tui``, ``glo run`` without --headless and a sweep in the console open it in this terminal;
``glo serve`` serves it to browsers. Nothing else in ``glo.cli`` imports ``tui`` (an import-linter contract in
pyproject.toml says so), and ``tui`` never imports ``glo.cli``.
"""

from __future__ import annotations

from types import ModuleType

from glo.errors import GloError


def _launch() -> ModuleType:
    """tui.launch, once the console's libraries have loaded (call it before any run folder is made)."""
    try:
        import tui.launch

        tui.launch.check()
    except ImportError as exc:  # pragma: no cover - the console ships with glo
        raise GloError(f"the console is not available ({exc}); use --headless") from exc
    return tui.launch


def check_console() -> None:
    """Raise GloError now if the console cannot open (before a run folder is created for it)."""
    _launch()


def open_console(runs_dir, **kw) -> int:
    """The console in this terminal, with a run (``prepared``) or a sweep (``sweep``) training."""
    return _launch().open_console(runs_dir, **kw)


def serve_console(runs_dir, config, host: str, port: int, remote: bool, on_ready=None) -> None:
    """The console in web browsers, one console per tab (its form filled with CONFIG), until Ctrl-C."""
    _launch().serve(runs_dir, config, host, port, remote, on_ready)
