"""``glo runs tag`` and ``glo runs note``: a researcher's tags and note on a run (``glo.store.notes``)."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from glo.cli.options import RUNS_DIR_HELP, make_console, open_store
from glo.cli.select import complete_runs


def runs_tag(
    run_id: str = typer.Argument(..., metavar="RUN", help="Run id (a unique prefix, its name or 'latest').",
                                 autocompletion=complete_runs),
    tags: list[str] = typer.Argument(..., metavar="TAG...", help="Tags: one word each (letters, digits, . _ - + : /)."),
    remove: bool = typer.Option(False, "--remove", "-r", help="Take these tags off the run instead."),
    runs_dir: Path | None = typer.Option(None, help=RUNS_DIR_HELP),
) -> None:
    """Tag a run (glo runs tag latest best); --remove takes tags off.

    Find tagged runs with glo runs list --where tag=best."""
    from glo.store import notes

    for t in tags:  # every tag checked before the file is touched
        notes.check_tag(t)
    run = open_store(runs_dir).get(run_id)
    now = notes.tag(str(run.path), tags, remove=remove)
    make_console().print(f"{run.id}: tags {' '.join(now) if now else '(none)'}", highlight=False)


def runs_note(
    run_id: str = typer.Argument(..., metavar="RUN", help="Run id (a unique prefix, its name or 'latest').",
                                 autocompletion=complete_runs),
    text: str | None = typer.Argument(None, metavar="TEXT", help="The note ('' clears it; - reads it from stdin; "
                                         "none: show the note)."),
    runs_dir: Path | None = typer.Option(None, help=RUNS_DIR_HELP),
) -> None:
    """Write a note on a run (replacing its note), or show it.

    Shown by glo runs show and comparisons; find runs by it with --where "note=*typo*"."""
    from glo.store import notes

    if text == "-":
        text = sys.stdin.read()
    if text is not None:
        notes.check_note(text)
    run = open_store(runs_dir).get(run_id)
    console = make_console()
    if text is None:
        console.print(notes.read(str(run.path))[1] or "(no note)", highlight=False, markup=False)
        return
    stored = notes.set_note(str(run.path), text)
    console.print(f"{run.id}: " + ("note saved" if stored else "note cleared"), highlight=False)


def register(runs_app: typer.Typer) -> None:
    runs_app.command("tag")(runs_tag)
    runs_app.command("note")(runs_note)
