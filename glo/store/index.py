"""The runs folder's index: what listings show of each run, kept in ``RUNS/.index.sqlite``.

Reading a run folder (``glo.store.runview.RunView``) parses its config, metrics and summary: about a
millisecond a run, ten seconds for 10,000 runs. The index keeps what the listings show of each run
(an ``IndexedView``: status, settings, epochs done of the total, the last epoch's numbers, warnings)
under the stamp of the files it was read from: the inode, size and mtime of config.json,
metrics.jsonl, summary.json, running.json and environment.jsonl, and the folder's own mtime (it
changes when a file appears, goes or is replaced). A refresh stats each run folder (and, where its
mtime is unchanged, only the files that change in place: ``glo.store.stamps``) and reads again only the
runs whose stamp changed; a run with running.json is checked for a live process every time
(``Run.is_live``), and a run modified within ``RACY_NS`` of being read is read again next time (a
change in the same clock tick can leave a stamp alike).

The folders stay the truth. The index is derived: deleting it loses nothing, a damaged one is
deleted and rebuilt, one that cannot be written is done without, and its name is never a run id.
sqlite's write-ahead log and a busy timeout let several glo processes read and update it at once.
"""

from __future__ import annotations

import copy
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from glo.config import RunConfig
from glo.errors import RunStoreError
from glo.store import notes, provenance
from glo.store.indexdb import INDEX, LAST_KEYS, IndexFile  # noqa: F401 - INDEX: the file's name, for callers
from glo.store.runs import CONFIG, METRICS, SUMMARY, Run, RunStore
from glo.store.runview import RunView, run_label
from glo.store.stamps import RACY_NS, file_mtime, has_running, is_racy, is_run, stamp_of

FINISHED = ("completed", "stopped", "failed")
INDEXED_SETTINGS = tuple(f.name for f in fields(RunConfig))


def _final(summary: dict[str, Any] | None, stamp: str | None) -> tuple[int, dict[str, Any]] | None:
    """(epochs done, the last epoch record) as summary.json gives them for a finished run that no
    process has touched since: no running.json, and metrics.jsonl not modified after summary.json
    (which glo writes after its last record). None: read metrics.jsonl instead."""
    if not summary or stamp is None or has_running(stamp) or summary.get("status") not in FINISHED:
        return None
    done, final, written = summary.get("epochs_done"), summary.get("final"), file_mtime(stamp, SUMMARY)
    metrics = file_mtime(stamp, METRICS)
    if written is None or metrics is None or metrics >= written or type(done) is not int:
        return None
    if done == 0:
        return (0, {}) if final is None else None
    if not isinstance(final, dict) or final.get("epoch") != done or final.get("event") != "epoch":
        return None  # a run resumed from a checkpoint counts its epochs in metrics.jsonl
    return done, final


class IndexedView(RunView):
    """A ``RunView`` as the index holds it: what the listings show (status, settings and their label,
    epochs done of the total, the last epoch's numbers, warnings) without reading the run folder.
    Anything else (epoch records, summary, live changes, analysis, environment) is read from the
    folder, as a whole ``RunView``, the first time it is asked for."""

    def __init__(self, run: Run, recorded: str, done: int, total: int | None, last: dict[str, Any],
                 settings: dict[str, Any] | str, settings_label: str, warnings: list[str], live: bool = False,
                 tags: tuple[str, ...] = (), note: str = "") -> None:
        self.run, self.label = run, run_label(run)
        self.recorded = recorded  # the status the files record (``Run.recorded_status``)
        self.done, self.total, self.last, self._settings = done, total, last, settings  # settings: maybe JSON
        self._settings_label, self.warnings = settings_label, warnings
        self.tags, self.note = tags, note  # notes.json (glo.store.notes)
        self.status = self.live_status(live)

    def live_status(self, live: bool) -> str:
        """The status, given whether a process trains the run now (as ``Run.status``)."""
        return self.recorded if self.recorded == "damaged" or not live else "running"

    @classmethod
    def read(cls, run: Run, stamp: str | None = None) -> IndexedView:
        """Read what listings show from the run folder, as ``RunView`` (without analysis) reads it,
        but parsing only the last epoch record of metrics.jsonl where it can (``Run.last_epoch``).
        STAMP: the folder's stamp just taken, which says which files are there."""
        own = Run(run.root, run.id)  # a Run of its own: the warnings of this read only
        summary = own.read_summary()
        recorded = own.recorded_status(summary, None if stamp is None else f"|{CONFIG}:" in stamp)
        try:
            config: RunConfig | None = own.read_config()
        except RunStoreError:
            config = None
        done, last = _final(summary, stamp) or own.last_epoch()
        warnings = own.warnings + provenance.record_warnings(own.path)
        settings = {name: getattr(config, name) for name in INDEXED_SETTINGS} if config is not None else {}
        label = RunView.settings_label.fget(SimpleNamespace(config=config))  # type: ignore[attr-defined]
        tags, note = notes.read(str(own.path)) if stamp is None or f"|{notes.NOTES}:" in stamp else ((), "")
        return cls(run, recorded, done, config.epochs if config is not None else None,
                   {k: last[k] for k in LAST_KEYS if k in last}, settings, label, warnings,
                   live=recorded != "damaged" and (stamp is None or has_running(stamp)) and own.is_live(),
                   tags=tags, note=note)

    def row(self, s: str) -> tuple[Any, ...]:
        """Its row in the index file, under stamp S ('~' before it: racy, to be read again)."""
        return (self.run.id, s, self.recorded, self.done, self.total, self._settings_label,
                json.dumps(self.warnings) if self.warnings else "[]", json.dumps(self.settings),
                " ".join(self.tags), self.note, *(self.last.get(k) for k in LAST_KEYS))

    @classmethod
    def from_row(cls, run: Run, row: tuple[Any, ...]) -> IndexedView:
        recorded, done, total, label, warnings, settings = row[2:8]
        if not (isinstance(settings, str) and settings.startswith("{")):
            raise ValueError("not a row of this index")
        warnings = [] if warnings == "[]" else json.loads(warnings)
        if not isinstance(warnings, list):
            raise ValueError("not a row of this index")
        tags, note = row[8:10]
        last = {k: v for k, v in zip(LAST_KEYS, row[10:], strict=False) if v is not None}
        return cls(run, str(recorded), int(done), None if total is None else int(total), last, settings,
                   str(label), warnings, tags=tuple(str(tags or "").split()), note=str(note or ""))

    @property
    def settings(self) -> dict[str, Any]:  # type: ignore[override]
        if isinstance(self._settings, str):  # decoded when first needed: a listing may never need it
            try:
                settings = json.loads(self._settings)
            except ValueError:
                settings = None
            self._settings = settings if isinstance(settings, dict) else {}
        return self._settings

    @property
    def epochs_done(self) -> int:
        return self.done

    @property
    def sweep_id(self) -> str | None:
        if isinstance(self._settings, str) and '"sweep": null' in self._settings:
            return None  # most runs are in no sweep: no need to decode their settings
        return self.settings.get("sweep")

    @property
    def epochs_label(self) -> str:
        return f"{self.done}/{'?' if self.total is None else self.total}"

    @property
    def settings_label(self) -> str:
        return self._settings_label

    @property
    def config(self) -> RunConfig | None:  # type: ignore[override]
        return RunConfig.from_dict(self.settings) if self.settings else None

    def __getattr__(self, name: str) -> Any:
        """What the index does not hold, from the whole run folder (read once)."""
        if name.startswith("_"):
            raise AttributeError(name)
        full = self.__dict__.get("_full")
        if full is None:
            full = self.__dict__["_full"] = RunView(Run(self.run.root, self.run.id), self.label)
        return getattr(full, name)


@dataclass
class Entry:
    stamp: str
    view: IndexedView
    racy: bool  # modified too recently to trust the stamp: read again next time


@dataclass
class Changes:
    """What a refresh found: runs new or changed (their views), runs gone; ``more``: runs still wait
    to be read (a refresh with a limit)."""

    changed: dict[str, IndexedView] = field(default_factory=dict)
    removed: list[str] = field(default_factory=list)
    more: bool = False


def _read_rows(root: str, runs: list[tuple[str, str]]) -> list[tuple[Any, ...]]:
    """In a worker process: the index rows of runs (id, stamp) read afresh (the stamps are the caller's)."""
    return [IndexedView.read(Run(Path(root), run_id), s).row("") for run_id, s in runs]


class RunIndex:
    """The runs of a runs folder as the index and the folders say, kept current by ``refresh``.
    One thread at a time uses it (a listing, or the console's reading worker). WORKERS > 1: a
    refresh with many runs to read reads them in that many processes (only from a process's main
    thread: forking a process with other threads running is not safe)."""

    def __init__(self, store: RunStore, cached: bool = True, workers: int = 1) -> None:
        self.store, self.workers = store, workers
        self.file = IndexFile(store.root) if cached else None  # cached=False: read every run, keep no file
        self.entries: dict[str, Entry] = {}  # by run id
        self._loaded = False
        self._turn = 0  # where the next rolling refresh goes on
        self._stale: list[tuple[str, str, bool]] = []  # (run id, stamp, racy) of runs waiting to be read
        self._looked = False  # every run has been looked at since the index file was loaded
        self._urgent: set[str] = set()  # runs looked at every time: live (running.json) or racy
        self._listed: tuple[int, list[str], frozenset[str]] | None = None  # the runs folder's mtime, its ids

    def views(self) -> list[IndexedView]:
        """Every run, oldest first (by id), after one whole refresh."""
        self.refresh()
        return [self.entries[run_id].view for run_id in sorted(self.entries)]

    def close(self) -> None:
        if self.file is not None:
            self.file.close()

    @property
    def waiting(self) -> int:
        """How many runs wait to be read (a refresh with a limit left them)."""
        return len(self._stale)

    def _load(self, cancelled: Callable[[], bool] | None = None) -> None:
        """The rows of the index file, as entries still to be checked against the folders."""
        self._loaded = True
        if self.file is None or not self.store.root.is_dir():
            return
        for n, row in enumerate(self.file.rows()):
            if cancelled is not None and n % 64 == 0:
                cancelled()  # a chance to breathe (see refresh); a load is quick, and not cut short
            try:
                run_id = str(row[0])
                stamp = str(row[1])
                view = IndexedView.from_row(Run(self.store.root, run_id), row)
                self._enter(run_id, Entry(stamp.lstrip("~"), view, racy=stamp.startswith("~")))
            except (ValueError, TypeError, IndexError):  # a damaged row: that run is read again
                continue

    def refresh(self, rolling: int | None = None, limit: int | None = None,
                cancelled: Callable[[], bool] | None = None) -> Changes:
        """Look at the runs folder: new runs are read, gone ones dropped, and the runs looked at are
        read again where their stamp changed (or checked for a live process where they have
        running.json). ROLLING: look at only that many of the other runs, in turn, besides new, live
        and recently modified ones. LIMIT: read at most that many runs; the rest wait for the next
        refresh, which reads them before it looks again (``more`` says some wait). CANCELLED: stop
        early, keeping what was read. A run waiting to be read is in no listing until it is.
        CANCELLED is called every few runs: a caller in a thread may also pause there for a moment,
        so that its process's other threads (a console's UI) get the interpreter meanwhile."""
        if not self._loaded:
            self._load(cancelled)
        changes = Changes()
        if not self._stale:
            self._look_all(rolling, changes, cancelled)
        todo, self._stale = (self._stale, []) if limit is None else (self._stale[:limit], self._stale[limit:])
        read, unread = self._read(todo, cancelled)
        self._stale = unread + self._stale
        self._save(read, [])
        changes.changed.update(read)
        changes.more = bool(self._stale)
        return changes

    def _look_all(self, rolling: int | None, changes: Changes, cancelled: Callable[[], bool] | None) -> None:
        """Stamp the runs to look at (``_todo``), noting in CHANGES what went and whose live status
        changed; the runs to read wait in ``_stale``."""
        ids, present = self._ids()
        changes.removed = sorted(self.entries.keys() - present)
        for run_id in changes.removed:
            del self.entries[run_id]
            self._urgent.discard(run_id)
        for n, run_id in enumerate(self._todo(ids, present, rolling)):
            if cancelled is not None and n % 64 == 0 and cancelled():
                return
            kind, found = self._look(run_id)
            if kind == "gone":
                changes.removed.append(run_id)
            elif kind == "changed":
                changes.changed[run_id] = found
            elif kind == "read":
                self.entries.pop(run_id, None)  # its old view is out of date: listed again once read
                self._stale.append((run_id, *found))
        self._looked = True
        self._save({}, changes.removed)

    def _ids(self) -> tuple[list[str], frozenset[str]]:
        """The folders of the runs folder that may be runs (``RunStore.ids``), listed again only when
        the runs folder's mtime changed (a folder made, removed or renamed in it changes it)."""
        try:
            mtime = os.stat(self.store.root).st_mtime_ns
        except OSError:
            return [], frozenset()
        if self._listed is None or self._listed[0] != mtime or mtime > time.time_ns() - RACY_NS:
            ids = self.store.ids()
            self._listed = (mtime, ids, frozenset(ids))
        return self._listed[1], self._listed[2]

    def _todo(self, ids: list[str], present: frozenset[str], rolling: int | None) -> list[str]:
        """The runs to look at, newest first: all, or (ROLLING) new, live and racy ones and the next
        ROLLING others in turn."""
        if rolling is None or not self._looked or len(ids) <= rolling:
            return ids[::-1]
        start = self._turn % len(ids)
        self._turn = start + rolling
        turn = ids[start:start + rolling] + ids[:max(0, start + rolling - len(ids))]
        urgent = sorted((present - self.entries.keys()) | (self._urgent & present), reverse=True)
        return list(dict.fromkeys(urgent + turn[::-1]))

    def _look(self, run_id: str) -> tuple[str, Any]:
        """One run folder: ('same', None), ('gone', None), ('changed', its view: only its live
        status changed) or ('read', (its stamp, racy)): it must be read again."""
        entry = self.entries.get(run_id)
        before = entry.stamp if entry is not None and not entry.racy else None
        now = time.time_ns()
        s = stamp_of(f"{self.store.root}/{run_id}", before)
        if s is None or not is_run(s):
            if entry is None:
                return "same", None  # not a run (a foreign folder): never listed
            del self.entries[run_id]
            self._urgent.discard(run_id)
            return "gone", None
        if entry is None or before is None or s != before:  # (no entry: no stamp before)
            return "read", (s, is_racy(s, now))
        if not has_running(s):
            return "same", None
        view = entry.view
        status = view.live_status(view.run.is_live())
        if status == view.status:
            return "same", None
        entry.view = view = copy.copy(view)  # the old one may be shown elsewhere: never changed under it
        view.status = status
        return "changed", view

    def _read(self, stale: list[tuple[str, str, bool]], cancelled: Callable[[], bool] | None = None
              ) -> tuple[dict[str, IndexedView], list[tuple[str, str, bool]]]:
        """Read runs afresh (in worker processes when there are many) into entries with their
        stamps: their views, and the runs left unread (CANCELLED said stop)."""
        root = self.store.root
        out: dict[str, IndexedView] = {}
        rows = self._read_in_processes([(run_id, s) for run_id, s, _ in stale]) if len(stale) >= 1000 else None
        for i, (run_id, s, racy) in enumerate(stale):
            if rows is None and cancelled is not None and i % 8 == 0 and cancelled():
                return out, stale[i:]
            run = Run(root, run_id)
            if rows is None:
                view = IndexedView.read(run, s)
                if view.recorded == "damaged" and not os.path.isdir(run.path):
                    continue  # gone while it waited to be read
            elif not os.path.isdir(run.path):
                continue
            else:
                view = IndexedView.from_row(run, rows[i])
                view.status = view.live_status(has_running(s) and run.is_live())
            self._enter(run_id, Entry(s, view, racy))
            out[run_id] = view
        return out, []

    def _read_in_processes(self, runs: list[tuple[str, str]]) -> list[tuple[Any, ...]] | None:
        """The rows of RUNS (id, stamp) read by WORKERS processes, in order (None: read them here instead)."""
        if self.workers < 2:
            return None
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        n = self.workers * 4
        chunks = [runs[i::n] for i in range(n)]
        try:
            context = multiprocessing.get_context("fork" if os.name == "posix" and sys.platform != "darwin" else None)
            with ProcessPoolExecutor(self.workers, mp_context=context) as pool:
                parts = list(pool.map(_read_rows, [str(self.store.root)] * n, chunks))
        except Exception:  # noqa: BLE001 - no processes here (a sandbox, a broken pool): read serially
            return None
        rows: dict[str, tuple[Any, ...]] = {}
        for chunk, part in zip(chunks, parts, strict=True):
            rows.update(zip((run_id for run_id, _ in chunk), part, strict=False))
        return [rows[run_id] for run_id, _ in runs]

    def _enter(self, run_id: str, entry: Entry) -> None:
        self.entries[run_id] = entry
        if entry.racy or has_running(entry.stamp):
            self._urgent.add(run_id)
        else:
            self._urgent.discard(run_id)

    def _save(self, changed: dict[str, IndexedView], removed: list[str]) -> None:
        """Write the rows of runs read again (racy ones marked so: whoever loads them reads them again)."""
        if self.file is None:
            return
        rows = [e.view.row(("~" if e.racy else "") + e.stamp) for run_id in changed
                if (e := self.entries.get(run_id)) is not None and e.view is changed[run_id]]
        self.file.save(rows, removed)
