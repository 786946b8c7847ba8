"""Shared fixtures and helpers: tiny synthetic data so logic tests take a second, not minutes, and
the console tests' Pilot helpers."""

from __future__ import annotations

import asyncio
import functools
import json
import time

import numpy as np
import pytest

from glo.config import RunConfig
from glo.data.sets import Split
from glo.events import Step
from glo.store.runs import RunStore
from glo.train.controls import Controls


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
    # one fixed thread: the thread policy would change the numbers with the load (glo/host/threads.py)
    return RunConfig(n_images=40, epochs=2, batch_size=8, device="cpu", n_show=10, threads=1)


def stopped_run(root, epochs: int = 3, stop_at_step: int = 3):
    """A real run on the bundled data (20 images), stopped mid-way: saved as stopped, resumable."""
    from glo.train.loop import train

    cfg = RunConfig(n_images=20, epochs=epochs, batch_size=10, device="cpu", threads=1)
    run = RunStore(root).create(cfg)
    controls = Controls()
    for ev in train(cfg, run, controls):
        if isinstance(ev, Step) and ev.step == stop_at_step:
            controls.stop()
    return run


# --- console (Pilot) tests ---

SIZE = (100, 30)


def sync(fn):
    """Run an async Pilot test with asyncio (no async pytest plugin needed)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return asyncio.run(fn(*args, **kwargs))

    return wrapper


def small(**kw) -> RunConfig:
    base = {"n_images": 40, "epochs": 3, "batch_size": 8, "device": "cpu", "threads": 1}
    base.update(kw)
    return RunConfig(**base)


async def wait_for(pilot, cond, timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.05)


def summary(run_dir) -> dict:
    return json.loads((run_dir / "summary.json").read_text())


def train_screen(app):
    return app.screen_stack[0]


def make_runs(root, split):
    """Two finished runs and one stopped after a few steps, trained directly by the core."""
    from glo.train.loop import train

    store = RunStore(root)
    ids = []
    for sigma in (0.1, 0.5):
        cfg = small(epochs=2, sigma=sigma)
        run = store.create(cfg)
        for _ in train(cfg, run, split=split):
            pass
        ids.append(run.id)
        time.sleep(0.01)
    cfg = small(epochs=3, name="tostop")
    run = store.create(cfg)
    controls = Controls()
    for ev in train(cfg, run, controls, split):
        if isinstance(ev, Step) and ev.step == 7:
            controls.stop()
    ids.append(run.id)
    return ids


def wait_until(predicate, timeout: float = 120, what: str = "condition"):
    """Poll PREDICATE (outside the console) until it returns something true; that value."""
    deadline = time.monotonic() + timeout
    while not (result := predicate()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)
    return result
