"""The comparison's numbers: one line per run, the settings that differ, then its final numbers.

Shared by ``glo compare`` (and ``glo sweep``'s closing comparison) and the console's comparison
screen. Tables are packed to a width so that no number or heading is ever cut at 80 columns.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rich import box
from rich.table import Table
from rich.text import Text

from glo.analysis.compare import rows
from glo.store import provenance
from glo.store.runs import Run
from glo.store.runview import ANALYSIS_KEYS, RECON_KEYS, SHOWN_SETTINGS, RunView
from glo.view.format import fmt_number, fmt_setting, status_text
from glo.view.tables import table_width

HEADINGS = {"recon_l1": "recon\nL1", "recon_l2": "recon\nL2", "recon_loss": "recon\nL1+L2", "psnr": "PSNR\ndB",
            "probe_accuracy": "probe\nacc", "heldout_loss": "held\nL1+L2", "heldout_psnr": "held\nPSNR"}
CAPTION = ("probe: class predicted from content codes (chance 10%, lower = less class in the content); "
           "held: images never trained on, codes fitted to the frozen generator.")
Column = tuple[str, str]  # ('setting', key), ('status', _), ('ep', _) or ('number', key)


def numbers_tables(runs: Sequence[Run | RunView], width: int | None = None) -> list[Table | Text]:
    """One line per run: the settings that differ between the runs, then its final numbers.

    Settings the runs share go in the caption (a damaged run without a config counts for neither).
    Probe and held-out columns come from each run's analysis.json ('-' until ``glo analyze`` or a
    comparison has computed them). Where the table is wider than WIDTH, its column groups
    (settings, recon numbers, probe and held-out) go into as few tables as fit, each led by the
    run column, so that no number or heading is cut at 80 columns. The last item is the caption,
    as its own text so it wraps to the screen rather than to the table.
    """
    table = rows(runs)
    known = [r for r in table if r.settings]
    keys = [k for k in SHOWN_SETTINGS if len({fmt_setting(r.settings.get(k)) for r in known}) > 1]
    front: list[Column] = [("setting", k) for k in keys]
    if any(r.status != "completed" for r in table):
        front.append(("status", "status"))
    if len({r.epochs_done for r in table}) > 1:  # an 'ep' column only where the runs got different epochs done
        front.append(("ep", "ep"))
    groups = [g for g in (front, [("number", k) for k in RECON_KEYS], [("number", k) for k in ANALYSIS_KEYS]) if g]
    label_width = None if width is None else max(16, width // 3)  # a long --name folds, not the numbers
    packed = _pack(groups, lambda cols: width is None or table_width(_table(table, cols, label_width)) <= width)
    return [*[_table(table, cols, label_width) for cols in packed], _caption(table, keys)]


def _pack(groups: list[list[Column]], fits: Callable[[list[Column]], bool]) -> list[list[Column]]:
    """The column groups, in order, in as few tables as FITS allows; a group too wide on its own
    (many settings differ) goes column by column."""
    tables: list[list[Column]] = []
    columns: list[Column] = []
    for group in groups:
        if columns and not fits(columns + group):
            tables.append(columns)
            columns = []
        if fits(columns + group):
            columns = columns + group
            continue
        for column in group:
            if columns and not fits([*columns, column]):
                tables.append(columns)
                columns = []
            columns = [*columns, column]
    return [*tables, columns]


def _caption(table: list[RunView], keys: list[str]) -> Text:
    """What the columns mean, the settings all runs share, and which runs' settings are unknown."""
    known = [r for r in table if r.settings]
    common = [f"{k}={fmt_setting(known[0].settings.get(k))}" for k in SHOWN_SETTINGS if k not in keys and known]
    done = {r.epochs_done for r in table}
    if len(done) == 1:
        common.append(f"(epochs done {done.pop()})")
    missing = any(r.numbers["probe_accuracy"] is None for r in known)
    hint = " '-': not analyzed yet (glo compare or glo analyze computes it)." if missing else ""
    unknown = [r.label for r in table if not r.settings]
    shared = ""
    if common and len(known) > 1:
        shared = f" Same for all{' readable runs' if unknown else ''}: " + " ".join(common) + "."
    elif common and not unknown:
        shared = " Settings: " + " ".join(common) + "."
    unknown_note = f" Settings unknown (config.json missing or damaged): {', '.join(unknown)}." if unknown else ""
    return Text(CAPTION + hint + shared + unknown_note, style="dim")


def _table(table: list[RunView], columns: list[Column], label_width: int | None = None) -> Table:
    """The run column (folded beyond LABEL_WIDTH), then COLUMNS."""
    out = Table(box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 1), collapse_padding=True)
    longest = max([len(r.label) for r in table] + [3])
    out.add_column("run", overflow="fold", min_width=min(longest, label_width or longest, 24), max_width=label_width)
    for kind, key in columns:
        if kind == "number":
            out.add_column(HEADINGS[key], justify="right", no_wrap=True, min_width=6)
        else:
            out.add_column(key, justify="right" if kind == "ep" else "left", no_wrap=True, min_width=len(key))
    for r in table:
        out.add_row(r.label, *[_cell(r, kind, key) for kind, key in columns])
    return out


def _cell(r: RunView, kind: str, key: str) -> str | Text:
    if kind == "setting":
        return fmt_setting(r.settings.get(key))
    if kind == "status":
        return status_text(r.status)
    if kind == "ep":
        return str(r.epochs_done)
    return fmt_number(key, r.numbers[key])


def environment_note(runs: Sequence[Run | RunView]) -> Text | None:
    """One dim yellow line under a comparison: what differs between the runs' environments as each
    last ran (versions, device, CPU, threads, host, data fingerprint), e.g. 'differs between runs:
    torch (2.4.1, 2.14.1), data (2 fingerprints: n_images differs)'; runs with no record are only
    counted. None for a single run, or when nothing differs and every run has a record."""
    views = rows(runs)
    if len(views) < 2:
        return None
    recorded = [v.environment[-1] for v in views if v.environment]
    missing = len(views) - len(recorded)
    parts = []
    differs = provenance.differs_label(recorded)
    if differs:
        parts.append(f"differs between runs: {differs}")
    if missing:
        parts.append(f"({missing} run{'s have' if missing != 1 else ' has'} no environment record)")
    return Text(" ".join(parts), style="dim yellow") if parts else None


def notes_lines(views: Sequence[RunView]) -> list[Text]:
    """A line per run with tags or a note, under a comparison: 'sigma0.3  #best  lr too high?'
    (a note's first line, cut at 100 characters)."""
    out = []
    for v in views:
        if not v.tags and not v.note:
            continue
        note = v.note.splitlines()[0] if v.note else ""
        note = note if len(note) <= 100 else note[:99] + "…"
        out.append(Text.assemble((v.label, "bold"), "  ", (" ".join(f"#{t}" for t in v.tags), "cyan"),
                                 "  " if v.tags and note else "", note))
    return out
