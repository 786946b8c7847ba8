"""The command reference (docs/reference.md), generated from the CLI itself.

``python -m glo.cli.reference > docs/reference.md`` writes it; tests/test_docs.py fails when the
committed page and the CLI disagree. Every command, argument and option is read from the typer
app as click sees it, so the page can only say what the commands do.
"""

from __future__ import annotations

from typing import Any

import typer.main

HEADER = """# Command reference

Every command, argument and option of `glo`, generated from the command line itself
(`python -m glo.cli.reference > docs/reference.md`; a test fails when this page and the CLI
disagree). `glo COMMAND --help` prints the same in the terminal.
"""


def _cell(text: str) -> str:
    """Text fit for one markdown table cell."""
    return " ".join(text.split()).replace("|", "\\|")


def _params(command: Any, ctx: Any) -> list[str]:
    rows = []
    for param in command.get_params(ctx):
        if param.param_type_name == "argument":
            meta = param.make_metavar(ctx) if _takes_ctx(param) else param.make_metavar()
            rows.append(f"| `{meta}` | {_cell(getattr(param, 'help', None) or '')} |")
            continue
        record = param.get_help_record(ctx)
        if record is None or param.name in ("help", "install_completion", "show_completion"):
            continue
        names, help_text = record
        rows.append(f"| `{_cell(names)}` | {_cell(help_text)} |")
    if not rows:
        return []
    return ["| argument or option | meaning |", "|---|---|", *rows, ""]


def _takes_ctx(param: Any) -> bool:
    """click 8.2 passes the context to make_metavar; older clicks take none."""
    import inspect

    return "ctx" in inspect.signature(param.make_metavar).parameters


def _command(command: Any, path: list[str], out: list[str]) -> None:
    """COMMAND's section (and its subcommands'), as the click command typer builds (typer vendors click)."""
    ctx = command.context_class(command, info_name=" ".join(path))
    level = "#" * min(len(path) + 1, 4)
    out += [f"{level} `{' '.join(path)}`", ""]
    help_text = (command.help or "").strip()
    if help_text:
        out += [" ".join(help_text.split("\n\n")[0].split()), ""]
    pieces = command.collect_usage_pieces(ctx)
    out += ["```", f"{' '.join(path)} {' '.join(pieces)}".rstrip(), "```", ""]
    out += _params(command, ctx)
    if hasattr(command, "list_commands"):
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is not None and not sub.hidden:
                _command(sub, [*path, name], out)


def markdown() -> str:
    """The whole reference page."""
    from glo.cli.app import app

    out = [HEADER]
    _command(typer.main.get_command(app), ["glo"], out)
    return "\n".join(out).rstrip("\n") + "\n"


if __name__ == "__main__":
    print(markdown(), end="")
