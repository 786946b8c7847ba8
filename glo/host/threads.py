"""How many CPU threads torch's intra-op pool uses for this process, chosen to survive load.

torch's OpenMP threads wait for each other at every barrier, so when another process takes a core,
a parked peer costs a whole time slice: on a 2-core box beside one busy process, 2 threads run at
0.27 of their idle speed while 1 thread keeps 0.63 of it. ``ThreadPolicy`` therefore starts with
the CPUs this process may use (affinity and the container's CPU quota) and, every so often, times
a few training steps at each candidate count and keeps the fastest: it goes down to one thread
when the machine is busy and back up when it is idle again. ``--threads N`` fixes the count.

A run's numbers depend on its thread count (sums are split differently: losses differ from the
5th significant digit), so a run repeats bit for bit only with a fixed count: the count in use is
recorded in ``metrics.jsonl`` whenever it changes, and sweeps' worker processes use fixed counts.
"""

from __future__ import annotations

import math
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

PROBE_AFTER_S = 1.0  # the first probe: soon, so that a busy machine is noticed at once
PROBE_EVERY_S = 30.0  # later probes: the load of a shared server changes slowly
PROBE_STEPS = 6  # timed steps per candidate (after one untimed step to settle the pool)
BETTER = 0.93  # another count must be at least 7% faster to be taken


def allowed_cpus() -> int:
    """The CPUs this process may run on: its affinity mask, capped by a cgroup CPU quota."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    quota = _cgroup_quota()
    return max(1, min(cpus, math.ceil(quota)) if quota else cpus)


def _cgroup_quota() -> float | None:
    """CPUs' worth of time the container may use (cgroup v2 cpu.max or v1 cfs quota), or None."""
    try:
        text = Path("/sys/fs/cgroup/cpu.max").read_text().split()
        if text and text[0] != "max":
            return int(text[0]) / int(text[1])
    except (OSError, ValueError, IndexError):
        pass
    try:
        quota = int(Path("/sys/fs/cgroup/cpu/cpu.cfs_quota_us").read_text())
        period = int(Path("/sys/fs/cgroup/cpu/cpu.cfs_period_us").read_text())
        return quota / period if quota > 0 and period > 0 else None
    except (OSError, ValueError):
        return None


def candidates(cpus: int) -> list[int]:
    """Thread counts worth timing on CPUS cores: all of them, one, and half of them."""
    return sorted({cpus, 1, max(1, cpus // 2)}, reverse=True)


class ThreadPolicy:
    """Sets torch's intra-op threads for training: FIXED (> 0), or chosen by timing steps.

    The training loop calls ``step_done(seconds)`` after every step; it returns the new count when
    the policy changed it (the loop records that), else None.
    """

    def __init__(self, fixed: int = 0, cpus: int | None = None, clock: Callable[[], float] = time.perf_counter) -> None:
        self.cpus = cpus or allowed_cpus()
        self.fixed = fixed
        self.clock = clock
        self.options = [fixed] if fixed else candidates(self.cpus)
        self.threads = fixed or self.cpus
        self.next_probe = clock() + PROBE_AFTER_S
        self.probe: list[int] = []  # candidates left to time in the probe under way
        self.timings: dict[int, list[float]] = {}
        self.settled = self.threads  # the count before the probe under way
        self.skip = 0

    def start(self) -> int:
        """Set the first count (before the first step); returns it."""
        _set_threads(self.threads)
        return self.threads

    def step_done(self, seconds: float) -> int | None:
        if len(self.options) == 1:
            return None
        if not self.probe:
            if self.clock() < self.next_probe:
                return None
            self.settled, self.probe, self.timings = self.threads, list(self.options), {}
            self._try(self.probe[0])
            return None
        if self.skip:  # the first step after a switch settles the pool: not timed
            self.skip -= 1
            return None
        timed = self.timings.setdefault(self.probe[0], [])
        timed.append(seconds)
        if len(timed) < PROBE_STEPS:
            return None
        self.probe.pop(0)
        if self.probe:
            self._try(self.probe[0])
            return None
        return self._choose()

    def _try(self, threads: int) -> None:
        self.skip = 1
        self.threads = threads
        _set_threads(threads)

    def _choose(self) -> int | None:
        """The probe is done: keep the fastest count (the one before the probe unless another is
        clearly faster). Returns the new count if it differs from the one before the probe."""
        medians = {n: statistics.median(t) for n, t in self.timings.items()}
        best = min(medians, key=medians.__getitem__)
        keep = self.settled if medians[self.settled] * BETTER <= medians[best] else best
        self.next_probe = self.clock() + PROBE_EVERY_S
        self.threads = keep
        _set_threads(keep)
        return keep if keep != self.settled else None


def _set_threads(n: int) -> None:
    import torch

    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
