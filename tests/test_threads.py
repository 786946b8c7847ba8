"""The thread policy: it times steps at each thread count and keeps the fastest, as the load changes."""

from __future__ import annotations

import json

import pytest
import torch

from glo.config import RunConfig
from glo.host import threads as th
from glo.store.runs import RunStore
from glo.train.loop import train


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def feed(policy: th.ThreadPolicy, clock: Clock, step_s: dict[int, float], steps: int) -> list[int]:
    """STEPS steps, each taking step_s[threads in use]; the counts the policy changed to."""
    changes = []
    for _ in range(steps):
        seconds = step_s[policy.threads]
        clock.now += seconds
        changed = policy.step_done(seconds)
        if changed is not None:
            changes.append(changed)
    return changes


@pytest.fixture(autouse=True)
def keep_torch_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_it_drops_to_one_thread_on_a_busy_machine_and_comes_back_when_idle():
    clock = Clock()
    policy = th.ThreadPolicy(cpus=2, clock=clock)
    assert policy.start() == 2 and torch.get_num_threads() == 2
    busy = {2: 0.030, 1: 0.012}  # beside a busy process: two threads wait on a parked peer
    assert feed(policy, clock, busy, 80) == [1] and torch.get_num_threads() == 1
    idle = {2: 0.006, 1: 0.010}
    assert feed(policy, clock, idle, 40) == []  # no probe before PROBE_EVERY_S has passed
    clock.now += th.PROBE_EVERY_S
    assert feed(policy, clock, idle, 40) == [2] and torch.get_num_threads() == 2


def test_it_keeps_its_count_unless_another_is_clearly_faster():
    clock = Clock()
    policy = th.ThreadPolicy(cpus=2, clock=clock)
    policy.start()
    assert feed(policy, clock, {2: 0.010, 1: 0.0098}, 200) == [] and policy.threads == 2
    assert policy.next_probe > th.PROBE_AFTER_S  # a probe was made, and 1 thread was not 7% faster


def test_a_fixed_count_never_changes():
    clock = Clock()
    policy = th.ThreadPolicy(fixed=1, cpus=8, clock=clock)
    assert policy.start() == 1
    clock.now += 100
    assert feed(policy, clock, {1: 0.01}, 50) == [] and torch.get_num_threads() == 1


def test_the_cpus_it_may_use_come_from_its_affinity(monkeypatch):
    monkeypatch.setattr(th.os, "sched_getaffinity", lambda pid: {0})
    assert th.allowed_cpus() == 1 and th.candidates(1) == [1]
    assert th.candidates(8) == [8, 4, 1]


def test_a_run_records_the_threads_it_used(tmp_path, split):
    cfg = RunConfig(n_images=40, epochs=2, batch_size=8, device="cpu", threads=1)
    run = RunStore(tmp_path).create(cfg)
    for _ in train(cfg, run, split=split):
        pass
    records = [json.loads(x) for x in run.file("metrics.jsonl").read_text().splitlines()]
    assert [r["threads"] for r in records if r["event"] == "epoch"] == [1, 1]
