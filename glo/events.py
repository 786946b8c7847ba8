"""Events yielded by the training loop: small frozen dataclasses, safe to pass between threads."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Started:
    """Training begins (or resumes) in ``run_dir`` at ``epoch`` completed epochs."""

    run_id: str | None
    run_dir: str | None
    epoch: int
    epochs: int
    steps_per_epoch: int
    device: str
    resumed: bool = False
    live: dict[str, Any] = field(default_factory=dict, hash=False)  # sigma, decay, loss in effect


@dataclass(frozen=True)
class Step:
    """One optimisation step finished."""

    step: int  # global step, 1-based
    epoch: int  # the epoch this step belongs to, 1-based
    batch: int  # batch within the epoch, 1-based
    loss: float  # training loss of this batch (reconstruction + decay penalty)
    images_per_s: float  # training throughput over the current epoch so far


@dataclass(frozen=True)
class Changed:
    """A live change of sigma, decay or loss took effect before ``step``."""

    step: int
    epoch: int
    param: str
    old: Any
    new: Any


@dataclass(frozen=True)
class Paused:
    step: int
    epoch: int


@dataclass(frozen=True)
class Resumed:
    step: int
    epoch: int


@dataclass(frozen=True)
class Epoch:
    """An epoch finished; ``record`` is the line written to metrics.jsonl."""

    epoch: int
    record: dict[str, Any] = field(hash=False)


@dataclass(frozen=True)
class Images:
    """The fixed display images and their current noise-free reconstructions (uint8, K x 28 x 28)."""

    epoch: int
    originals: np.ndarray = field(hash=False, repr=False)
    reconstructions: np.ndarray = field(hash=False, repr=False)
    labels: tuple[int, ...] = ()


@dataclass(frozen=True)
class Checkpoint:
    epoch: int
    step: int
    path: str


@dataclass(frozen=True)
class Finished:
    """The run ended: status is completed, stopped or failed."""

    status: str
    summary: dict[str, Any] = field(hash=False)
    error: str | None = None


@dataclass(frozen=True)
class SweepPoint:
    """A sweep moves to point ``index`` (0-based) of ``total``: its run starts, resumes or is skipped."""

    sweep_id: str
    index: int
    total: int
    label: str  # the point's settings, e.g. 'sigma0.3'
    run_id: str
    action: str  # start | resume | skip | retry (a worker process died: its point goes on from its checkpoint)
    status: str  # the run's status before this point (pending, stopped, completed, ...)


@dataclass(frozen=True)
class SweepFinished:
    """The sweep ended: completed (every point ran to its end) or stopped."""

    sweep_id: str
    status: str
    completed: int  # points whose run completed
    failed: int  # points whose run failed
    total: int
    run_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class PointEvent:
    """An event of sweep point ``index``'s run (``run_id``), when a sweep trains several points at
    once (``glo sweep --workers N``): their events interleave, each wrapped so."""

    index: int
    run_id: str
    event: Any = field(hash=False)


Event = Started | Step | Changed | Paused | Resumed | Epoch | Images | Checkpoint | Finished | SweepPoint | SweepFinished | PointEvent
