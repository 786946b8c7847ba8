"""A run folder copied between machines, file by file, as the training loop writes it.

A sweep point trained on a Ray worker (``glo.sweep.cluster``) runs the core's own ``glo.train.loop.train``
into a private copy of its run folder on that worker; the driver's runs folder stays the single
truth. ``seed`` makes the copy from what the driver sends (the run's files: config, metrics,
environment, checkpoint; nothing when the run is new); after each event the worker's ``Shipper``
says what changed: a file appended to (metrics.jsonl, environment.jsonl: the new bytes) or
rewritten (images, the checkpoint, summary.json; metrics.jsonl trimmed to a checkpoint on resume:
the whole file). ``apply`` writes those changes into the driver's run folder the way the loop
writes a local run (atomically, lines appended whole and fsynced), so the two folders hold the
same bytes. running.json is the driver's own (its process trains the run, as far as the folder
can tell), so it never travels.

The copy lives in a private folder of the worker's temp folder (``private_folder``), marked with its
owner (process id, start time, boot id). A point removes its copy when it ends; a point whose node
or worker was killed cannot, so each point that starts first removes the copies whose owner is
gone (``remove_stale``).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from glo.host import atomic
from glo.host.procs import pid_alive, start_ticks
from glo.store.provenance import ENVIRONMENT
from glo.store.runs import (
    CHECKPOINT,
    CONFIG,
    IMAGES_NPZ,
    IMAGES_PNG,
    METRICS,
    SUMMARY,
    Run,
)
from glo.store.steplog import STEPS

APPENDED = (METRICS, ENVIRONMENT)  # line files: appended to, except when a resume trims metrics
REPLACED = (CONFIG, IMAGES_NPZ, IMAGES_PNG, CHECKPOINT, SUMMARY, STEPS)  # steps.bin: for watchers (<= 1 MiB)
SEEDED = (CONFIG, METRICS, ENVIRONMENT, CHECKPOINT, IMAGES_NPZ, IMAGES_PNG, SUMMARY, STEPS)


POINT_PREFIX = "glo-point-"
OWNER = ".glo-owner.json"
UNMARKED_AFTER_S = 3600  # a copy without an owner file (being made, or by an older glo) is stale after this


def _boot_id() -> str:
    try:
        with open("/proc/sys/kernel/random/boot_id") as fh:
            return fh.read().strip()
    except OSError:
        return ""


def _alive(owner: dict[str, Any]) -> bool:
    pid = owner.get("pid")
    if not isinstance(pid, int) or pid <= 0 or owner.get("boot") != _boot_id():
        return False  # another boot: every process of that one is gone
    if not pid_alive(pid):
        return False
    return not owner.get("started") or start_ticks(pid) == owner.get("started")  # not a reused pid


def remove_stale(base: str | os.PathLike[str]) -> list[str]:
    """Remove this user's point copies under BASE whose owner process is gone (killed with its
    node or worker before it could remove its copy); returns the folders removed. Never raises."""
    removed: list[str] = []
    try:
        entries = list(os.scandir(os.fspath(base)))
    except OSError:
        return removed
    for entry in entries:
        try:
            if (not entry.name.startswith(POINT_PREFIX) or not entry.is_dir(follow_symlinks=False)
                    or entry.stat(follow_symlinks=False).st_uid != os.getuid()):
                continue
            try:
                owner = json.loads(atomic.read_text(os.path.join(entry.path, OWNER)))
            except FileNotFoundError:
                owner = None
            if owner is None:
                if time.time() - entry.stat(follow_symlinks=False).st_mtime < UNMARKED_AFTER_S:
                    continue
            elif isinstance(owner, dict) and _alive(owner):
                continue
            shutil.rmtree(entry.path, ignore_errors=True)
            removed.append(entry.path)
        except (OSError, ValueError):
            continue
    return removed


def private_folder(base: str | os.PathLike | None = None) -> str:
    """A new folder for one point's copy under BASE (the temp folder), marked with its owner, after
    removing the stale copies there (``remove_stale``)."""
    base = base if base is not None else tempfile.gettempdir()
    remove_stale(base)
    folder = tempfile.mkdtemp(prefix=POINT_PREFIX, dir=base)
    pid = os.getpid()
    atomic.write_json(os.path.join(folder, OWNER), {"pid": pid, "started": start_ticks(pid), "boot": _boot_id()})
    return folder


@dataclass(frozen=True)
class FileChange:
    """One file of a run folder changed: ``data`` appended to it (``append``) or its new content."""

    name: str
    data: bytes
    append: bool = False


def files_of(run: Run) -> dict[str, bytes]:
    """The run folder's files a copy needs to go on training it (what exists of ``SEEDED``)."""
    out = {}
    for name in SEEDED:
        try:
            out[name] = run.file(name).read_bytes()
        except FileNotFoundError:
            continue
    return out


def seed(root: Path, run_id: str, files: dict[str, bytes]) -> Run:
    """A copy of run RUN_ID under ROOT holding FILES (from ``files_of``)."""
    run = Run(Path(root), run_id)
    run.path.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        if name not in SEEDED:
            raise ValueError(f"unexpected run file {name!r}")
        (run.path / name).write_bytes(data)
    return run


class Shipper:
    """What changed in a run folder since the last call (on the worker, after each event)."""

    def __init__(self, run: Run, extra: dict[str, Any] | None = None) -> None:
        """EXTRA: keys added to each new environment.jsonl record (the node the run trains on)."""
        self.run, self.extra = run, extra or {}
        self.stamps: dict[str, tuple[int, int]] = {}
        self.lines: dict[str, bytes] = {}  # each line file as last shipped (the driver's copy)
        for name in SEEDED:
            path = run.file(name)
            if path.exists():
                self.stamps[name] = _stamp(path)
                if name in APPENDED:
                    self.lines[name] = path.read_bytes()

    def changes(self) -> list[FileChange]:
        out = []
        for name in SEEDED:
            path = self.run.file(name)
            try:
                stamp = _stamp(path)
            except FileNotFoundError:
                continue
            if self.stamps.get(name) == stamp:
                continue
            self.stamps[name] = stamp
            data = path.read_bytes()
            change = self._lines(name, data) if name in APPENDED else FileChange(name, data)
            if change is not None:
                out.append(change)
        return out

    def _lines(self, name: str, data: bytes) -> FileChange | None:
        """New lines as an append (None when there are none); a rewritten file (metrics trimmed to
        a checkpoint on resume) whole."""
        before, self.lines[name] = self.lines.get(name, b""), data
        if not data.startswith(before):
            return FileChange(name, data)
        new = data[len(before):]
        if not new:
            return None
        return FileChange(name, self._tagged(new) if name == ENVIRONMENT and self.extra else new, append=True)

    def _tagged(self, new: bytes) -> bytes:
        """New environment records with the node's keys added (whole lines only)."""
        out = []
        for line in new.decode().splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                out.append(line)
                continue
            out.append(json.dumps({**record, **self.extra}) if isinstance(record, dict) else line)
        return "".join(x + "\n" for x in out).encode()


def _stamp(path: Path) -> tuple[int, int]:
    st = os.stat(path)
    return st.st_size, st.st_mtime_ns


def apply(run: Run, changes: list[FileChange]) -> None:
    """Write CHANGES into the driver's run folder: lines appended whole (fsynced), files replaced
    atomically, as ``glo.train.loop``'s ``RunRecorder`` writes a local run."""
    for change in changes:
        if change.name not in APPENDED and change.name not in REPLACED:
            raise ValueError(f"unexpected run file {change.name!r}")
        path = run.file(change.name)
        if change.append:
            for line in change.data.decode().splitlines():
                atomic.append_line(path, line)
        else:
            atomic.write_bytes(path, change.data)
