"""Tables of runs: the runs list, one run's details, and what ``glo analyze`` found.

Each takes runs already read (``glo.store.runview.RunView``) or analysis results, and returns rich
renderables; the comparison's numbers tables are ``glo.view.numbers``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich import box
from rich.console import Console
from rich.measure import Measurement
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from glo.analysis.compare import rows
from glo.store import provenance
from glo.store.runs import Run
from glo.store.runview import SHOWN_SETTINGS, RunView
from glo.view.format import duration, fmt, fmt_setting, num, pct, view_status

DETAIL_NUMBERS = ("recon_loss", "recon_l1", "recon_l2", "psnr", "train_loss", "images_per_s")
ANALYSIS_CAPTION = ("probes: class predicted from content codes, 5-fold CV, chance 10% (lower = less class in the "
                    "content). L1+L2 of: train = trained codes; refit / held = codes fitted afresh to the frozen "
                    "generator for training / never-seen images; gap = held - refit; PSNR of held, dB")


def table_width(table: Table) -> int:
    """How many columns TABLE takes when nothing constrains it."""
    console = Console(width=10_000)
    return Measurement.get(console, console.options, table).maximum


def runs_table(runs: Sequence[Run | RunView], width: int | None = None) -> Table:
    """One line per run; where that is wider than WIDTH (long sweep ids at 80 columns), each run's
    settings go on a dim line of their own under its id instead of being squeezed or cut."""
    views = rows(runs)
    if width is None or table_width(_runs_table(views, narrow=False, settings_width=16)) <= width:
        return _runs_table(views, narrow=False)
    return _runs_table(views, narrow=True)


def _runs_table(views: list[RunView], narrow: bool, settings_width: int | None = None) -> Table:
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, padding=0)  # the box's blank column parts the cells
    table.add_column("id" + (" / settings" if narrow else ""), no_wrap=not narrow)
    table.add_column("status", no_wrap=True)
    if not narrow:
        table.add_column("settings", min_width=16, max_width=settings_width)  # gives way: wraps between settings
    for col in ("epochs", "recon", "time"):
        table.add_column(col, no_wrap=True, justify="right")
    for v in views:
        numbers = (v.epochs_label, fmt(v.last.get("recon_loss")), duration(v.elapsed_s))
        if narrow:
            table.add_row(Text(v.run.id, no_wrap=True), view_status(v), *numbers)
            table.add_row(Padding(Text(v.settings_label, style="dim"), (0, 0, 0, 2)), "", "", "", "")
        else:
            table.add_row(v.run.id, view_status(v), v.settings_label + "".join(f" #{t}" for t in v.tags), *numbers)
    return table


def run_heading(v: RunView) -> Text:
    """'run ID  status', the first line of ``glo runs show``."""
    return Text.assemble(("run ", "bold"), (v.run.id, "bold cyan"), "  ", view_status(v))


def run_details(v: RunView) -> Table:
    """A run's settings, live changes, progress, last numbers, best loss, time and any error."""
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="dim")
    table.add_column()
    if v.tags:
        table.add_row("tags", Text(" ".join(v.tags), style="bold"))
    if v.note:
        table.add_row("note", Text(v.note))
    if v.config is not None:
        for key in SHOWN_SETTINGS:
            table.add_row(key, fmt_setting(getattr(v.config, key)))
    if v.changes:
        table.add_row("live changes", v.changes_label)
    table.add_row("epochs done", v.epochs_label)
    for key in DETAIL_NUMBERS:
        table.add_row(key, fmt(v.last.get(key)))
    table.add_row("best recon_loss", fmt(v.summary.get("best_recon_loss")))
    table.add_row("time", duration(v.elapsed_s))
    _environment_rows(table, v)
    if v.summary.get("error"):
        table.add_row("error", Text(v.summary["error"], style="red"))
    return table


def _environment_rows(table: Table, v: RunView) -> None:
    """What the run last ran with and where, how often it started and resumed (and where each ran,
    where that differs), and the thread policy's changes."""
    if not v.environment:
        table.add_row("ran with", Text("not recorded (a run from before glo recorded it)", style="dim"))
    else:
        last = v.environment[-1]
        table.add_row("ran with", provenance.software_label(last))
        table.add_row("ran on", provenance.machine_label(last))
        table.add_row("data", provenance.data_label(last))
        table.add_row("starts", provenance.history_label(v.environment))
        places = provenance.places_label(v.environment)
        if places:
            table.add_row("where each ran", Text(places, style="yellow"))
    if v.thread_changes:
        table.add_row("thread changes", v.threads_label)


def analysis_table(results: list[dict[str, Any]], names: dict[str, str] | None = None) -> Table:
    """One row per analyzed run, narrow enough for 80 columns: class left in the content codes,
    and the fits (recon_loss = mean L1 + mean L2, noise-free) of trained, refitted and held-out
    images. NAMES (run id -> short label, ``glo.analysis.compare.labels``) shortens the run column."""
    names = names or {}
    chances = sorted({round(100 * r["chance"]) for r in results if isinstance(r.get("chance"), (int, float))})
    caption = ANALYSIS_CAPTION.replace("chance 10%", "chance " + " / ".join(f"{c}%" for c in chances or [10]))
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 1), collapse_padding=True, show_edge=False,
                  caption=caption, caption_justify="left")
    table.add_column("run", no_wrap=True)
    for heading in ("ep", "linear\nprobe", "kNN\nprobe", "train", "refit", "held", "gap", "held\nPSNR", "time"):
        table.add_column(heading, justify="right", no_wrap=True)
    for res in results:
        held, refit = res.get("heldout") or {}, res.get("train_refit") or {}
        gap = held.get("recon_loss", 0) - refit.get("recon_loss", 0) if held and refit else None
        table.add_row(
            names.get(str(res.get("run")), str(res.get("run", "?"))),
            str((res.get("checkpoint") or {}).get("epoch", "-")),
            pct(res.get("probe_accuracy")), pct(res.get("knn_accuracy")),
            num((res.get("train") or {}).get("recon_loss")), num(refit.get("recon_loss")),
            num(held.get("recon_loss")), "-" if gap is None else f"{gap:+.4f}", num(held.get("psnr"), 2),
            "cached" if res.get("cached") else f"{res.get('elapsed_s', 0):.1f}s",
        )
    return table
