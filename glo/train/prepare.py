"""Preparing a run: every check before any file is written, then its folder and its data.

A single run starts through ``prepare`` (``glo run``, the console's form and its ``R``, ``glo
serve``'s tabs through the console): a new run is validated, its device checked and its data loaded
before its folder is created; a resumed run must be resumable and its checkpoint loadable first.
Bad input raises GloError (the CLI's exit code 2) with nothing written. Sweep points go through
``glo.sweep.manifest``, which starts over a point without a checkpoint with the same ``Run.start_over``.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from glo.config import RunConfig
from glo.data.sets import Split, load_config
from glo.errors import GloError
from glo.store import provenance
from glo.store.runs import CHECKPOINT, Run, RunStore

if TYPE_CHECKING:
    import torch

Loader = Callable[[RunConfig], Split]  # the data split a config trains on (default: glo.data.sets.load_config)


@dataclass
class PreparedRun:
    """A run ready to train: its settings, its folder (created or reopened), its data; ``note`` is
    a line for the user when the run is not what they might expect (started over from epoch 0, or
    resumed with other versions, device, host or data than it last ran with; both: two lines)."""

    cfg: RunConfig
    run: Run
    split: Split
    resume: bool
    note: str | None = None


def check_resumable(run: Run) -> RunConfig:
    """The saved settings of a run that may be resumed (or started over, when it has no checkpoint
    yet); raises GloError naming why it may not."""
    from glo.model import checkpoint

    if run.is_empty():  # killed between creating its folder and saving its settings (older glo did that)
        shutil.rmtree(run.path, ignore_errors=True)
        raise GloError(f"run {run.id} was killed while it was being created, before its settings were saved: "
                       f"nothing to resume (its empty folder is removed); start a new run")
    status = run.status()
    if status == "completed":
        raise GloError(f"run {run.id} is already completed; start a new run instead")
    if status == "running":
        raise GloError(f"run {run.id} is being trained by another process")
    if run.has_checkpoint():
        checkpoint.load(run.file(CHECKPOINT))  # refuses a damaged or foreign file before any work
    return run.read_config().validate()


def moved_note(run: Run, device: torch.device | str, split: Split) -> str | None:
    """A line when RUN resumes with other versions, device, host or data than it last ran with."""
    records, _ = provenance.read_records(run.path)
    now = {**provenance.environment(device), "data": provenance.fingerprint(split)}
    return provenance.moved_note(run.id, records[-1] if records else None, now)


def prepare(cfg: RunConfig | None, store: RunStore, resume: str | None, load: Loader = load_config) -> PreparedRun:
    """A new run of CFG, or the run RESUME names resumed with its saved settings; LOAD reads the data.

    A run killed before its first checkpoint (in its first epoch, or while starting) is started
    over from epoch 0 in the same folder with its saved settings, as a sweep does with its points.
    """
    from glo.train.trainer import check_fit, check_precision, resolve_device

    if resume:
        run = store.get(resume)
        saved = check_resumable(run)
        device = resolve_device(saved.device)
        check_precision(saved.precision, device)
        split = load(saved)
        moved = moved_note(run, device, split)
        if run.has_checkpoint():
            return PreparedRun(saved, run, split, True, moved)
        run.start_over()
        note = (f"run {run.id} ended before its first checkpoint (killed in its first epoch or while "
                f"starting): starting it over from epoch 0 with its saved settings")
        return PreparedRun(saved, run, split, False, "\n".join(filter(None, (note, moved))))
    cfg = (cfg or RunConfig()).validate()
    check_precision(cfg.precision, resolve_device(cfg.device))
    split = load(cfg)
    check_fit(cfg, split)
    return PreparedRun(cfg, store.create(cfg), split, False)
