"""The help screen: every key, and what the console does."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

KEYS = (
    ("Training screen", None),
    ("s / F5", "start a run with the settings on the left (Enter in a field starts too)"),
    ("w", ("start a sweep: one run per value in the sweep field, e.g. sigma=0.01,0.3,2 "
           "(a grid: sigma=0.1,2; loss=l1,l2); the comparison opens when it completes")),
    ("p / F6", "pause or resume the run"),
    ("x / F7", "stop the run, or the sweep (saved as stopped: resume it later from the saved runs)"),
    ("Enter in sigma/decay", "while training: apply the new value live (next step); loss applies on pick"),
    ("Tab / Shift+Tab", "move between fields and buttons; Esc leaves a field so letter keys work"),
    ("l", "log scale on the loss chart"),
    ("a", "ASCII images (for terminals without colour)"),
    ("r / F2", "saved runs"),
    ("Saved runs", None),
    ("space", "mark a run (mark two or more to compare)"),
    ("w", "mark every run of the highlighted run's sweep (again: unmark)"),
    ("a", "mark every run shown (the filter's runs; again: unmark)"),
    ("c", "compare the marked runs: curves, final numbers and reconstructions"),
    ("Enter", "open the run under the cursor"),
    ("R", "resume a stopped or interrupted run (a sweep's run: the whole sweep goes on)"),
    ("d / Delete", "delete the marked runs, or the highlighted one (asks y/n first)"),
    ("/", "filter, as glo runs list --where: sigma=0.3 status=completed (Enter applies, Esc closes)"),
    ("s / S", "sort by the next column (newest, recon, epochs, time, status, ...) / turn the order round"),
    ("t / n", "tags / note of the highlighted run (Enter saves, Esc cancels); filter with / tag=best, note=*typo*"),
    ("Opened or compared runs", None),
    ("m", "next metric (recon loss, train loss, PSNR)"),
    ("e", "export the numbers (CSV) and the images (PNG) to RUNS/exports/"),
    ("t", "transfer grid: content codes drawn as every digit (n / p: other runs)"),
    ("l / a", "log scale / ASCII images"),
    ("Anywhere", None),
    ("? / F1", "this help"),
    ("Ctrl+P", "command palette (every main action by name)"),
    ("Esc / b", "back"),
    ("q / Ctrl+C / Ctrl+Q", "quit (a running run or sweep is stopped cleanly first)"),
)


def keys_table() -> Table:
    table = Table(show_header=False, box=None, pad_edge=False, expand=True)
    table.add_column(style="bold cyan", no_wrap=True)
    table.add_column(ratio=1)
    for key, what in KEYS:
        if what is None:
            table.add_row(Text(key, style="bold underline"), "")
        else:
            table.add_row(key, what)
    return table


class HelpScreen(ModalScreen):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,question_mark,f1,enter", "app.pop_screen", "Close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box") as box:
            box.border_title = "glo console: keys"
            box.border_subtitle = "Esc closes"
            yield Static(keys_table())
