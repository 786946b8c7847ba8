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
