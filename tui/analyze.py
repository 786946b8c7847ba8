"""A run's analysis computed in a child process: ``python -m tui.analyze RUNS_DIR RUN [HELDOUT_N]``.

``glo.analysis.analyze.analyze`` takes several seconds per run and cannot be interrupted. In a child
process the console can stop it at once (quitting never waits for it; analysis.json is written
atomically, so a killed child leaves the old cache or none), and its torch work never competes with
the console's thread for the GIL. The child runs at a lower priority and on one thread, so a
training run keeps the CPU (torch's threads spin-wait badly when they outnumber the free cores).
Exit code 0 when the analysis is cached, 1 with one line on stderr when it could not be made.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from glo.store.runs import Run


def command(root: str | os.PathLike, run_id: str, heldout_n: int | None = None) -> list[str]:
    args = [sys.executable, "-m", "tui.analyze", str(root), run_id]
    return args + ([str(heldout_n)] if heldout_n is not None else [])


def analyze_in_child(root: str | os.PathLike, run_id: str, heldout_n: int | None = None,
                     cancelled: Callable[[], bool] = lambda: False, poll_s: float = 0.2) -> str | None:
    """Analyse one run in a child process; None when done, else why not ('cancelled' when asked to stop)."""
    proc = subprocess.Popen(command(root, run_id, heldout_n), stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    err = ""
    while True:
        try:
            _, err = proc.communicate(timeout=poll_s)
            break
        except subprocess.TimeoutExpired:
            if cancelled():
                proc.kill()
                proc.communicate()
                return "cancelled"
    if proc.returncode == 0:
        return None
    lines = [line for line in (err or "").splitlines() if line.strip()]
    return lines[-1] if lines else f"analysis exited with code {proc.returncode}"


class ChildAnalyzer:
    """How the console computes a run's missing analysis: a child process per run (the default).

    Called from a worker thread as ``analyzer(run, cancelled)``; returns None when the analysis is
    cached, 'cancelled' when CANCELLED() turned true, else one line saying why it failed.
    ``heldout_n`` fits fewer held-out images than glo's default (tests make it small).
    """

    def __init__(self, heldout_n: int | None = None) -> None:
        self.heldout_n = heldout_n

    def __call__(self, run: Run, cancelled: Callable[[], bool]) -> str | None:
        return analyze_in_child(run.root, run.id, self.heldout_n, cancelled=cancelled)


Analyzer = Callable[["Run", Callable[[], bool]], "str | None"]  # (run, cancelled) -> None, 'cancelled' or why not
DEFAULT_ANALYZER = ChildAnalyzer()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) not in (2, 3):
        print("usage: python -m tui.analyze RUNS_DIR RUN [HELDOUT_N]", file=sys.stderr)
        return 2
    try:
        os.nice(5)
    except (AttributeError, OSError):
        pass
    import torch

    from glo.analysis.analyze import analyze
    from glo.errors import GloError
    from glo.store.runs import RunStore

    torch.set_num_threads(1)
    start = time.perf_counter()
    try:
        run = RunStore(Path(args[0])).get(args[1])
        result = analyze(run, heldout_n=int(args[2])) if len(args) == 3 else analyze(run)
    except GloError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    except Exception as exc:  # noqa: BLE001 - a bug or a broken checkpoint: one line, not a traceback
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    if result.get("warning"):
        print(result["warning"], file=sys.stderr)
        return 1
    print(f"analyzed {run.id} in {time.perf_counter() - start:.1f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
