"""RESULTS.md's newer studies (issue 16), called by scripts/results.py: colour images and the
probe question.

- the colour study: CIFAR-10 images from an image folder (``--dataset folder``), sigma 0, 0.3 and 2
  crossed with the four losses, with probes, held-out fits, reconstructions and a transfer grid;
- sharpness of reconstructions (edge energy against the originals'), for every loss;
- one hypothesis for the kNN probe rising with sigma, tested by swapping the content codes'
  optimiser (Adam, which normalises each step, against plain SGD) at sigma 0.3 and 5.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TextIO

import numpy as np
import torch

from glo.analysis.analyze import analyze, load_trained
from glo.analysis.compare import image_grid, image_rows, rows
from glo.analysis.figures import transfer_rows
from glo.analysis.probe import knn_accuracy, probe_accuracy
from glo.config import RunConfig
from glo.errors import RunStoreError
from glo.events import Epoch, SweepFinished, SweepPoint
from glo.imaging.shown import as_tensor
from glo.model.losses import reconstruct
from glo.store.analyses import read_analysis
from glo.sweep.manifest import SweepStore
from glo.sweep.run import run_sweep
from glo.train.trainer import Trainer
from glo.view.format import pct

SIGMAS, LOSSES = [0.0, 0.3, 2.0], ["l1", "l2", "l1+l2", "lap1"]
COLOUR_IMAGES = 1800  # of the 2000: 180 per class trained, 200 held out (20 per class)


def sharpness(model, split) -> float:
    """Edge energy of the reconstructions over that of the originals (mean absolute difference of
    neighbouring pixels): 1 is as sharp as the real images, blur scores lower."""
    out = reconstruct(model, torch.arange(len(split.labels)), torch.from_numpy(split.labels))
    real = as_tensor(split.images)

    def edges(x):
        return (x[..., 1:, :] - x[..., :-1, :]).abs().mean() + (x[..., :, 1:] - x[..., :, :-1]).abs().mean()

    return float(edges(out) / edges(real))


def grid_study(store, name: str, base: RunConfig, params: list, sweep_name: str | None = None,
               out: TextIO = sys.stdout) -> list:
    """The runs of the sweep SWEEP_NAME (default results-NAME) over PARAMS, one point after another,
    trained or resumed where not finished, each analysed; progress to OUT."""
    sweeps = SweepStore(store)
    sweep_name = sweep_name or f"results-{name}"
    try:
        sweep = sweeps.get(sweep_name)
    except RunStoreError:
        sweep = sweeps.create(base, params, name=sweep_name)
    t0 = time.perf_counter()
    for ev in run_sweep(sweep, store):
        if isinstance(ev, SweepPoint):
            print(f"  [{ev.index + 1}/{ev.total}] {ev.label}: {ev.action}", file=out, flush=True)
        elif isinstance(ev, Epoch) and ev.epoch % 10 == 0:
            print(f"    epoch {ev.epoch}: recon {ev.record['recon_loss']:.4f}", file=out, flush=True)
        elif isinstance(ev, SweepFinished) and ev.status != "completed":
            raise SystemExit(f"study {name} stopped: run the script again to resume it")
    runs = sweep.runs(store)
    for run in runs:
        analyze(run)
    print(f"  {name}: {len(runs)} runs in {time.perf_counter() - t0:.0f} s", file=out, flush=True)
    return runs


LONG_EPOCHS = 60  # one colour run trained 4x longer: is the blur under-training or the generator?


def colour_study(store, data: Path, epochs: int) -> list:
    """The grid (sigma x loss), then one run of sigma 0 and l1+l2 trained LONG_EPOCHS, last."""
    base = RunConfig(dataset="folder", data_root=str(data), n_images=COLOUR_IMAGES, epochs=epochs, device="cpu")
    runs = grid_study(store, "colour", base, [("sigma", SIGMAS), ("loss", LOSSES)])
    long = RunConfig(**{**base.to_dict(), "epochs": LONG_EPOCHS, "sigma": 0.0})
    return runs + grid_study(store, "colour-long", long, [("loss", ["l1+l2"])])


def colour_section(runs, data: Path, epochs: int, save_png, images_dir: Path, md_dir: Path, rel) -> list[str]:
    trained = {r.id: load_trained(r) for r in runs}
    split = next(iter(trained.values())).split
    x = split.images.astype(np.float32) / 255
    means = np.stack([x[split.labels == c].mean(axis=0) for c in range(split.n_classes)])
    diff = means[split.labels] - x
    average = float(np.abs(diff).mean() + (diff ** 2).mean())
    out = ["## Colour: CIFAR-10 images from a folder (not in the seed)", "",
           f"`glo run --dataset folder --data-root {data.name} --n-images {COLOUR_IMAGES}` and the settings "
           f"below: {len(split.labels)} real CIFAR-10 images (32x32 colour, {len(split.labels) // 10} per class; "
           f"the other {len(split.heldout_labels)} are the held-out images), {epochs} epochs each (fewer than "
           "MNIST's 50, to fit the CPU budget; the curves are still falling), the default generator grown to "
           "32x32x3 (Linear to 64 x 8 x 8, two up-convolutions). Drawing each image as its class's mean "
           f"image scores **{average:.4f}** recon. **sharpness**: edge energy of the reconstructions over the "
           "originals' (1 = as sharp as the real images).", "",
           "| sigma | loss | recon | L1 | L2 | PSNR | sharpness | linear probe | kNN probe | refit | held-out |",
           "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows(runs):
        n, a = r.numbers, read_analysis(r.run) or {}
        long = f" ({r.settings['epochs']} epochs)" if r.settings["epochs"] != epochs else ""
        cells = [f"{r.settings['sigma']:g}", r.settings["loss"] + long, f"{n['recon_loss']:.4f}",
                 f"{n['recon_l1']:.4f}", f"{n['recon_l2']:.4f}", f"{n['psnr']:.2f}",
                 f"{sharpness(trained[r.run.id].model, split):.2f}",
                 pct(n["probe_accuracy"]), pct(a.get("knn_accuracy")),
                 f"{(a.get('train_refit') or {}).get('recon_loss', float('nan')):.4f}",
                 f"{(a.get('heldout') or {}).get('recon_loss', float('nan')):.4f}"]
        out.append("| " + " | ".join(cells) + " |")
    out += findings(runs, trained, split, average, epochs)
    images = image_rows(runs)
    png = images_dir / "colour.png"
    save_png(image_grid(images), png, [label for label, _ in images])
    best = min(runs, key=lambda r: rows([r])[0].numbers["recon_loss"])
    grid_png = images_dir / "colour-transfer.png"
    save_png(transfer_rows(trained[best.id], indices=np.arange(0, len(split.labels), len(split.labels) // 6)[:6]).full,
             grid_png)
    out += ["", f"![colour: originals, then each run's reconstructions]({rel(png, md_dir)})", "",
            "Rows, top to bottom: " + ", ".join(label for label, _ in images) + ".", "",
            f"Transfer grid of the run with the lowest recon (`{best.id}`): each row a training image, then its "
            "content code drawn with the class codes of airplane, automobile, bird, cat, deer, dog, frog, horse, "
            "ship, truck.", "", f"![colour transfer grid]({rel(grid_png, md_dir)})", ""]
    return out


def findings(runs, trained, split, average: float, epochs: int) -> list[str]:
    """What the colour table says, in numbers (good and poor)."""
    views = {(r.settings["sigma"], r.settings["loss"], r.settings["epochs"]): r for r in rows(runs)}
    grid = {k: v for k, v in views.items() if k[2] == epochs}
    long = next((v for k, v in views.items() if k[2] != epochs), None)
    sharp = {k: sharpness(trained[v.run.id].model, split) for k, v in grid.items()}
    knn = {k: (read_analysis(v.run) or {}).get("knn_accuracy", float("nan")) for k, v in grid.items()}

    def recon(k):
        return grid[k].numbers["recon_loss"]

    def gap(v):
        a = read_analysis(v.run) or {}
        return (a.get("heldout") or {}).get("recon_loss", float("nan")) - (a.get("train_refit") or {}).get(
            "recon_loss", float("nan"))

    best = min(grid, key=recon)
    lap_sharp = ", ".join(f"{sharp[(s, 'lap1', epochs)]:.2f}" for s in SIGMAS)
    lowest = sum(sharp[(s, "lap1", epochs)] == min(sharp[k] for k in grid if k[0] == s) for s in SIGMAS)
    highest = sum(recon((s, "lap1", epochs)) == max(recon(k) for k in grid if k[0] == s) for s in SIGMAS)
    out = ["", "What this shows:", "",
           f"- **Reconstructions are poor.** The best {epochs}-epoch run ({best[1]}, sigma {best[0]:g}) reaches "
           f"PSNR {grid[best].numbers['psnr']:.1f} dB with {sharp[best]:.2f} of the originals' edge energy: "
           "blurry colour blobs with the right layout and mean colours, no object detail (figure below)."]
    if long is not None:
        out[-1] += (f" Training 4x longer ({long.settings['epochs']} epochs) helps "
                    f"(PSNR {long.numbers['psnr']:.1f} dB, "
                    f"sharpness {sharpness(trained[long.run.id].model, split):.2f}) but stays blurry, and its "
                    f"held-out gap grows to {gap(long):+.4f} (from {gap(grid[(0.0, 'l1+l2', epochs)]):+.4f} at "
                    f"{epochs} epochs): the small generator (64 feature maps) starts to memorise before it draws "
                    "CIFAR's detail.")
    out[-1] += (" These runs keep the seed's 25-dimensional content codes: the budget study below (\"Colour on a CPU "
                "budget\") finds the code's size, more than the generator, holding them back.")
    out += [f"- **sigma works as on MNIST**: sigma 2 ends at {min(recon(k) for k in grid if k[0] == 2.0):.4f} to "
            f"{max(recon(k) for k in grid if k[0] == 2.0):.4f}, near the class-average image's {average:.4f}: the "
            "generator falls back to the class average.",
            f"- **lap1 does not sharpen here**: its sharpness is the lowest of the four losses at {lowest} of the "
            f"3 sigmas ({lap_sharp} for sigma 0, 0.3, 2) and its recon the highest at {highest} of 3; with this "
            "generator and this budget the "
            "Laplacian weighting of fine bands does not buy the detail the GLO paper shows with a DCGAN "
            "generator trained far longer.",
            f"- **Little class in the content codes, and no rise with sigma**: linear probes at chance (10%), "
            f"kNN {100 * min(knn.values()):.0f}% to {100 * max(knn.values()):.0f}%, against MNIST's 52-81%. "
            "A likely reason (not tested): CIFAR's classes differ far less in layout and colour than digits "
            "differ in shape, so a content code that holds a blurry layout says little about the class.", ""]
    return out


class _Both:
    """Two optimisers stepped as one (the trainer steps one optimiser)."""

    def __init__(self, *opts):
        self.opts = opts

    def zero_grad(self, set_to_none: bool = True):
        for o in self.opts:
            o.zero_grad(set_to_none=set_to_none)

    def step(self):
        for o in self.opts:
            o.step()


def code_optimiser_run(split, sigma: float, optimiser: str, epochs: int) -> dict:
    """Train the seed's model at SIGMA with the content codes stepped by Adam (as glo does) or by
    SGD whose first step has Adam's size (learning rate = Adam's / the first mean |gradient|)."""
    torch.set_num_threads(1)
    cfg = RunConfig(sigma=sigma, epochs=epochs, device="cpu", threads=1)
    tr = Trainer(cfg, split)
    init = tr.model.content_codes.weight.detach().clone()
    if optimiser == "sgd":
        probe = tr.perm if tr.perm is not None else torch.arange(cfg.batch_size)
        idx = probe[: cfg.batch_size]
        tr.model.zero_grad()
        tr.objective(tr.model, idx, tr.labels[idx], tr.images[idx], None, cfg.loss, cfg.decay).backward()
        g = tr.model.content_codes.weight.grad[idx].abs().mean().item()
        tr.model.zero_grad()
        adam = torch.optim.Adam([{"params": tr.model.generator.parameters(), "lr": cfg.lr_generator},
                                 {"params": [tr.model.class_codes.weight], "lr": cfg.lr_latent}])
        tr.opt = _Both(adam, torch.optim.SGD([tr.model.content_codes.weight], lr=cfg.lr_latent / g))
    for epoch in tr.epochs_left():
        for b in tr.start_epoch(epoch):
            tr.train_batch(b)
        record = tr.end_epoch()
    codes, labels = tr.model.content_codes.weight.detach(), torch.from_numpy(split.labels)
    return {"recon": record["recon_loss"], "knn": knn_accuracy(codes, labels), "linear": probe_accuracy(codes, labels),
            "moved": float((codes - init).norm(dim=1).mean()), "norm": float(codes.norm(dim=1).mean())}


def hypothesis_section(split, epochs: int, cache: dict) -> list[str]:
    """Adam against SGD for the content codes, at sigma 0.3 and 5 (results cached in CACHE)."""
    table = ["| sigma | content-code optimiser | recon | kNN probe | linear probe | distance moved | code norm |",
             "|---|---|---|---|---|---|---|"]
    res = {}
    for sigma in (0.3, 5.0):
        for opt in ("adam", "sgd"):
            key = f"{sigma}-{opt}-{epochs}"
            if key not in cache:
                print(f"  hypothesis: sigma {sigma}, {opt}", flush=True)
                cache[key] = code_optimiser_run(split, sigma, opt, epochs)
            r = res[(sigma, opt)] = cache[key]
            table.append(f"| {sigma:g} | {opt} | {r['recon']:.4f} | {pct(r['knn'])} | {pct(r['linear'])} | "
                         f"{r['moved']:.2f} | {r['norm']:.2f} |")
    a, s = res[(5.0, "adam")], res[(5.0, "sgd")]
    la, ls = res[(0.3, "adam")], res[(0.3, "sgd")]
    if s["knn"] < a["knn"] - 0.15:
        verdict = (f"**supported**. With SGD the kNN probe at sigma 5 falls from {pct(a['knn'])} to {pct(s['knn'])} "
                   f"(chance 10%), although the codes still move ({s['moved']:.2f} against Adam's {a['moved']:.2f}): "
                   f"they shrink (norm {s['norm']:.2f}) under the activation decay, which is the same for every "
                   f"class, while Adam's shrink as much (norm {a['norm']:.2f}) but end up grouped by class. "
                   "SGD is not simply "
                   f"a weaker optimiser here: at sigma 0.3 it trains a model nearly as good (recon {ls['recon']:.4f} "
                   f"against {la['recon']:.4f}) whose codes hold as much class information (kNN {pct(ls['knn'])} "
                   f"against {pct(la['knn'])}). This is consistent with two sources: "
                   "at low sigma the class information "
                   "comes from what the codes must encode (an image's shape says much about its digit), whatever "
                   "the optimiser; at high sigma it is an artefact of Adam amplifying gradients that carry no "
                   "useful content (one seed, one data set: a single test, not a proof). A probe on "
                   "Adam-trained codes therefore overstates what a high-sigma content code 'knows'")
    else:
        verdict = (f"**not supported**: with SGD the kNN probe at sigma 5 is still {pct(s['knn'])} (Adam: "
                   f"{pct(a['knn'])}), so the class information does not need Adam's step normalisation")
    return ["## Why does the kNN probe rise with sigma? One hypothesis, tested", "",
            "The sigma study finds more class information in the content codes at high sigma (kNN probe), "
            "against the seed's claim that noise removes it. **Hypothesis**: at high sigma the generator ignores "
            "the content codes, so their reconstruction gradients are tiny but still differ by class; Adam "
            "divides each step by the gradient's own running scale, so these tiny, class-dependent gradients "
            "become full-size steps that drift each class's codes apart. **Test**: the same runs (bundled "
            f"MNIST, 2000 images, {epochs} epochs, 1 thread) with the content codes stepped by plain SGD instead, "
            "its learning rate set so that its first step is as large as Adam's (Adam's rate over the first "
            "batch's mean absolute gradient); the generator and class codes keep Adam. If the hypothesis holds, "
            "SGD's codes stop moving once the generator ignores them and the kNN probe at sigma 5 falls toward "
            "chance (10%); if it fails, the probe stays high with SGD too. **distance moved**: mean distance of "
            "a code from its initial value (codes live in a ball of radius 2).", "", *table, "",
            f"Outcome: {verdict}.", ""]
