"""Watching a run that another process trains: its folder, read as it grows, as the training loop's
own events, so every front end shows a watched run as it shows a run it trains itself.

``RunWatcher.poll`` reads only what was appended since the last poll (metrics.jsonl and steps.bin
from the offsets reached; images.npz when its time changes; running.json and summary.json for the
end). The first poll replays the run from its start: ``Started`` at epoch 0 (with the settings in
effect now, so a form shows them), then every step loss kept (``glo.store.steplog``), epoch, live
change, pause and resume in the order they happened, then the newest images. It ends with ``Finished``
once no live process
trains the run. Reading never writes anything and never imports torch.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from glo.config import LIVE_PARAMS
from glo.events import Changed, Epoch, Event, Finished, Images, Paused, Resumed, Started, Step
from glo.store import provenance
from glo.store.runs import IMAGES_NPZ, METRICS, Run
from glo.store.steplog import STEPS, read_steps


@dataclass(frozen=True)
class Notice:
    """Something the run recorded that no training event says: a request taken or refused."""

    step: int
    text: str
    warning: bool = False


def _order(rec: dict[str, Any]) -> float:
    """Where a metrics record goes among the steps: after the steps it follows."""
    step = rec["step"] if isinstance(rec.get("step"), int) else 0
    return step - 0.5 if rec.get("event") in ("change", "request", "warning") else step + 0.5


class RunWatcher:
    """One run folder, read incrementally; ``poll`` returns the events since the last poll."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.cfg = run.read_config()
        self.live = {k: getattr(self.cfg, k) for k in LIVE_PARAMS}
        self.started = self.finished = False
        self._metrics, self._tail = 0, b""
        self._steps, self._last_step = 0, 0
        # the step file read (inode, device): a new one is read from the start
        self._steps_id: tuple[int, int] | None = None
        self._per_epoch: int | None = None  # steps per epoch, from the step file's header once read
        self._images: int | None = None
        self.epoch = 0

    def poll(self) -> list[Event | Notice]:
        live = self.run.is_live()  # before reading: what a run wrote before it ended is read below
        records = self._new_records()
        steps = self._new_steps()
        events: list[Any] = [] if self.started else [self._started(records)]
        self.started = True
        merged = sorted([(s.step, 0, s) for s in steps] + [(_order(r), 1, r) for r in records],
                        key=lambda item: item[:2])
        for _, _, item in merged:
            event = item if isinstance(item, Step) else self._event(item)
            if event is not None:
                events.append(event)
        images = self._new_images()
        if images is not None:
            events.append(images)
        if not live:
            summary = self.run.read_summary() or {}
            status = self.run.recorded_status(summary, has_config=True)  # killed: no summary, interrupted
            summary = {"status": status, "epochs_done": self.epoch, **summary}
            error = summary.get("error")
            events.append(Finished(status, summary, error if isinstance(error, str) else None))
            self.finished = True
        return events

    def _started(self, records: list[dict[str, Any]]) -> Started:
        """Started at epoch 0, with the settings in effect now (the changes replayed after it lead there)."""
        per_epoch = self._steps_per_epoch()
        env, _ = provenance.read_records(self.run.path)
        device = str(env[-1].get("device", self.cfg.device)) if env else str(self.cfg.device)
        now = dict(self.live)
        now.update({r["param"]: r.get("new") for r in records if r.get("event") == "change" and r.get("param") in now})
        return Started(self.run.id, str(self.run.path), 0, self.cfg.epochs, per_epoch, device, False, now)

    def _steps_per_epoch(self) -> int:
        if self._per_epoch is not None:  # the step file's header (read by _new_steps)
            return self._per_epoch
        n = self.cfg.n_images
        return max(1, math.ceil(n / self.cfg.batch_size)) if isinstance(n, int) else 1

    def _new_records(self) -> list[dict[str, Any]]:
        try:
            with open(self.run.at(METRICS), "rb") as fh:
                size = os.fstat(fh.fileno()).st_size
                if size < self._metrics:  # rewritten shorter (a resume trims it): read it again
                    self._metrics, self._tail = 0, b""
                fh.seek(self._metrics)
                data = self._tail + fh.read()
                self._metrics = size
        except OSError:
            return []
        *lines, self._tail = data.split(b"\n")
        out = []
        for line in lines:
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if isinstance(rec, dict):
                out.append(rec)
        return out

    def _new_steps(self) -> list[Step]:
        path = self.run.at(STEPS)
        try:
            st = os.stat(path)
        except OSError:
            return []
        if (st.st_ino, st.st_dev) != self._steps_id or st.st_size < self._steps:  # rewritten: from the start
            self._steps_id, self._steps = (st.st_ino, st.st_dev), 0
        found = read_steps(path, self._steps)
        if found is None:
            return []
        self._per_epoch, self._steps = found[0], found[3]
        steps = [s for s in found[2] if s.step > self._last_step]
        if steps:
            self._last_step = steps[-1].step
        return steps

    def _event(self, rec: dict[str, Any]) -> Event | Notice | None:
        kind, step, epoch = rec.get("event"), rec.get("step", 0), rec.get("epoch", 0)
        if kind == "epoch" and isinstance(epoch, int) and isinstance(rec.get("recon_loss"), (int, float)):
            self.epoch = max(self.epoch, epoch)
            return Epoch(epoch, rec)
        if kind == "change" and rec.get("param") in self.live:
            self.live[rec["param"]] = rec.get("new")
            return Changed(step, epoch, rec["param"], rec.get("old"), rec.get("new"))
        if kind == "pause":
            return Paused(step, epoch)
        if kind == "resume":
            return Resumed(step, epoch)
        if kind == "request":
            params = " ".join(f"{k}={v}" for k, v in (rec.get("params") or {}).items())
            return Notice(step, f"{rec.get('action')} {params}".strip() + f" (from {rec.get('from') or '?'})")
        if kind == "warning":
            return Notice(step, str(rec.get("message")), warning=True)
        return None

    def _new_images(self) -> Images | None:
        try:
            mtime = os.stat(self.run.at(IMAGES_NPZ)).st_mtime_ns
        except OSError:
            return None
        if mtime == self._images:
            return None
        found = self.run.read_images()
        if found is None:
            return None
        self._images = mtime
        originals, reconstructions, labels = found
        return Images(self.epoch, originals, reconstructions, tuple(int(x) for x in labels))


def watch(run: Run, until: Callable[[], bool] = lambda: False, interval: float = 0.25) -> Iterator[Event | Notice]:
    """RUN's events as it trains (``RunWatcher``), until it ends or UNTIL() says to stop watching."""
    watcher = RunWatcher(run)
    while True:
        yield from watcher.poll()
        if watcher.finished:
            return
        deadline = time.monotonic() + interval
        while time.monotonic() < deadline:
            if until():
                return
            time.sleep(0.05)
