"""The training loop: one generator that trains a GLO model and yields events.

Every front end (the headless CLI, the console's worker thread, sweeps, benchmarks) iterates
``train``; nothing else runs a training step. Controls (pause, resume, stop, live changes of
sigma, decay and loss) may be called from any thread and act before the next step.

The model, its optimiser and its steps are a ``Trainer`` (``glo/train/trainer.py``), which writes no
files; the run folder is written by a ``RunRecorder`` from what the loop yields, in this order per
epoch: the metrics line, the images, the checkpoint (the crash tests kill the process between).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

from glo.config import RunConfig
from glo.data.sets import Split
from glo.errors import RunStoreError
from glo.events import (
    CONTROLS_S,
    Changed,
    Checkpoint,
    Epoch,
    Event,
    Finished,
    Images,
    Paused,
    Resumed,
    Started,
)
from glo.host.threads import ThreadPolicy
from glo.imaging.shown import npz_bytes, png_bytes
from glo.model import checkpoint
from glo.store import provenance
from glo.store.runs import CHECKPOINT, IMAGES_NPZ, IMAGES_PNG, Run
from glo.train.channel import Link, open_link
from glo.train.controls import Controls
from glo.train.trainer import (  # objective: looked up here at each run (tests replace it)
    Trainer,
    objective,
)


class _Stop(Exception):
    """Raised inside the loop when a stop was requested."""


class RunRecorder:
    """Writes one run's folder from what the training loop yields; ``RunRecorder(None)`` writes
    nothing (``active`` is False). Every write is atomic (``glo.store.runs``)."""

    def __init__(self, run: Run | None) -> None:
        self.run = run
        self.active = run is not None

    def load_checkpoint(self, device: torch.device) -> dict[str, Any]:
        if self.run is None:
            raise RunStoreError("resume needs a run folder")
        return checkpoint.load(self.run.file(CHECKPOINT), map_location=device)

    def begin(self, cfg: RunConfig, resume: bool, epoch_done: int, step: int, trainer: Trainer | None = None) -> None:
        """A fresh run writes its config; a resumed one drops what came after its checkpoint. Both
        append what they run with and where (TRAINER's device and data) to environment.jsonl; a
        failed write raises RunStoreError before any training, as a failed config.json does."""
        if self.run is None:
            return
        if resume:
            self.run.clean_temp_files()
            self.run.truncate_metrics(epoch_done, step)
        else:
            self.run.write_config(cfg)
        if trainer is not None:
            provenance.append(self.run.path, provenance.make_record("resume" if resume else "start", epoch_done,
                                                                    step, trainer.device, trainer.split))
        self.run.mark_running()

    def started(self, trainer: Trainer, resume: bool) -> Started:
        run = self.run
        return Started(run.id if run else None, str(run.path) if run else None, trainer.epoch_done,
                       trainer.cfg.epochs, trainer.n_batches, str(trainer.device), resume, dict(trainer.live))

    def record(self, record: dict[str, Any]) -> None:
        """One metrics line (an epoch or a live change)."""
        if self.run is not None:
            self.run.append_metrics(record)

    def images(self, ev: Images) -> None:
        if self.run is not None:
            self.run.write_file(IMAGES_NPZ, npz_bytes(ev.originals, ev.reconstructions, np.array(ev.labels)))
            self.run.write_file(IMAGES_PNG, png_bytes(ev.originals, ev.reconstructions))

    def checkpoint(self, state: dict[str, Any]) -> str:
        assert self.run is not None, "checkpoint() needs an active recorder"
        self.run.write_file(CHECKPOINT, checkpoint.to_bytes(state))
        return str(self.run.file(CHECKPOINT))

    def finish(self, summary: dict[str, Any]) -> dict[str, Any]:
        """Write summary.json and clear the running marker; a failed write is noted in the summary."""
        if self.run is not None:
            try:
                self.run.write_summary(summary)
            except OSError as exc:  # disk full, folder gone: say so, never crash the caller
                error = summary["error"]
                summary["error"] = (f"{error}; " if error else "") + f"could not write summary.json: {exc}"
            try:
                self.run.clear_running()
            except OSError:
                pass
        return summary


def train(
    cfg: RunConfig,
    run: Run | None = None,
    controls: Controls | None = None,
    split: Split | None = None,
    resume: bool = False,
) -> Iterator[Event]:
    """Train (or resume) one run, yielding events; files go to ``run`` when one is given."""
    controls = controls or Controls()
    trainer = Trainer(cfg, split, objective=objective)
    recorder = RunRecorder(run)
    if resume:
        trainer.restore(recorder.load_checkpoint(trainer.device))
    policy = ThreadPolicy(cfg.threads) if trainer.device.type == "cpu" else None
    if policy is not None:
        policy.start()
    recorder.begin(cfg, resume, trainer.epoch_done, trainer.step, trainer)
    link = open_link(run, controls, recorder.record, trainer.n_batches, trainer.step)  # other processes' requests
    trainer.start_clock()
    yield recorder.started(trainer, resume)
    yield trainer.images_event()

    status, error = "completed", None
    try:
        yield from _epochs(trainer, recorder, controls, policy, link)
    except (_Stop, GeneratorExit) as exc:
        status = "stopped"
        try:
            if recorder.active:
                recorder.checkpoint(trainer.state_dict())
        except OSError as write_error:
            status, error = "failed", f"could not save the checkpoint: {write_error}"
        if isinstance(exc, GeneratorExit):  # the consumer closed us: no more yields
            recorder.finish(trainer.summary(status, error))
            raise
    except Exception as exc:  # noqa: BLE001 - the run fails, the caller stays alive
        status, error = "failed", f"{type(exc).__name__}: {exc}"
    finally:
        if link is not None:
            link.close()
    summary = recorder.finish(trainer.summary(status, error))
    yield Finished(status, summary, error)


def _epochs(trainer: Trainer, recorder: RunRecorder, controls: Controls,
            policy: ThreadPolicy | None = None, link: Link | None = None) -> Iterator[Event]:
    """Every epoch left: controls act before each step, the thread POLICY times each step; after
    each epoch, its record, images and checkpoint are written and yielded in that order."""
    for epoch in trainer.epochs_left():
        for b in trainer.start_epoch(epoch):
            if link is not None:  # every POLL_S: requests from other processes act on CONTROLS
                link.poll(trainer.step, epoch)
            if controls.stop_requested:
                raise _Stop
            if controls.paused:
                yield from _pause(trainer, controls, epoch, recorder, link)
            changes = controls.take_changes()
            if changes:
                records = trainer.apply_changes(changes)
                for rec in link.tagged(records) if link is not None else records:
                    recorder.record(rec)
                    yield Changed(rec["step"], rec["epoch"], rec["param"], rec["old"], rec["new"])
            clock = time.perf_counter()
            step = trainer.train_batch(b)
            if policy is not None:
                _threads(trainer, recorder, policy, time.perf_counter() - clock)
            if link is not None:
                link.stepped(step)
            yield step

        record = trainer.end_epoch()
        if policy is not None:
            record["threads"] = policy.threads
        recorder.record(record)
        yield Epoch(epoch, record)
        images = trainer.images_event()
        recorder.images(images)
        yield images
        if recorder.active:
            path = recorder.checkpoint(trainer.state_dict())
            yield Checkpoint(epoch, trainer.step, path)


def _threads(trainer: Trainer, recorder: RunRecorder, policy: ThreadPolicy, seconds: float) -> None:
    """Tell the policy how long the step took; a changed thread count is recorded in metrics.jsonl."""
    before = policy.settled
    threads = policy.step_done(seconds)
    if threads is not None:
        recorder.record({"event": "threads", "step": trainer.step, "epoch": trainer.epoch, "old": before,
                         "new": threads, "elapsed_s": round(trainer.elapsed(), 3)})


def _pause(trainer: Trainer, controls: Controls, epoch: int, recorder: RunRecorder,
           link: Link | None = None) -> Iterator[Event]:
    """Wait while paused (the time waited is not training time; LINK's requests are still read); a
    stop while paused stops. Pause and resume are recorded in metrics.jsonl (for watchers)."""
    t_pause = time.perf_counter()
    recorder.record({"event": "pause", "step": trainer.step, "epoch": epoch})
    yield Paused(trainer.step, epoch)
    while controls.paused and not controls.stop_requested:
        controls.wait_while_paused(CONTROLS_S)
        if link is not None:
            link.check(trainer.step, epoch)
    trainer.exclude_pause(time.perf_counter() - t_pause)
    if controls.stop_requested:
        raise _Stop
    recorder.record({"event": "resume", "step": trainer.step, "epoch": epoch})
    yield Resumed(trainer.step, epoch)
