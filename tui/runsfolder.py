"""What the saved-runs screen shows of the runs folder: the reading, in its worker thread, through
the folder's index, and each run's row.

``FolderReader`` keeps a ``glo.store.index.RunIndex``: each read looks at new, live and recently changed
runs and ``ROLLING`` others in turn (in a 10,000-run folder each run is looked at every 10 s; in a
folder of up to ``ROLLING`` runs, every run at every read), reads at most ``READ_LIMIT`` runs (a
first look at a big folder shows rows as they come), reads the sweeps again only when their folder
changed, and makes each changed run's row (off the UI thread). A read cancelled with its worker (the
screen closed, the console quitting) stops within a few milliseconds.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field

from rich.text import Text
from textual.message import Message
from textual.worker import NoActiveWorker, Worker, get_current_worker

from glo.store.index import RunIndex
from glo.store.runs import SWEEPS_DIR, RunStore
from glo.store.runview import RunView
from glo.sweep.manifest import Sweep, SweepStore
from glo.view.format import duration, fmt, view_status

ROLLING = 2000  # runs looked at in turn by each read, besides new, live and recently changed ones
READ_LIMIT = 300  # runs read (their folders parsed) by one read at most
Row = tuple[tuple, tuple[str, ...]]  # cells, and the text of each


@dataclass
class RunsRead(Message):
    """The runs folder as the worker read it: each run by id and each sweep (None: as before), or
    why not; ``more``: runs are still being read (a first look at a big folder)."""

    views: dict[str, RunView] = field(default_factory=dict)
    sweeps: dict[str, Sweep] | None = field(default_factory=dict)
    error: str | None = None
    more: bool = False
    rows: dict[str, Row] = field(default_factory=dict)  # each run's cells after the mark, and their text


_gc_lock = threading.Lock()
_gc_holds = [0, True]  # how many bulk loads are under way; whether collection was on before the first


@contextmanager
def no_gc_pauses() -> Iterator[None]:
    """Hold off Python's cyclic garbage collection while many runs are loaded (10,000 rows are some
    300,000 objects: a full collection among them stops every thread for 0.1 s or more), then freeze
    what was made (``gc.freeze``: left out of later full collections; freed by reference counting as
    ever when no longer used). Nests, and works across threads (the worker and the UI load together)."""
    with _gc_lock:
        _gc_holds[0] += 1
        if _gc_holds[0] == 1:
            _gc_holds[1] = gc.isenabled()
            gc.disable()
    try:
        yield
    finally:
        with _gc_lock:
            _gc_holds[0] -= 1
            if _gc_holds[0] == 0 and _gc_holds[1]:
                gc.freeze()
                gc.enable()


class Breather:
    """Called every few runs by a read in the worker thread: True once the worker is cancelled (the
    screen closed, the console quitting). After each WORK_S of reading it sleeps REST_S: a thread
    that never sleeps holds Python's interpreter lock and the UI thread gets it back only in slices
    (then each key, each frame waits)."""

    WORK_S, REST_S = 0.004, 0.002

    def __init__(self, worker: Worker | None) -> None:
        self.worker, self.since = worker, time.perf_counter()

    def __call__(self) -> bool:
        if time.perf_counter() - self.since > self.WORK_S:
            time.sleep(self.REST_S)
            self.since = time.perf_counter()
        return self.worker is not None and self.worker.is_cancelled


class FolderReader:
    """The runs folder through its index (``glo.store.index``), for the worker thread: each read looks at
    new, live and recently changed runs and ``ROLLING`` others in turn, reads at most ``READ_LIMIT``
    runs, and keeps the sweeps until their folder changes."""

    def __init__(self, store: RunStore) -> None:
        self.store, self.index = store, RunIndex(store)
        self.sweeps_seen: int | None = None  # the sweeps folder's mtime when last read
        self.sweeps: dict[str, Sweep] = {}
        self.last: RunsRead | None = None  # what the last read found (handed on again if nothing changed)
        self.breathe = Breather(None)
        self.rows: dict[str, tuple[RunView, Sweep | None, Row]] = {}  # made again when its view or sweep changes

    def __call__(self) -> RunsRead:
        try:
            worker = get_current_worker()
        except NoActiveWorker:  # called outside a worker (tests): never cancelled
            worker = None
        self.breathe = Breather(worker)
        bulk = self.last is None or self.index.waiting > 0  # the first reads load the index and every row
        with no_gc_pauses() if bulk else nullcontext():
            try:
                changes = self.index.refresh(ROLLING, READ_LIMIT, cancelled=self.breathe)
                sweeps = self._sweeps()
            except OSError as exc:
                return RunsRead(error=f"cannot read {self.store.root}: {exc}")
            finally:
                self.index.close()  # opened again by the next read (in whichever thread runs it)
            if changes.changed or changes.removed or sweeps is not None or self.last is None:
                entries = self.index.entries
                views: dict[str, RunView] = {i: entries[i].view for i in sorted(entries)}  # oldest first
                self.last = RunsRead(views, sweeps, more=changes.more, rows=self._rows(views))
                return self.last
        return RunsRead(self.last.views, None, more=changes.more, rows=self.last.rows)  # the same: nothing to draw

    def _rows(self, views: dict[str, RunView]) -> dict[str, Row]:
        """Each run's row (made here, off the UI thread; kept while its view and sweep stay)."""
        out = {}
        for n, (run_id, view) in enumerate(views.items()):
            if n % 64 == 0:
                self.breathe()
            sweep = self.sweeps.get(view.sweep_id or "")
            kept = self.rows.get(run_id)
            if kept is None or kept[0] is not view or kept[1] is not sweep:
                cells = run_cells(view, sweep)
                kept = self.rows[run_id] = (view, sweep, (cells, tuple(str(c) for c in cells)))
            out[run_id] = kept[2]
        for run_id in self.rows.keys() - views.keys():
            del self.rows[run_id]
        return out

    def _sweeps(self) -> dict[str, Sweep] | None:
        try:
            seen = (self.store.root / SWEEPS_DIR).stat().st_mtime_ns
        except OSError:
            seen = 0
        if seen == self.sweeps_seen:
            return None
        self.sweeps_seen = seen
        self.sweeps = {s.id: s for s in SweepStore(self.store).sweeps()}
        return self.sweeps


def sweep_label(sweep: Sweep | None) -> str:
    """What a sweep varies, compactly: 'sigma 0.01,0.3,2' or 'sigma 0.1,2 x loss l1,l2'."""
    return "" if sweep is None else sweep.label.replace(", ", ",")


def sweep_cell(sweep: Sweep | None) -> str:
    """The sweep column: when the sweep began (its id starts YYYYmmdd-HHMMSS) and what it varies,
    so two sweeps over the same values stay apart: '19:28 sigma 0.01,0.3,2'."""
    if sweep is None:
        return ""
    stamp = sweep.id[9:15]
    when = f"{stamp[:2]}:{stamp[2:4]} " if sweep.id[8:9] == "-" and stamp.isdigit() else ""
    return when + sweep_label(sweep)


MARKS = (Text(" ", style="bold green"), Text("✓", style="bold green"))  # shared by every row: never changed


def mark_cell(marked: bool) -> Text:
    return MARKS[marked]


def row_for(view: RunView, marked: bool, sweep: Sweep | None = None) -> tuple:
    """A run's row: the mark, then ``run_cells``."""
    return (mark_cell(marked), *run_cells(view, sweep))


def run_cells(view: RunView, sweep: Sweep | None = None) -> tuple:
    """A run's cells after the mark: id, status, recon, epochs, time, settings, sweep, train loss."""
    last = view.last
    return (
        view.run.id,
        view_status(view),
        fmt(last.get("recon_loss")),
        view.epochs_label,
        duration(view.elapsed_s),
        view.settings_label + "".join(f" #{t}" for t in view.tags),  # tags after the settings
        Text(sweep_cell(sweep), style="magenta"),
        fmt(last.get("train_loss")),
    )
