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
    """A resumed run's settings (shown in the form)."""

    config: Any  # glo.config.RunConfig
