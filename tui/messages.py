"""Messages to the console's screens (dataclasses; safe to post across threads).

The core's events come as they are: ``CoreEvents`` carries a batch of them (``glo.events``, coalesced
by ``tui.bridge``) and ``NewestImages`` a run's newest ``glo.events.Images``. No class here mirrors a
core event; the others are the console's own (requests from the form, analyses, a parallel sweep's
lines of points).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from textual.message import Message

from glo.config import RunConfig
from glo.events import Event, Images


@dataclass
class CoreEvents(Message):
    """The core's events (``glo.events``), in the order they came: the steps since the last batch, or
    an event that goes at once. ``cfg``: the settings of the run they belong to (its batch size and
    images, its live settings until its ``Started`` says them); ``history``: a resumed run's epochs
    already on disk."""

    events: tuple[Event, ...]
    cfg: RunConfig | None = None
    history: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class NewestImages(Message):
    """A run's newest ``glo.events.Images``; a newer one queued right behind it wins."""

    images: Images

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, NewestImages)


@dataclass
class StartRequested(Message):
    """The controls ask for a new run with these settings."""

    config: RunConfig


@dataclass
class LiveChangeRequested(Message):
    """The controls ask to change sigma, decay or loss of the running run."""

    param: str
    value: Any


@dataclass
class ResumedConfig(Message):
    """The settings of the run now training when they are not the form's own (a resumed run, or a
    sweep's point): shown in the form."""

    config: RunConfig


@dataclass
class SweepRequested(Message):
    """The controls ask for a sweep: ``config`` is the base, ``params`` the swept (setting, values)."""

    config: RunConfig
    params: list[tuple[str, list[Any]]]


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
    each one's recon curve, and the newest images of any point (label, originals, recons) or None.
    The newest wins: a newer one queued right behind it replaces it (unless only this one has images)."""

    rows: list[tuple[str, ...]]
    curves: list[tuple[str, list[float], list[float]]]
    images: tuple[str, Any, Any] | None = None

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, PointsUpdate) and (self.images is None or message.images is not None)
