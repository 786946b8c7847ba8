"""Shared fixtures: tiny synthetic data so logic tests take a second, not minutes."""

from __future__ import annotations

import numpy as np
import pytest

from glo.config import RunConfig
from glo.data import Split


def synthetic_split(n_per_class: int = 4, seed: int = 0) -> Split:
    """Digit-like blobs: each class a bright bar at its own position, each image jittered."""
    rng = np.random.default_rng(seed)
    images, labels = [], []
    for c in range(10):
        for _ in range(n_per_class):
            img = np.zeros((28, 28), dtype=np.float32)
            row = 2 + 2 * c + rng.integers(0, 2)
            img[row : row + 3, 4 + rng.integers(0, 8) : 20 + rng.integers(0, 4)] = 1.0
            img += rng.random((28, 28), dtype=np.float32) * 0.1
            images.append((np.clip(img, 0, 1) * 255).astype(np.uint8))
            labels.append(c)
    images, labels = np.stack(images), np.array(labels, dtype=np.int64)
    return Split("synthetic", images, labels, images[:10], labels[:10])


@pytest.fixture
def split() -> Split:
    return synthetic_split()


@pytest.fixture
def tiny_cfg() -> RunConfig:
    return RunConfig(n_images=40, epochs=2, batch_size=8, device="cpu", n_show=10)


def stopped_run(root, epochs: int = 3, stop_at_step: int = 3):
    """A real run on the bundled data (20 images), stopped mid-way: saved as stopped, resumable."""
    from glo.controls import Controls
    from glo.events import Step
    from glo.runs import RunStore
    from glo.train import train

    cfg = RunConfig(n_images=20, epochs=epochs, batch_size=10, device="cpu")
    run = RunStore(root).create(cfg)
    controls = Controls()
    for ev in train(cfg, run, controls):
        if isinstance(ev, Step) and ev.step == stop_at_step:
            controls.stop()
    return run
