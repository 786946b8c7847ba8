"""Messages from the training worker thread to the console (dataclasses; safe to post across threads)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from textual.message import Message


@dataclass
class RunStarted(Message):
    """Training began (or resumed) in ``run_id``; ``history`` holds epoch records already on disk."""

    run_id: str | None
    epoch: int
    epochs: int
    steps_per_epoch: int
    device: str
    resumed: bool
    batch_size: int
    n_images: int
    live: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class StepsDone(Message):
    """Steps finished since the last message: ``losses`` are (step, loss) pairs, coalesced by time."""

    losses: tuple[tuple[int, float], ...]
    step: int
    epoch: int
    batch: int
    images_per_s: float


@dataclass
class EpochDone(Message):
    epoch: int
    record: dict[str, Any]


@dataclass
class ImagesReady(Message):
    epoch: int
    originals: np.ndarray
    reconstructions: np.ndarray


@dataclass
class LiveChanged(Message):
    """A live change took effect before ``step``."""

    step: int
    epoch: int
    param: str
    old: Any
    new: Any


@dataclass
class PauseChanged(Message):
    paused: bool
    step: int


@dataclass
class RunFinished(Message):
    """The run ended (completed, stopped or failed) or could not start (run_id None, status failed)."""

    status: str
    error: str | None = None
    summary: dict[str, Any] = field(default_factory=dict)


@dataclass
class StartRequested(Message):
    """The controls ask for a new run with these settings."""

    config: Any  # glo.config.RunConfig


@dataclass
class LiveChangeRequested(Message):
    """The controls ask to change sigma, decay or loss of the running run."""

    param: str
    value: Any


@dataclass
class ResumedConfig(Message):
    """The settings of the run now training when they are not the form's own (a resumed run, or a
    sweep's point): shown in the form."""

    config: Any  # glo.config.RunConfig


@dataclass
class SweepRequested(Message):
    """The controls ask for a sweep: ``config`` is the base, ``params`` the swept (setting, values)."""

    config: Any  # glo.config.RunConfig
    params: list[tuple[str, list[Any]]]


@dataclass
class SweepPointStarted(Message):
    """A sweep moves to point ``index`` (0-based) of ``total``; its run starts, resumes or is skipped."""

    sweep_id: str
    index: int
    total: int
    label: str
    run_id: str
    action: str  # start | resume | skip
    status: str  # the point's status before (pending, stopped, completed, ...)


@dataclass
class SweepEnded(Message):
    """The sweep ended: completed (every point ran to its end), stopped, or failed to go on."""

    sweep_id: str
    status: str
    completed: int
    failed: int
    total: int
    run_ids: tuple[str, ...] = ()


@dataclass
class AnalysisProgress(Message):
    """The comparison's analysis worker: ``done`` of ``total`` runs analyzed; ``run_id`` is the one
    being analyzed now (None once all are done); ``error`` says why the last one could not be."""

    done: int
    total: int
    run_id: str | None = None
    error: str | None = None


@dataclass
class ExportDone(Message):
    """The comparison was exported: the files written, or why not."""

    paths: list[str] = field(default_factory=list)
    error: str | None = None


@dataclass
class TransferReady(Message):
    """A run's transfer grid: ``rows`` of (title, uint8 K x 28 x 28), or why it could not be made."""

    run_id: str
    rows: list[tuple[str, np.ndarray]] = field(default_factory=list)
    error: str | None = None


@dataclass
class PointsUpdate(Message):
    """A parallel sweep's points as they stand (``glo sweep --workers N``): a row per point started,
    each one's recon curve, and the newest images of any point (label, originals, recons) or None."""

    rows: list[tuple[str, ...]]
    curves: list[tuple[str, list[float], list[float]]]
    images: tuple[str, Any, Any] | None = None
