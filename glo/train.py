"""The training loop: one generator that trains a GLO model and yields events.

Every front end (the headless CLI, the console's worker thread, sweeps, benchmarks) iterates
``train``; nothing else runs a training step. Controls (pause, resume, stop, live changes of
sigma, decay and loss) may be called from any thread and act before the next step.
"""

from __future__ import annotations

import io
import math
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

from glo import checkpoint, faults
from glo.config import RunConfig
from glo.controls import Controls
from glo.data import Split, load_split
from glo.errors import ConfigError, RunStoreError
from glo.events import (
    Changed,
    Checkpoint,
    Epoch,
    Event,
    Finished,
    Images,
    Paused,
    Resumed,
    Started,
    Step,
)
from glo.metrics import evaluate, recon_loss, reconstruct
from glo.model import GLO
from glo.runs import CHECKPOINT, IMAGES_NPZ, IMAGES_PNG, Run

GENERATOR_WIDTH = 64


class _Stop(Exception):
    """Raised inside the loop when a stop was requested."""


def resolve_device(name: str) -> torch.device:
    """auto picks cuda, then mps, then cpu; an explicit device must be available."""
    mps = getattr(torch.backends, "mps", None)
    has_mps = bool(mps and mps.is_available())
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "mps" if has_mps else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device cuda is not available here (no CUDA GPU visible to torch); use auto or cpu")
    if name == "mps" and not has_mps:
        raise ConfigError("device mps is not available here (needs Apple silicon); use auto or cpu")
    if name not in ("cpu", "cuda", "mps"):
        raise ConfigError(f"device must be one of auto, cpu, cuda, mps; got {name!r}")
    return torch.device(name)


def display_indices(labels: np.ndarray, n_show: int) -> np.ndarray:
    """Fixed images to show: the first image of each class, then the second of each, and so on."""
    per_class = [np.flatnonzero(labels == c) for c in range(10)]
    chosen: list[int] = []
    rank = 0
    while len(chosen) < min(n_show, len(labels)):
        added = False
        for idx in per_class:
            if rank < len(idx) and len(chosen) < n_show:
                chosen.append(int(idx[rank]))
                added = True
        if not added:
            break
        rank += 1
    return np.array(chosen, dtype=np.int64)


def to_uint8(images: torch.Tensor) -> np.ndarray:
    return images.detach().clamp(0, 1).mul(255).round().to(torch.uint8).squeeze(1).cpu().numpy()


def model_args(cfg: RunConfig, n_images: int) -> dict[str, Any]:
    return {
        "n_images": n_images,
        "n_classes": 10,
        "class_dim": cfg.class_dim,
        "content_dim": cfg.content_dim,
        "width": GENERATOR_WIDTH,
        "init_std": (cfg.content_radius or 2.0) / math.sqrt(cfg.content_dim),
        "combine": cfg.combine,
    }


def objective(model: GLO, index, label, target, noise, loss_type: str, decay: float) -> torch.Tensor:
    """Reconstruction loss of a batch plus activation decay on its (clean) content codes only."""
    out, content = model(index, label, noise)
    loss = recon_loss(out, target, loss_type)
    if decay > 0:
        loss = loss + decay * content.pow(2).sum(dim=1).mean()
    return loss


def _save_images(run: Run, originals: np.ndarray, recons: np.ndarray, labels: np.ndarray) -> None:
    from torchvision.utils import save_image

    buf = io.BytesIO()
    np.savez_compressed(buf, originals=originals, reconstructions=recons, labels=labels)
    run.write_file(IMAGES_NPZ, buf.getvalue())
    grid = torch.from_numpy(np.concatenate([originals, recons])).float().div(255).unsqueeze(1)
    png = io.BytesIO()
    save_image(grid, png, nrow=len(originals), padding=2, pad_value=0.5, format="png")
    run.write_file(IMAGES_PNG, png.getvalue())


def train(
    cfg: RunConfig,
    run: Run | None = None,
    controls: Controls | None = None,
    split: Split | None = None,
    resume: bool = False,
) -> Iterator[Event]:
    """Train (or resume) one run, yielding events; files go to ``run`` when one is given."""
    cfg.validate()
    controls = controls or Controls()
    device = resolve_device(cfg.device)
    if split is None:
        split = load_split(cfg.dataset, cfg.n_images, cfg.data_root, cfg.download)
    images = torch.from_numpy(split.images).to(device).float().div_(255).unsqueeze(1)
    labels = torch.from_numpy(split.labels).to(device)
    n, bs = len(images), cfg.batch_size
    n_batches = math.ceil(n / bs)

    torch.manual_seed(cfg.seed)
    args = model_args(cfg, n)
    model = GLO(**args).to(device)
    opt = torch.optim.Adam(
        [
            {"params": model.generator.parameters(), "lr": cfg.lr_generator},
            {"params": model.latent_parameters(), "lr": cfg.lr_latent},
        ],
        fused=device.type in ("cpu", "cuda") or None,  # one fused kernel instead of a loop over tensors
    )
    rng = torch.Generator().manual_seed(cfg.seed)
    live: dict[str, Any] = {"sigma": float(cfg.sigma), "decay": float(cfg.decay), "loss": cfg.loss}
    epoch_done = step = batch_pos = 0
    perm: torch.Tensor | None = None
    elapsed_before = 0.0
    best = math.inf

    if resume:
        if run is None:
            raise RunStoreError("resume needs a run folder")
        state = checkpoint.load(run.file(CHECKPOINT), map_location=device)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        rng.set_state(state["rng"].cpu())
        live.update(state["live"])
        epoch_done, step, batch_pos = int(state["epoch"]), int(state["step"]), int(state["batch_pos"])
        perm = state["perm"].cpu() if batch_pos else None
        elapsed_before = float(state["elapsed_s"])
        best = float(state.get("best_recon_loss", math.inf))
        run.clean_temp_files()
        run.truncate_metrics(epoch_done, step)
    elif run is not None:
        run.write_config(cfg)
    if run is not None:
        run.mark_running()

    show = torch.from_numpy(display_indices(split.labels, cfg.n_show)).to(device)
    show_labels = tuple(int(v) for v in split.labels[show.cpu().numpy()])
    originals = to_uint8(images[show])
    clock = time.perf_counter()
    paused_total = 0.0

    def elapsed() -> float:
        return elapsed_before + time.perf_counter() - clock - paused_total

    def save_checkpoint() -> str | None:
        if run is None:
            return None
        state = {
            "config": cfg.to_dict(),
            "model_args": args,
            "model": model.state_dict(),
            "optimizer": opt.state_dict(),
            "rng": rng.get_state(),
            "live": dict(live),
            "epoch": epoch_done,
            "step": step,
            "batch_pos": batch_pos,
            "perm": perm if perm is not None and batch_pos else torch.zeros(0, dtype=torch.int64),
            "elapsed_s": elapsed(),
            "best_recon_loss": best,
        }
        run.write_file(CHECKPOINT, checkpoint.to_bytes(state))
        return str(run.file(CHECKPOINT))

    run_id = run.id if run else None
    yield Started(run_id, str(run.path) if run else None, epoch_done, cfg.epochs, n_batches, str(device), resume,
                  dict(live))
    yield Images(epoch_done, originals, to_uint8(reconstruct(model, show, labels[show])), show_labels)

    status, error, last_record = "completed", None, None
    try:
        for epoch in range(epoch_done + 1, cfg.epochs + 1):
            if not batch_pos:
                perm = torch.randperm(n, generator=rng)
            epoch_clock, epoch_paused, loss_sum, seen = time.perf_counter(), 0.0, 0.0, 0
            for b in range(batch_pos, n_batches):
                if controls.stop_requested:
                    raise _Stop
                if controls.paused:
                    t_pause = time.perf_counter()
                    yield Paused(step, epoch)
                    while controls.paused and not controls.stop_requested:
                        controls.wait_while_paused(0.25)
                    waited = time.perf_counter() - t_pause
                    paused_total += waited
                    epoch_paused += waited
                    if controls.stop_requested:
                        raise _Stop
                    yield Resumed(step, epoch)
                for param, value in controls.take_changes().items():
                    if value != live[param]:
                        old, live[param] = live[param], value
                        rec = {"event": "change", "step": step + 1, "epoch": epoch, "param": param,
                               "old": old, "new": value, "elapsed_s": round(elapsed(), 3)}
                        if run is not None:
                            run.append_metrics(rec)
                        yield Changed(step + 1, epoch, param, old, value)

                idx = perm[b * bs : (b + 1) * bs]
                noise = None
                if live["sigma"] > 0:
                    noise = torch.randn(len(idx), cfg.content_dim, generator=rng).mul_(live["sigma"]).to(device)
                idx = idx.to(device)
                loss = objective(model, idx, labels[idx], images[idx], noise, live["loss"], live["decay"])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                if cfg.content_radius > 0:
                    model.project_content_(cfg.content_radius)
                faults.point("step")
                value = loss.item()
                if not math.isfinite(value):
                    raise FloatingPointError(f"training loss became {value} at step {step + 1}")
                step, batch_pos = step + 1, b + 1
                loss_sum += value * len(idx)
                seen += len(idx)
                train_s = time.perf_counter() - epoch_clock - epoch_paused
                yield Step(step, epoch, b + 1, value, seen / max(train_s, 1e-9))

            train_s = time.perf_counter() - epoch_clock - epoch_paused
            epoch_done, batch_pos = epoch, 0
            scores = evaluate(model, images, labels)
            best = min(best, scores["recon_loss"])
            last_record = {
                "event": "epoch",
                "epoch": epoch,
                "step": step,
                "elapsed_s": round(elapsed(), 3),
                "train_loss": loss_sum / max(seen, 1),
                **scores,
                "sigma": live["sigma"],
                "decay": live["decay"],
                "loss_type": live["loss"],
                "images_per_s": round(seen / max(train_s, 1e-9), 1),
                "epoch_s": round(time.perf_counter() - epoch_clock - epoch_paused, 3),
            }
            if run is not None:
                run.append_metrics(last_record)
            yield Epoch(epoch, last_record)
            recons = to_uint8(reconstruct(model, show, labels[show]))
            if run is not None:
                _save_images(run, originals, recons, np.array(show_labels))
            yield Images(epoch, originals, recons, show_labels)
            path = save_checkpoint()
            if path:
                yield Checkpoint(epoch, step, path)
    except (_Stop, GeneratorExit) as exc:
        status = "stopped"
        try:
            save_checkpoint()
        except OSError as write_error:
            status, error = "failed", f"could not save the checkpoint: {write_error}"
        if isinstance(exc, GeneratorExit):  # the consumer closed us: no more yields
            _finish(run, cfg, status, error, last_record, best, step, epoch_done, elapsed())
            raise
    except Exception as exc:  # the run fails, the caller stays alive
        status, error = "failed", f"{type(exc).__name__}: {exc}"
    summary = _finish(run, cfg, status, error, last_record, best, step, epoch_done, elapsed())
    yield Finished(status, summary, error)


def _finish(run, cfg, status, error, last_record, best, step, epoch_done, elapsed_s) -> dict[str, Any]:
    summary: dict[str, Any] = {
        "status": status,
        "epochs_done": epoch_done,
        "epochs": cfg.epochs,
        "steps": step,
        "elapsed_s": round(elapsed_s, 3),
        "best_recon_loss": best if math.isfinite(best) else None,
        "final": last_record,
        "error": error,
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    if run is not None:
        try:
            run.write_summary(summary)
        except OSError as exc:  # disk full, folder gone: say so, never crash the caller
            summary["error"] = (f"{error}; " if error else "") + f"could not write summary.json: {exc}"
        try:
            run.clear_running()
        except OSError:
            pass
    return summary
