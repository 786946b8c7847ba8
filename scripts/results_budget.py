"""RESULTS.md's colour study on a CPU budget (issue "Research scale"): which settings give the best
PSNR on real colour images (cifar10-2k: 1,800 trained, 200 held out) within 10 minutes of training
on this machine.

A budget is wall time of one run with every core (2 threads here). Each candidate's seconds per
epoch are measured first, alone, on a quiet machine (``calibrate``: a 3-epoch run); its budget
then becomes a number of epochs, and the candidates train two at a time (``glo sweep`` with 2
workers of 1 thread), so a busy machine slows the study but does not change its numbers.

    python scripts/results_budget.py --data ../shared/data/cifar10-2k --runs-dir /tmp/budget
        [--screen-s 120] [--budget-s 600]

Stage 1 screens every candidate at --screen-s; stage 2 trains the best --finalists at --budget-s.
Prints the markdown section for RESULTS.md (progress goes to stderr); finished runs are reused.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mp
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from glo.analysis.analyze import analyze
from glo.config import RunConfig
from glo.events import Epoch
from glo.store.analyses import read_analysis
from glo.store.runs import Run, RunStore
from glo.train.loop import train

TRAIN_IMAGES = 1800  # of cifar10-2k's 2,000: 180 per class; the other 200 are held out
# (label, the settings that differ from the base): the candidates of stage 1
CANDIDATES: list[tuple[str, dict]] = [
    ("defaults (content 25, width 64)", {}),
    ("content 100", {"content_dim": 100}),
    ("content 256", {"content_dim": 256}),
    ("content 256, pca", {"content_dim": 256, "init": "pca"}),
    ("content 512, pca", {"content_dim": 512, "init": "pca"}),
    ("content 256, pca, width 128", {"content_dim": 256, "init": "pca", "width": 128}),
    ("content 256, pca, lr_latent 0.03", {"content_dim": 256, "init": "pca", "lr_latent": 0.03}),
    ("content 256, pca, l1+l2", {"content_dim": 256, "init": "pca", "loss": "l1+l2"}),
    ("content 256, pca, relative sigma 0.1", {"content_dim": 256, "init": "pca", "noise": "relative", "sigma": 0.1}),
]


def base(data: Path) -> dict:
    return {"dataset": "folder", "data_root": str(data), "n_images": TRAIN_IMAGES, "device": "cpu", "sigma": 0.0,
            "loss": "l2"}


def say(*parts: object) -> None:
    print(*parts, file=sys.stderr, flush=True)


def calibrate(cfg: dict, cache: Path) -> tuple[float, float]:
    """(seconds before the first epoch's steps, seconds per epoch) of CFG alone with 2 threads: a
    3-epoch run, measured from its epoch records (cached in CACHE by settings)."""
    key = json.dumps(cfg, sort_keys=True)
    known = json.loads(cache.read_text()) if cache.exists() else {}
    if key not in known:
        with tempfile.TemporaryDirectory() as tmp:
            store = RunStore(tmp)
            run_cfg = RunConfig(**{**cfg, "epochs": 3, "threads": 2})
            run = store.create(run_cfg)
            times = [ev.record["elapsed_s"] for ev in train(run_cfg, run) if isinstance(ev, Epoch)]
        per_epoch = (times[2] - times[0]) / 2
        known[key] = [max(0.0, times[0] - per_epoch), per_epoch]
        cache.write_text(json.dumps(known, indent=1))
    start, per_epoch = known[key]
    return start, per_epoch


def epochs_for(cfg: dict, seconds: float, cache: Path) -> int:
    start, per_epoch = calibrate(cfg, cache)
    return max(1, math.floor((seconds - start) / per_epoch))


def train_one(root: str, cfg: dict) -> str:
    """In a worker process: one run of CFG with 1 thread, to its end; its id."""
    store = RunStore(root)
    run_cfg = RunConfig(**{**cfg, "threads": 1})
    run = store.create(run_cfg)
    for ev in train(run_cfg, run):
        if isinstance(ev, Epoch) and ev.epoch % 50 == 0:
            say(f"  {run.id}: epoch {ev.epoch}/{cfg['epochs']}, recon {ev.record['recon_loss']:.4f}")
    analyze(run)
    return run.id


def stage(store: RunStore, name: str, data: Path, picks: list[tuple[str, dict]], seconds: float,
          cache: Path) -> list[tuple[str, dict, Run, dict]]:
    """Train (or reuse) each pick with the epochs that fit SECONDS, two at a time, each analysed:
    (label, settings, run, its ``numbers``) per pick."""
    rows = []
    for label, diff in picks:
        cfg = {**base(data), **diff}
        cfg["epochs"] = epochs_for(cfg, seconds, cache)
        say(f"{name}: {label}: {cfg['epochs']} epochs for {seconds:.0f} s")
        rows.append((label, cfg))
    index = store.root / f"{name}.json"  # label -> run id of the picks trained so far
    ids = json.loads(index.read_text()) if index.exists() else {}
    todo = [(label, cfg) for label, cfg in rows if label not in ids or store.get(ids[label]).status() != "completed"]
    with mp.get_context("spawn").Pool(2) as pool:
        results = [(label, pool.apply_async(train_one, (str(store.root), cfg))) for label, cfg in todo]
        for label, result in results:
            ids[label] = result.get()
            index.write_text(json.dumps(ids, indent=1))
    return [(label, cfg, run, numbers(run)) for label, cfg in rows for run in [store.get(ids[label])]]


def numbers(run: Run) -> dict[str, float]:
    """recon, PSNR (from the mean L2) of the training images at the last epoch and at the best one
    (``peak_epoch``, ``peak_psnr``), held-out and refit PSNR, probes: the run's files read once."""
    a = read_analysis(run) or {}
    epochs = run.epochs(run.read_metrics())
    last, best = epochs[-1], max(epochs, key=lambda r: r["psnr"])
    held, refit = a.get("heldout") or {}, a.get("train_refit") or {}
    return {"recon": last["recon_loss"], "psnr": last["psnr"], "held_psnr": held.get("psnr", math.nan),
            "refit_psnr": refit.get("psnr", math.nan), "linear": a.get("probe_accuracy", math.nan),
            "knn": a.get("knn_accuracy", math.nan), "peak_epoch": best["epoch"], "peak_psnr": best["psnr"]}


HEAD = ("| settings | epochs | PSNR (train) | recon | refit PSNR | held-out PSNR | linear probe | kNN probe |\n"
        "|---|---|---|---|---|---|---|---|")


def line(label: str, cfg: dict, n: dict) -> str:
    return (f"| {label} | {cfg['epochs']} | {n['psnr']:.2f} | {n['recon']:.4f} | {n['refit_psnr']:.2f} | "
            f"{n['held_psnr']:.2f} | {n['linear']:.1%} | {n['knn']:.1%} |")


def figure(finals: list[tuple[str, dict, Run, dict]], png: Path, link: str) -> list[str]:
    """Originals, then each finalist's reconstructions of the same training images, as a PNG at PNG
    (LINK: its path from RESULTS.md)."""
    from glo.analysis.compare import image_grid, image_rows
    from glo.imaging.png import save_grid_png

    rows = image_rows([row[2] for row in finals])  # the originals, then a row per finalist
    grid = image_grid(rows)
    short = [label.replace("content ", "c").replace(",", "").replace("relative sigma ", "rel")
             for label, *_ in finals]
    save_grid_png(grid.repeat(2, axis=3).repeat(2, axis=2), png, labels=[rows[0][0], *short])
    return [f"![colour on a budget: originals, then each finalist's reconstructions]({link})", "",
            "Rows, top to bottom: originals; " + "; ".join(label for label, *_ in finals) + "."]


def findings(screened, finals) -> list[str]:
    """What the tables show, from their numbers."""
    s = {label: n for label, _, _, n in screened}
    base, c100, c256 = (s[k]["psnr"] for k in ("defaults (content 25, width 64)", "content 100", "content 256"))
    out = ["What this shows:", "",
           f"- **The content code's size matters most.** In the same 2 minutes, content codes of 25, 100 and 256 "
           f"dimensions reach {base:.2f}, {c100:.2f} and {c256:.2f} dB: the seed's 25 dimensions cannot hold a colour "
           "image's detail."]
    for label, cfg, _, n in finals:
        if n["peak_psnr"] - n["psnr"] > 0.5:
            out.append(f"- **{label} is unstable over long runs**: its best epoch ({n['peak_epoch']}) reached "
                       f"{n['peak_psnr']:.2f} dB, "
                       f"its last ({cfg['epochs']}) {n['psnr']:.2f} dB; its loss curve jumps now and then.")
    out += ["- **Probes**: with codes of 100 or more dimensions, more than the 180 images per class, the linear "
            "probe overfits its training folds and scores below chance; the kNN probe stays near chance (10%): "
            "no class information is visible in these content codes either way.", ""]
    return out


def section(data: Path, screen_s: float, budget_s: float, screened, finals, figure_lines: list[str]) -> list[str]:
    best = max(finals, key=lambda row: row[3]["psnr"])
    b = best[3]
    return [
        "## Colour on a CPU budget: the settings for colour images (not in the seed)", "",
        f"Produced by `python scripts/results_budget.py --data {data.name}`: {TRAIN_IMAGES} CIFAR-10 images of "
        f"`{data.name}` trained (180 per class; the other 200 held out), sigma 0 and loss l2 unless the row says "
        "otherwise, batch 32. A budget is wall time of one run alone with both cores of this 2-core machine: "
        "each candidate's seconds per epoch were measured alone first (a 3-epoch run; such timings vary by "
        "about 10% here), and the budget became that many epochs (the runs then trained two at a time, 1 thread "
        "each; their numbers depend on the epochs only). **refit** and **held-out** PSNR: codes fitted afresh "
        "(100 Adam steps, generator frozen) to 200 training and the 200 held-out images; probes as above "
        "(chance 10%).", "",
        f"### Stage 1: every candidate for {screen_s / 60:g} minutes", "", HEAD,
        *(line(label, cfg, n) for label, cfg, _, n in screened), "",
        f"### Stage 2: the best for {budget_s / 60:g} minutes", "", HEAD,
        *(line(label, cfg, n) for label, cfg, _, n in finals), "",
        f"**Best within {budget_s / 60:g} minutes: {best[0]}**, PSNR {b['psnr']:.2f} dB on the training images "
        f"({b['held_psnr']:.2f} dB held-out, {b['refit_psnr']:.2f} dB refit), in {best[1]['epochs']} epochs. "
        "`glo run --dataset folder --data-root DIR --content-dim 256 --init pca --loss l2 --noise relative "
        "--sigma 0.1`, with as many epochs as the time allows, is what glo recommends for colour images on a CPU.",
        "",
        *findings(screened, finals), *figure_lines, "",
    ]


def study(data: Path, runs_dir: Path, png: Path, link: str, screen_s: float = 120.0, budget_s: float = 600.0,
          finalists: int = 2) -> list[str]:
    """Both stages (finished runs in RUNS_DIR reused), the figure at PNG; RESULTS.md's section."""
    runs_dir.mkdir(parents=True, exist_ok=True)
    store, cache = RunStore(runs_dir), runs_dir / "calibration.json"
    screened = stage(store, "screen", data, CANDIDATES, screen_s, cache)
    ranked = sorted(screened, key=lambda row: -row[3]["psnr"])
    picks = [(label, dict(CANDIDATES)[label]) for label, *_ in ranked[:finalists]]
    finals = stage(store, "final", data, picks, budget_s, cache)
    return section(data, screen_s, budget_s, screened, finals, figure(finals, png, link))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True, help="the cifar10-2k image folder")
    ap.add_argument("--runs-dir", type=Path, default=Path("runs/results-budget"))
    ap.add_argument("--screen-s", type=float, default=120.0)
    ap.add_argument("--budget-s", type=float, default=600.0)
    ap.add_argument("--finalists", type=int, default=2)
    ap.add_argument("--png", type=Path, default=Path("docs/results/colour-budget.png"))
    args = ap.parse_args()
    lines = study(args.data, args.runs_dir, args.png, args.png.as_posix(), args.screen_s, args.budget_s,
                  args.finalists)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
