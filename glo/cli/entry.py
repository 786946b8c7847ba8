"""Running a typer command as glo's entry points do (``glo``: glo.cli.app, ``glo-tui``: glo.cli.tui_cmd),
without importing the other's commands."""

from __future__ import annotations

import sys

import typer

from glo.errors import GloError


def run_command(command: typer.Typer, argv: list[str] | None, prog: str) -> int:
    """COMMAND on ARGV: every user mistake is one line on stderr with exit code 2, never a traceback."""
    try:
        rv = command(args=argv, prog_name=prog, standalone_mode=False)
    except GloError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:
        # typer/click usage errors (bad option, wrong type): they carry a message and an exit code
        code = getattr(exc, "exit_code", None)
        if hasattr(exc, "format_message") and isinstance(code, int):
            ctx = getattr(exc, "ctx", None)
            where = ctx.command_path if ctx is not None else prog
            print(f"{prog}: error: {exc.format_message()} (see '{where} --help')", file=sys.stderr)
            return code
        if type(exc).__name__ == "Abort":
            print(f"{prog}: aborted", file=sys.stderr)
            return 130
        raise
    return rv if isinstance(rv, int) else 0
