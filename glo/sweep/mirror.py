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
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from glo.host import atomic
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
