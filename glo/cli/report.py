"""Tables, terminal plots and image panels for ``glo runs`` and ``glo compare``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich import box
from rich.console import Console, Group
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from glo.cli.render import compact_rows, comparison
from glo.compare import NUMBERS, curves, image_rows, rows
from glo.errors import RunStoreError
from glo.runs import Run

METRICS = ("recon_loss", "train_loss", "psnr", "recon_l1", "recon_l2")
STATUS_STYLE = {"completed": "green", "running": "cyan", "stopped": "yellow", "interrupted": "yellow",
                "failed": "red", "damaged": "red"}
SETTINGS = ("dataset", "n_images", "sigma", "decay", "loss", "combine", "epochs", "batch_size", "lr_generator",
            "lr_latent", "seed", "device")


def fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) < 1000 else f"{value:.0f}"
    return str(value)


def fmt_setting(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else "-" if value is None else str(value)


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    m, s = divmod(int(round(seconds)), 60)
    h, m = divmod(m, 60)
    return f"{h}h{m:02d}m" if h else f"{m}m{s:02d}s" if m else f"{s}s"


class RunView:
    """What the reports need from one run folder, read once and tolerant of damage."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.status = run.status()
        try:
            self.config = run.read_config()
        except RunStoreError:
            self.config = None
        records = run.read_metrics()
        self.epochs = run.epochs(records)
        self.summary = run.read_summary() or {}
        self.last = self.epochs[-1] if self.epochs else {}
        self.changes = [r for r in records if r.get("event") == "change"]
        self.warnings = run.warnings

    @property
    def changes_label(self) -> str:
        """Live changes made while training, e.g. 'sigma 0.3->0.9 @14'."""
        return ", ".join(f"{c.get('param')} {fmt_setting(c.get('old'))}->{fmt_setting(c.get('new'))} @{c.get('epoch')}"
                         for c in self.changes) or "-"

    @property
    def epochs_label(self) -> str:
        total = self.config.epochs if self.config else "?"
        return f"{len(self.epochs)}/{total}"

    @property
    def settings_label(self) -> str:
        if self.config is None:
            return "(config missing)"
        diff = self.config.differences()
        return " ".join(f"{k}={fmt_setting(v)}" for k, v in diff.items()) or "defaults"

    def status_text(self) -> Text:
        label = self.status + (" (damaged)" if self.warnings and self.status != "damaged" else "")
        return Text(label, style=STATUS_STYLE.get(self.status, ""))


def runs_table(runs: list[Run], width: int | None = None) -> Table:
    """One line per run; where that is wider than WIDTH (long sweep ids at 80 columns), each run's
    settings go on a dim line of their own under its id instead of being squeezed or cut."""
    views = [RunView(run) for run in runs]
    if width is None or _width(_runs_table(views, narrow=False, settings_width=16)) <= width:
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
        numbers = (v.epochs_label, fmt(v.last.get("recon_loss")), duration(v.last.get("elapsed_s")))
        if narrow:
            table.add_row(Text(v.run.id, no_wrap=True), v.status_text(), *numbers)
            table.add_row(Padding(Text(v.settings_label, style="dim"), (0, 0, 0, 2)), "", "", "", "")
        else:
            table.add_row(v.run.id, v.status_text(), v.settings_label, *numbers)
    return table


def show_run(console: Console, run: Run, ascii: bool = False) -> None:
    v = RunView(run)
    console.print(Text.assemble(("run ", "bold"), (run.id, "bold cyan"), "  ", v.status_text()))
    console.print(f"folder: {run.path}")
    for w in v.warnings:
        console.print(Text(f"warning: {w}", style="yellow"))
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="dim")
    table.add_column()
    if v.config is not None:
        for key in SETTINGS:
            table.add_row(key, fmt_setting(getattr(v.config, key)))
    if v.changes:
        table.add_row("live changes", v.changes_label)
    table.add_row("epochs done", v.epochs_label)
    for key in ("recon_loss", "recon_l1", "recon_l2", "psnr", "train_loss", "images_per_s"):
        table.add_row(key, fmt(v.last.get(key)))
    table.add_row("best recon_loss", fmt(v.summary.get("best_recon_loss")))
    table.add_row("time", duration(v.last.get("elapsed_s")))
    if v.summary.get("error"):
        table.add_row("error", Text(v.summary["error"], style="red"))
    console.print(table)
    images = run.read_images()
    if images is None:
        console.print("(no images yet)")
        return
    originals, recons, _ = images
    console.print(comparison([("originals", originals), ("reconstructions", recons)], width=console.width, ascii=ascii))


def compare_table(runs: list[Run]) -> Table:
    views = [RunView(r) for r in runs]
    table = Table(title="comparison", title_justify="left")
    table.add_column("", style="dim", no_wrap=True)
    for v in views:
        table.add_column(v.run.id, overflow="fold")
    configs = [v.config.to_dict() if v.config else {} for v in views]
    for key in SETTINGS:
        values = [fmt_setting(c.get(key)) for c in configs]
        style = "bold" if len(set(values)) > 1 else ""
        table.add_row(Text(key, style=style), *[Text(x, style=style) for x in values])
    if any(v.changes for v in views):
        table.add_row("live changes", *[v.changes_label for v in views])
    table.add_row("status", *[v.status_text() for v in views])
    table.add_row("epochs", *[v.epochs_label for v in views])
    for key in METRICS:
        table.add_row(key, *[fmt(v.last.get(key)) for v in views])
    table.add_row("best recon_loss", *[fmt(v.summary.get("best_recon_loss")) for v in views])
    table.add_row("time", *[duration(v.last.get("elapsed_s")) for v in views])
    return table


PLAIN_MARKERS = "ox+*#@%&=~"  # one character per run where the terminal shows no colour


def compare_plot(runs: list[Run], metric: str, log: bool, width: int, height: int,
                 colour: bool = True) -> Group | Text:
    """Overlaid curves of METRIC; without COLOUR each run is drawn (and named in the legend) with
    its own character, as braille dots in one colour could not be told apart."""
    import plotext as plt

    series = [c for c in curves(runs, metric) if c[1]]
    if not series:
        return Text("(no epochs recorded yet: nothing to plot)")
    plt.clear_figure()
    plt.plotsize(width, height)
    plt.theme("pro")
    for i, (label, x, y) in enumerate(series):
        plt.plot(x, y, label=label, marker="braille" if colour else PLAIN_MARKERS[i % len(PLAIN_MARKERS)])
    if log:
        plt.yscale("log")
    plt.title(f"{metric} per epoch" + (" (log scale)" if log else ""))
    plt.xlabel("epoch")
    return Text.from_ansi(plt.build())


CAPTION = ("probe: class predicted from content codes (chance 10%, lower = less class in the content); "
           "held: images never trained on, codes fitted to the frozen generator.")
RECON_KEYS = ("recon_l1", "recon_l2", "recon_loss", "psnr")
ANALYSIS_KEYS = ("probe_accuracy", "heldout_loss", "heldout_psnr")


def numbers_tables(runs: list[Run], width: int | None = None) -> list[Table | Text]:
    """One line per run: the settings that differ between the runs, then its final numbers.

    Settings the runs share go in the caption (a damaged run without a config counts for neither).
    Probe and held-out columns come from each run's analysis.json ('-' until ``glo analyze`` or a
    comparison has computed them). Where the table is wider than WIDTH, its column groups
    (settings, recon numbers, probe and held-out) go into as few tables as fit, each led by the
    run column, so that no number or heading is cut at 80 columns. The last item is the caption,
    as its own text so it wraps to the screen rather than to the table.
    """
    table_rows = rows(runs)
    known = [r for r in table_rows if r.settings]
    keys = [k for k in SETTINGS if len({fmt_setting(r.settings.get(k)) for r in known}) > 1]
    common = [f"{k}={fmt_setting(known[0].settings.get(k))}" for k in SETTINGS if k not in keys and known]
    done = {r.epochs for r in table_rows}
    front = [("setting", k) for k in keys]
    if any(r.status != "completed" for r in table_rows):
        front.append(("status", "status"))
    if len(done) > 1:  # an 'ep' column only where the runs got different numbers of epochs done
        front.append(("ep", "ep"))
    elif table_rows:
        common.append(f"(epochs done {done.pop()})")
    missing = any(r.numbers["probe_accuracy"] is None for r in known)
    hint = " '-': not analysed yet (glo compare or glo analyze computes it)." if missing else ""
    unknown = [r.label for r in table_rows if not r.settings]
    shared = ""
    if common and len(known) > 1:
        shared = f" Same for all{' readable runs' if unknown else ''}: " + " ".join(common) + "."
    elif common and not unknown:
        shared = " Settings: " + " ".join(common) + "."
    unknown_note = f" Settings unknown (config.json missing or damaged): {', '.join(unknown)}." if unknown else ""
    caption = Text(CAPTION + hint + shared + unknown_note, style="dim")
    groups = [g for g in (front, [("number", k) for k in RECON_KEYS], [("number", k) for k in ANALYSIS_KEYS]) if g]
    label_width = None if width is None else max(16, width // 3)  # a long --name folds, not the numbers

    def table(columns: list[tuple[str, str]]) -> Table:
        return _numbers_table(table_rows, columns, label_width)

    def fits(columns: list[tuple[str, str]]) -> bool:
        return width is None or _width(table(columns)) <= width

    tables: list[Table] = []
    columns: list[tuple[str, str]] = []
    for group in groups:  # pack the groups, in order, into as few tables as fit
        if columns and not fits(columns + group):
            tables.append(table(columns))
            columns = []
        if fits(columns + group):
            columns = columns + group
            continue
        for column in group:  # a group too wide on its own (many settings differ): column by column
            if columns and not fits(columns + [column]):
                tables.append(table(columns))
                columns = []
            columns = columns + [column]
    tables.append(table(columns))
    return [*tables, caption]


def _width(table: Table) -> int:
    from rich.measure import Measurement

    console = Console(width=10_000)
    return Measurement.get(console, console.options, table).maximum


def _numbers_table(table_rows, columns: list[tuple[str, str]], label_width: int | None = None) -> Table:
    """The run column (folded beyond LABEL_WIDTH), then COLUMNS: ('setting', key), ('status', _),
    ('ep', _) or ('number', key)."""
    headings = dict(NUMBERS)
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 1), collapse_padding=True)
    longest = max([len(r.label) for r in table_rows] + [3])
    table.add_column("run", overflow="fold", min_width=min(longest, label_width or longest, 24),
                     max_width=label_width)
    for kind, key in columns:
        if kind == "number":
            table.add_column(headings[key], justify="right", no_wrap=True, min_width=6)
        else:
            table.add_column(key, justify="right" if kind == "ep" else "left", no_wrap=True, min_width=len(key))
    for r in table_rows:
        cells: list = []
        for kind, key in columns:
            if kind == "setting":
                cells.append(fmt_setting(r.settings.get(key)))
            elif kind == "status":
                cells.append(Text(r.status, style=STATUS_STYLE.get(r.status, "")))
            elif kind == "ep":
                cells.append(str(r.epochs))
            else:
                cells.append(fmt_number(key, r.numbers[key]))
        table.add_row(r.label, *cells)
    return table


def fmt_number(key: str, value: float | None) -> str:
    if value is None:
        return "-"
    if key == "probe_accuracy":
        return f"{100 * value:.1f}%"
    if "psnr" in key:
        return f"{value:.2f}"
    return f"{value:.4f}"


def print_comparison(console: Console, runs: list[Run], metric: str = "recon_loss", log: bool = False,
                     ascii: bool = False, width: int | None = None, height: int = 20) -> None:
    """The whole comparison: final numbers, overlaid curves, and each run's reconstructions."""
    width = width or min(console.width, 120)
    for part in numbers_tables(runs, console.width):
        console.print(part)
    if any(RunView(r).changes for r in runs):
        for r in runs:
            v = RunView(r)
            if v.changes:
                console.print(f"live changes in {r.id}: {v.changes_label}")
    plain = ascii or console.color_system is None
    console.print(compare_plot(runs, metric, log, width, height, colour=not plain), markup=False)
    images = image_rows(runs)
    if images:
        console.print(compact_rows(images, width=width, ascii=ascii or console.color_system is None))


def analyse_missing(console: Console, runs: list[Run]) -> None:
    """Compute (and cache) the probe and held-out numbers of finished runs that lack them."""
    from glo.analysis_store import read_analysis

    todo = [r for r in runs if read_analysis(r) is None and r.has_checkpoint() and r.status() in ("completed", "stopped")]
    if not todo:
        return
    from glo.analysis import analyze
    from glo.errors import GloError

    for i, run in enumerate(todo, 1):
        console.print(f"analysing {run.id} ({i}/{len(todo)}): class-from-content probe, held-out fit", highlight=False)
        try:
            analyze(run)
        except GloError as exc:
            console.print(Text(f"warning: {run.id}: {exc}", style="yellow"))


def report_exports(console: Console, runs: list[Run], written: list[Path], png_path) -> None:
    """Say what ``glo.compare.export`` wrote (called after the comparison is printed; the files
    are written before it, so that a closed pipe, ``| head``, cannot lose them)."""
    for path in written:
        rows_named = ""
        if path.suffix.lower() == ".png":
            rows_named = " (rows, top to bottom: " + ", ".join(label for label, _ in image_rows(runs)) + ")"
        console.print(f"wrote {path}{rows_named}", highlight=False)
    if png_path is not None and Path(png_path) not in written:
        console.print(Text("no images to write: the runs have not finished an epoch", style="yellow"))
