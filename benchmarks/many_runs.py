"""The "many runs" figures of ``python benchmarks/bench.py --many-runs``: a runs folder of 10,000 runs.

One tiny real run is trained with the core (50 epochs, 20 images), then copied 10,000 times into a
temp folder (config.json, metrics.jsonl, summary.json copied, with sigma 0.3, 2, 0.1, 0.9 in turn;
the checkpoint and images hard-linked, to spare the disk). Then, as wall time of real processes:
``glo runs list`` with no index (cold), with nothing changed (warm), ``--where sigma=0.3``; and in
a console process (Pilot): ``r`` until every row shows, the idle CPU of the saved-runs view over
10 s (process CPU time), the longest event-loop lag while it loads and refreshes, and ``q``.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GLO = str(Path(sys.executable).with_name("glo"))
SIGMAS = (0.3, 2.0, 0.1, 0.9)


def make_folder(count: int) -> Path:
    """COUNT copies of one tiny finished run in a new temp folder."""
    from glo.config import RunConfig
    from glo.store.runs import RunStore
    from glo.train.loop import train

    base = Path(tempfile.mkdtemp(prefix="glo-many-runs-"))
    cfg = RunConfig(n_images=20, epochs=50, batch_size=10, device="cpu")
    src = RunStore(base / "src").create(cfg)
    for _ in train(cfg, src):
        pass
    config = json.loads(src.file("config.json").read_text())
    root = base / "runs"
    root.mkdir()
    for i in range(count):
        folder = root / f"20260101-{i // 3600 % 24:02d}{i // 60 % 60:02d}{i % 60:02d}-copy{i:05d}"
        folder.mkdir()
        for path in src.path.iterdir():
            if path.name == "config.json":
                (folder / path.name).write_text(json.dumps({**config, "sigma": SIGMAS[i % 4]}, indent=2) + "\n")
            elif path.suffix in (".json", ".jsonl"):
                shutil.copy2(path, folder / path.name)
            else:
                try:
                    os.link(path, folder / path.name)
                except OSError:
                    shutil.copy2(path, folder / path.name)
    return root


def wall(args: list[str]) -> float:
    t = time.perf_counter()
    subprocess.run([GLO, *args], check=True, capture_output=True, cwd=ROOT)
    return time.perf_counter() - t


def drop_index(root: Path) -> None:
    for name in os.listdir(root):
        if name.startswith(".index.sqlite"):
            os.unlink(root / name)


def console_child(root: str, count: int) -> None:
    """In a subprocess: the console on ROOT; prints the figures as JSON."""
    import asyncio

    from tui.app import create_app
    from tui.screens.runs import RunsScreen

    async def drive() -> dict:
        lags: list[float] = []
        app = create_app(root)

        async def ticker() -> None:  # how late a 10 ms timer fires: how long the UI thread was busy
            while True:
                t = time.perf_counter()
                await asyncio.sleep(0.01)
                lags.append(time.perf_counter() - t - 0.01)

        out: dict = {}
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause(0.5)
            tick = asyncio.create_task(ticker())
            t = time.perf_counter()
            await pilot.press("r")
            while not (isinstance(app.screen, RunsScreen) and app.screen.table.row_count >= count):
                await asyncio.sleep(0.01)
            out["r_s"] = time.perf_counter() - t
            await asyncio.sleep(5)  # settled: two refreshes (lags counted)
            tick.cancel()  # (the ticker costs some CPU itself)
            out["max_lag_s"] = max(lags)
            cpu, t = time.process_time(), time.perf_counter()
            await asyncio.sleep(10)
            out["idle_cpu"] = (time.process_time() - cpu) / (time.perf_counter() - t)
            t = time.perf_counter()
            await pilot.press("q")
        out["q_s"] = time.perf_counter() - t
        return out

    print(json.dumps(asyncio.run(drive())))


def console(root: Path, count: int) -> dict:
    res = subprocess.run([sys.executable, __file__, "--console", str(root), str(count)], capture_output=True,
                         text=True, check=True, cwd=ROOT)
    return json.loads(res.stdout.strip().splitlines()[-1])


def figures(count: int = 10_000, repeats: int = 3) -> list[tuple[str, str, str]]:
    """The table rows: (figure, measured, target)."""
    root = make_folder(count)
    time.sleep(2.5)  # runs modified in the last 2 s are read again by the next listing (glo.store.index.RACY_NS)
    try:
        cold = []
        for _ in range(max(1, repeats - 1)):
            drop_index(root)
            cold.append(wall(["runs", "list", "--runs-dir", str(root)]))
        warm = [wall(["runs", "list", "--runs-dir", str(root)]) for _ in range(repeats)]
        where = [wall(["runs", "list", "--runs-dir", str(root), "--where", "sigma=0.3"]) for _ in range(repeats)]
        con = console(root, count)
        drop_index(root)
        cold_con = console(root, count)
    finally:
        shutil.rmtree(root.parent, ignore_errors=True)
    med = statistics.median
    n = f"{count:,}"
    return [
        (f"`glo runs list`, {n} runs, no index (cold)", f"{med(cold):.2f} s", "<= 2 s"),
        (f"`glo runs list`, {n} runs, nothing changed", f"{med(warm):.2f} s", "<= 0.5 s"),
        (f"`glo runs list --where sigma=0.3` ({count // 4:,} shown)", f"{med(where):.2f} s", "<= 1 s"),
        (f"console `r` until {n} rows show (index built)", f"{con['r_s']:.2f} s", "<= 1.5 s"),
        (f"console `r` until {n} rows show (no index)", f"{cold_con['r_s']:.2f} s", ""),
        ("console idle CPU, saved-runs view", f"{con['idle_cpu']:.1%} of a core", "<= 5%"),
        ("longest UI freeze while it loads and refreshes", (f"{con['max_lag_s']:.3f} s (no index: "
                                                            f"{cold_con['max_lag_s']:.3f} s)"), "<= 0.1 s"),
        ("console `q` to exit", f"{con['q_s']:.2f} s", "<= 1 s"),
    ]


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    if sys.argv[1:2] == ["--console"]:
        console_child(sys.argv[2], int(sys.argv[3]))
    else:
        for row in figures(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000):
            print(row)
