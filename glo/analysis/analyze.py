"""Analysis of a trained run: how much class is left in its content codes, how well its generator
fits images it never saw, and how well it fits the ones it did, cached as analysis.json.

This module imports no torch at load time, so ``from glo.analysis.analyze import read_analysis`` stays as
cheap as glo.store.analyses (where the cache lives); ``analyze`` and ``load_trained`` import torch
when called. The tools it combines live in glo.analysis.probe (class-from-content probes) and glo.analysis.latent
(codes fitted to new images, style transfer grids, samples); they can be imported from here too.
"""

from __future__ import annotations

import functools
import importlib
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from glo.config import RunConfig
from glo.errors import GloError, RunStoreError
from glo.store.analyses import (
    ANALYSIS,
    FIT_BATCH,
    FIT_LR,
    FIT_STEPS,
    FOLDS,
    HELDOUT_N,
    KNN_K,
    SEED,
    VERSION,
    fingerprint,
    read_analysis,
    write_analysis,
)
from glo.store.runs import CHECKPOINT, Run

if TYPE_CHECKING:
    from glo.data.sets import Split
    from glo.model.nets import GLO

# the torch-side tools, importable from here too but loaded on first use (PEP 562), so that
# importing this module for read_analysis never pulls in torch
_TOOLS = {
    "probe_accuracy": "glo.analysis.probe", "knn_accuracy": "glo.analysis.probe",
    "fit_content": "glo.analysis.latent", "fit_heldout": "glo.analysis.latent", "heldout_subset": "glo.analysis.latent",
    "balanced_subset": "glo.analysis.latent", "transfer_grid": "glo.analysis.latent",
    "sample_codes": "glo.analysis.latent", "samples": "glo.analysis.latent",
}


def __getattr__(name: str) -> Any:
    if name in _TOOLS:
        return getattr(importlib.import_module(_TOOLS[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass
class Trained:
    """A run's model rebuilt from its checkpoint (eval mode), its settings and its data split."""

    model: GLO
    cfg: RunConfig
    split: Split
    epoch: int = 0  # epochs the checkpoint had completed
    step: int = 0  # optimiser steps the checkpoint had taken


def load_trained(run: Run, device: str = "cpu") -> Trained:
    """Rebuild a run's model and reload the exact images it trained on (never downloading)."""
    from glo.data.sets import load_config
    from glo.model import checkpoint

    if not run.has_checkpoint():
        raise RunStoreError(f"run {run.id} has no checkpoint yet (one is written after each epoch and on stop)")
    state = checkpoint.load(run.file(CHECKPOINT), map_location=device)
    try:
        model, cfg = checkpoint.build_model(state)
    except (KeyError, TypeError, RuntimeError, ValueError) as exc:
        raise RunStoreError(f"run {run.id}: checkpoint does not hold a model this glo can rebuild ({exc})"
                            .splitlines()[0][:200]) from exc
    model.to(device).eval()
    split = load_config(replace(cfg, download=False))
    if len(split.labels) != model.content_codes.num_embeddings:
        raise RunStoreError(f"run {run.id}: its data ({cfg.dataset}, {len(split.labels)} images) does not match "
                            f"its checkpoint ({model.content_codes.num_embeddings} content codes)")
    return Trained(model, cfg, split, int(state.get("epoch", 0)), int(state.get("step", 0)))


def analysis_settings(heldout_n: int) -> dict[str, Any]:
    """Every setting an analysis result depends on; a cached result with others is recomputed."""
    return {"heldout_n": heldout_n, "fit_steps": FIT_STEPS, "fit_lr": FIT_LR, "fit_batch": FIT_BATCH,
            "folds": FOLDS, "knn_k": KNN_K, "seed": SEED}


def analyze(run: Run, heldout_n: int = HELDOUT_N, refresh: bool = False, device: str = "cpu") -> dict[str, Any]:
    """Analyse a run (or return its cached analysis): probe accuracies on its content codes, the
    noise-free train metrics of its trained codes, and metrics of codes fitted afresh with the
    generator frozen, to ``heldout_n`` held-out images and to as many training images.

    Fresh codes on training images (``train_refit``) are the fair baseline for held-out images:
    codes trained under noise fit worse than codes fitted without it, so ``heldout`` against
    ``train`` would mix generalisation with the noise. ``cached`` in the result says which it was.
    """
    if heldout_n < 1:
        raise GloError(f"held-out images must be at least 1, got {heldout_n}")
    settings = analysis_settings(heldout_n)
    if not refresh:  # before any torch import: a cached analysis comes back in milliseconds
        cached = read_analysis(run)
        if cached is not None and cached.get("settings") == settings:
            return {**cached, "cached": True}
    import torch

    from glo.analysis.latent import balanced_subset, fit_heldout, heldout_subset
    from glo.analysis.probe import knn_accuracy, probe_accuracy
    from glo.model.losses import evaluate

    before = fingerprint(run)
    clock = time.perf_counter()
    trained = load_trained(run, device)
    model, cfg, split = trained.model, trained.cfg, trained.split
    codes, labels = model.content_codes.weight.detach(), torch.from_numpy(split.labels)
    n_classes = model.class_codes.num_embeddings
    images = torch.from_numpy(split.images).to(device)  # uint8: evaluate makes floats a chunk at a time
    fit = functools.partial(fit_heldout, model, steps=FIT_STEPS, lr=FIT_LR, batch_size=FIT_BATCH,
                            radius=cfg.content_radius, seed=SEED)
    held_images, held_labels = heldout_subset(split, heldout_n)
    n_fit = len(held_labels) or heldout_n
    result: dict[str, Any] = {
        "version": VERSION,
        "run": run.id,
        "checkpoint": {**(before or {}), "epoch": trained.epoch, "step": trained.step},
        "settings": settings,
        "n_classes": n_classes,
        "chance": 1.0 / n_classes,
        "probe_accuracy": probe_accuracy(codes, labels, FOLDS, SEED),
        "knn_accuracy": knn_accuracy(codes, labels, KNN_K, FOLDS, SEED),
        "train": evaluate(model, images, labels.to(device)),
        "train_refit": fit(*balanced_subset(split.images, split.labels, n_fit)),
        "heldout": fit(held_images, held_labels) if len(held_labels) else None,
        "elapsed_s": 0.0,
        "analysed_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    result["elapsed_s"] = round(time.perf_counter() - clock, 3)
    if before is None:
        result["warning"] = f"{CHECKPOINT} is not a regular file: result not cached"
    elif fingerprint(run) != before:
        result["warning"] = "the checkpoint changed while it was analyzed (a live run?): result not cached"
    else:
        try:
            write_analysis(run, result)
        except OSError as exc:
            result["warning"] = f"could not write {ANALYSIS}: {exc.strerror or exc}"
    return {**result, "cached": False}
