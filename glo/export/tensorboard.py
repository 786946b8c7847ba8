"""glo runs as TensorBoard runs: one folder of event files per glo run under a log folder.

Each glo run becomes ``LOGDIR/<run id>/``: every number of each epoch record as a scalar at its
epoch, in sections (``loss/recon_loss``, ``loss/train_loss``, ``loss/recon_l1``, ``loss/recon_l2``,
``quality/psnr``, ``live/sigma``, ``live/decay``: the settings in effect, so a live change shows as
a step; ``speed/images_per_s``, ``speed/elapsed_s``, ...), each live change as a line of text
(``live/changes``), the run's settings as hparams in the same folder (the HParams tab lists the runs
with their recon loss, PSNR and train loss), and the originals above their reconstructions as an
image (``images/reconstructions``) per epoch.

Two ways in: ``export_runs`` writes saved runs (only their last reconstructions: a run folder keeps
no older ones), each into a temp folder moved into place when whole; ``follow`` wraps the training
loop's event generator (``glo run --tensorboard``, a sweep's driver, the console) and writes as the
events come, flushing each epoch so ``tensorboard --logdir`` follows the run live.

The writer is tensorboardX (numpy and protobuf only; the ``tensorboard`` package, about 55 MB more
here, is needed only to view), imported only when something is written, and without torch where
torch is not loaded already (``_tensorboardx``).
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from glo.errors import GloError
from glo.events import Changed, Epoch, Event, Finished, Images, PointEvent, Started, SweepFinished
from glo.store.runs import Run
from glo.store.runview import RunView

SKIPPED = ("event", "epoch")  # record keys that are not plotted (the epoch is the x axis)
GROUPS = {"train_loss": "loss", "recon_loss": "loss", "recon_l1": "loss", "recon_l2": "loss", "psnr": "quality",
          "sigma": "live", "decay": "live"}  # TensorBoard's sections (tag 'loss/recon_loss'); the rest: 'speed/...'
HPARAM_METRICS = ("loss/recon_loss", "quality/psnr", "loss/train_loss")  # the HParams tab's columns


def check_logdir(logdir: str | os.PathLike, create: bool = True) -> Path:
    """LOGDIR made ready (created where missing, unless not CREATE); GloError (one line) where it is
    a file, or a folder this process cannot write, before anything is written."""
    path = Path(logdir).expanduser()
    if path.exists() and not path.is_dir():
        raise GloError(f"cannot write TensorBoard logs to {logdir}: it is a file, not a folder")
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise GloError(f"cannot write TensorBoard logs to {logdir}: {existing} is not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise GloError(f"cannot write TensorBoard logs to {logdir}: {existing} is not writable")
    if create:
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise GloError(f"cannot create {logdir}: {exc.strerror or exc}") from exc
    return path


def hparams_of(settings: dict[str, Any]) -> dict[str, Any]:
    """The settings as TensorBoard hparams: numbers, text and booleans (None: '-')."""
    return {k: v if isinstance(v, (bool, int, float, str)) else "-" if v is None else str(v)
            for k, v in settings.items()}


def image_grid(originals: np.ndarray, recons: np.ndarray) -> np.ndarray:
    """Originals above their reconstructions as one H x W x 3 uint8 picture (2 pixels of grey between)."""
    def rgb(x: np.ndarray) -> np.ndarray:
        return x if x.ndim == 4 else np.repeat(x[..., None], 3, axis=-1)

    rows = [rgb(np.asarray(originals, dtype=np.uint8)), rgb(np.asarray(recons, dtype=np.uint8))]
    k, h, w = rows[0].shape[:3]
    pad = 2
    out = np.full((2 * (h + pad) + pad, k * (w + pad) + pad, 3), 128, dtype=np.uint8)
    for r, row in enumerate(rows):
        for i, img in enumerate(row[:k]):
            y, x = pad + r * (h + pad), pad + i * (w + pad)
            out[y:y + h, x:x + w] = img
    return out


def _start_time(run_id: str) -> float | None:
    """When the run was made, from its id (YYYYmmdd-HHMMSS-..., local time); None if it has none."""
    try:
        return time.mktime(time.strptime(run_id[:15], "%Y%m%d-%H%M%S"))
    except ValueError:
        return None


def _tensorboardx() -> Any:
    """tensorboardX, imported without loading torch where torch is not loaded yet (``glo export``
    reads run folders without it): tensorboardX imports torch only to know its tensor type, which
    costs 3 s here. Where torch is loaded (a training process), it is imported as it is."""
    if "tensorboardX" not in sys.modules and "torch" not in sys.modules:
        sys.modules["torch"] = None  # type: ignore[assignment]  # 'import torch' raises ImportError meanwhile
        try:
            import tensorboardX
        finally:
            del sys.modules["torch"]
    import tensorboardX

    return tensorboardX


class RunWriter:
    """One glo run's TensorBoard run: an event file of its own in FOLDER, written synchronously
    (tensorboardX's ``EventsWriter``, not ``SummaryWriter``, whose queue and thread write later),
    so a flush puts every event so far on disk."""

    def __init__(self, folder: str | os.PathLike, run_id: str, settings: dict[str, Any]) -> None:
        _tensorboardx()
        from tensorboardX import summary
        from tensorboardX.event_file_writer import EventsWriter
        from tensorboardX.proto.event_pb2 import Event

        self.summary, self.event = summary, Event
        self.run_id, self.started = run_id, _start_time(run_id)
        os.makedirs(folder, exist_ok=True)
        # a name of its own: two files made in the same second (a quick resume) must not clash
        self.events = EventsWriter(os.path.join(str(folder), "events"), f".{os.getpid()}.{os.urandom(3).hex()}.glo")
        if settings:  # in this run's own folder (SummaryWriter.add_hparams would make a sub-folder)
            for part in summary.hparams(hparams_of(settings), dict.fromkeys(HPARAM_METRICS)):
                self._write(part)

    def _write(self, summary: Any, step: int | None = None, walltime: float | None = None) -> None:
        event = self.event(summary=summary, wall_time=time.time() if walltime is None else walltime)
        if step is not None:
            event.step = int(step)
        self.events.write_event(event)

    def _walltime(self, record: dict[str, Any]) -> float | None:
        elapsed = record.get("elapsed_s")
        return self.started + elapsed if self.started is not None and isinstance(elapsed, (int, float)) else None

    def epoch(self, record: dict[str, Any], live: bool = False) -> None:
        """Every number of an epoch record as a scalar at its epoch (LIVE: flushed, with the time now)."""
        epoch = record.get("epoch")
        if not isinstance(epoch, int):
            return
        wall = None if live else self._walltime(record)
        for key, value in record.items():
            if key not in SKIPPED and isinstance(value, (int, float)) and not isinstance(value, bool):
                self._write(self.summary.scalar(f"{GROUPS.get(key, 'speed')}/{key}", float(value)), epoch, wall)
        if live:
            self.flush()

    def change(self, record: dict[str, Any]) -> None:
        """A live change as a line of text at its epoch: 'step 120: sigma 0.3 -> 0.9'."""
        line = f"step {record.get('step')}: {record.get('param')} {record.get('old')} -> {record.get('new')}"
        epoch = record.get("epoch")
        self._write(self.summary.text("live/changes", line), epoch if isinstance(epoch, int) else None)

    def images(self, epoch: int, originals: np.ndarray, recons: np.ndarray) -> None:
        grid = image_grid(originals, recons)
        self._write(self.summary.image("images/reconstructions", grid, dataformats="HWC"), epoch)

    def flush(self) -> None:
        self.events.flush()

    def close(self) -> None:
        self.events.close()


def export_run(view: RunView, logdir: Path) -> Path:
    """Write one saved run into LOGDIR/<run id>/ (replacing what an earlier export wrote there):
    written whole into a temp folder first, then moved into place."""
    run = view.run
    target = logdir / run.id
    tmp = logdir / f".{run.id}.{os.urandom(4).hex()}.tmp"
    try:
        writer = RunWriter(tmp, run.id, view.settings)
        for record in view.epochs:
            writer.epoch(record)
        for record in view.changes:
            writer.change(record)
        images = run.read_images()
        if images is not None and view.epochs_done:
            writer.images(view.epochs_done, images[0], images[1])
        writer.close()
        _move_into(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def _move_into(tmp: Path, target: Path) -> None:
    """TMP's event files replace TARGET's (a folder an earlier export or a live run wrote)."""
    if not target.exists():
        os.rename(tmp, target)
        return
    new = list(tmp.iterdir())
    old = [p for p in target.iterdir() if p.name.startswith("events.out.tfevents.")
           and p.name not in {n.name for n in new}]  # a file of the same second is replaced, not removed
    for p in new:
        os.replace(p, target / p.name)
    for p in old:
        p.unlink(missing_ok=True)


def export_runs(views: list[RunView], logdir: str | os.PathLike) -> list[Path]:
    """Every run of VIEWS as a TensorBoard run under LOGDIR (checked first: ``check_logdir``)."""
    root = check_logdir(logdir)
    try:
        return [export_run(v, root) for v in views]
    except OSError as exc:
        raise GloError(f"cannot write TensorBoard logs to {logdir}: {exc.strerror or exc}") from exc


class Sink:
    """Writes TensorBoard runs from the training loop's events as they come: one run's events, a
    serial sweep's (one run after another) or a parallel sweep's (``PointEvent``s, interleaved).
    A write that fails (disk full) stops the sink, never the training: ``error`` says why."""

    def __init__(self, logdir: str | os.PathLike, runs_root: str | os.PathLike | None = None) -> None:
        """RUNS_ROOT: the runs folder whose config.json files give the hparams (a cluster point's
        events name its folder on the worker; default: the folder each Started event names)."""
        self.root, self.runs_root = check_logdir(logdir), runs_root
        self.writers: dict[str, RunWriter] = {}
        self.current: str | None = None  # the run whose plain (unwrapped) events come now
        self.error: str | None = None

    def feed(self, ev: Event) -> None:
        if self.error is not None:
            return
        try:
            if isinstance(ev, PointEvent):
                self._one(ev.run_id, ev.event)
            elif isinstance(ev, SweepFinished):
                self.close()
            else:
                if isinstance(ev, Started) and ev.run_id:
                    self.current = ev.run_id
                if self.current is not None:
                    self._one(self.current, ev)
        except Exception as exc:  # noqa: BLE001 - the sink must never stop training
            self.error = f"TensorBoard logs stopped: {type(exc).__name__}: {exc}"
            self.close()

    def _one(self, run_id: str, ev: Any) -> None:
        if isinstance(ev, Started):
            self._open(run_id, ev.run_dir)
            return
        writer = self.writers.get(run_id)
        if writer is None:
            return
        if isinstance(ev, Epoch):
            writer.epoch(ev.record, live=True)
        elif isinstance(ev, Changed):
            writer.change({"step": ev.step, "epoch": ev.epoch, "param": ev.param, "old": ev.old, "new": ev.new})
        elif isinstance(ev, Images):
            writer.images(ev.epoch, ev.originals, ev.reconstructions)
            writer.flush()
        elif isinstance(ev, Finished):
            self.writers.pop(run_id).close()

    def _open(self, run_id: str, run_dir: str | None) -> None:
        old = self.writers.pop(run_id, None)
        if old is not None:
            old.close()
        settings: dict[str, Any] = {}
        for root in [r for r in (self.runs_root, run_dir and Path(run_dir).parent) if r]:
            try:
                settings = Run(Path(root), run_id).read_config().to_dict()
                break
            except GloError:
                continue
        self.writers[run_id] = RunWriter(self.root / run_id, run_id, settings)

    def close(self) -> None:
        for writer in self.writers.values():
            try:
                writer.close()
            except Exception:  # noqa: BLE001 - closing what failed: nothing more to say
                pass
        self.writers.clear()


def follow(events: Iterator[Event], sink: Sink) -> Iterator[Event]:
    """EVENTS as they are, each written to SINK first. Closing this generator closes EVENTS (the
    training loop saves a stopped run when its consumer closes it) and the sink."""
    try:
        for ev in events:
            sink.feed(ev)
            yield ev
    finally:
        close = getattr(events, "close", None)
        if close is not None:
            close()
        sink.close()



def live(events: Iterator[Event], logdir: str | os.PathLike | None, warn=None,
         runs_root: str | os.PathLike | None = None) -> Iterator[Event]:
    """EVENTS written to a ``Sink`` on LOGDIR as they pass (EVENTS as they are without a LOGDIR).
    WARN(line) is told once if the logs stop (disk full); training goes on."""
    if not logdir:
        return events
    return _warned(Sink(logdir, runs_root), events, warn)


def _warned(sink: Sink, events: Iterator[Event], warn) -> Iterator[Event]:
    try:
        yield from follow(events, sink)
    finally:
        if sink.error and warn is not None:
            warn(sink.error)
