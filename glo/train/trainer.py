"""The trainer: a GLO model, its optimiser and data order, stepped one batch at a time.

A ``Trainer`` is built from a ``RunConfig``, a data ``Split`` and optionally a checkpoint state
(as ``glo.model.checkpoint.load`` returns it). It writes no files and knows nothing of run folders,
controls or front ends, so it can run in another thread, process or machine; its methods return
the events (``glo.events``) and records that ``glo.train.loop.train`` yields and writes. Usage::

    trainer = Trainer(cfg, split)
    for epoch in trainer.epochs_left():
        for b in trainer.start_epoch(epoch):
            trainer.train_batch(b)
        trainer.end_epoch()
    state = trainer.state_dict()
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from glo.config import RunConfig
from glo.data.sets import Split, load_config
from glo.errors import ConfigError
from glo.events import Images, Step
from glo.host import faults
from glo.imaging.shown import as_tensor, display_indices, to_uint8
from glo.model.losses import evaluate, recon_loss, reconstruct
from glo.model.nets import GLO


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


def bf16_supported(device: torch.device) -> bool:
    """True when DEVICE runs bfloat16 natively: a CUDA GPU that has it, a CPU with AVX512-BF16 or AMX,
    Apple's MPS."""
    if device.type == "cuda":
        return bool(torch.cuda.is_bf16_supported())
    if device.type == "cpu":
        cpu = torch.cpu
        return any(bool(getattr(cpu, probe, lambda: False)())
                   for probe in ("_is_avx512_bf16_supported", "_is_amx_tile_supported"))
    return device.type == "mps"


def check_precision(precision: str, device: torch.device) -> None:
    """ConfigError when PRECISION cannot run on DEVICE (bf16 without bfloat16 support)."""
    if precision == "bf16" and not bf16_supported(device):
        raise ConfigError(f"precision bf16 needs bfloat16 support, which this {device.type} lacks "
                          f"(a CPU with AVX512-BF16 or AMX, or a recent GPU); use --precision fp32",
                          key="precision")


def check_fit(cfg: RunConfig, split: Split) -> None:
    """ConfigError when CFG cannot train on SPLIT: --init pca with more code dimensions than images
    or pixels (the count is known only once an 'all' data set is read)."""
    if cfg.init == "pca":
        n, pixels = len(split.labels), int(np.prod(split.images.shape[1:]))
        if cfg.content_dim > min(n, pixels):
            what = f"{n} training images" if n < pixels else f"{pixels} pixels per image"
            raise ConfigError(f"init pca needs content_dim at most the images and their pixels; got content_dim "
                              f"{cfg.content_dim} for {what}", key="content_dim")


def model_args(cfg: RunConfig, n_images: int, split: Split | None = None) -> dict[str, Any]:
    """GLO's arguments for CFG trained on N_IMAGES of SPLIT (its classes, image size and channels;
    without a split: 10 classes of 28x28 grey images). The 28x28 grey model keeps its arguments."""
    args = {
        "n_images": n_images,
        "n_classes": split.n_classes if split is not None else 10,
        "class_dim": cfg.class_dim,
        "content_dim": cfg.content_dim,
        "width": cfg.width,
        "init_std": cfg.code_std,
        "combine": cfg.combine,
    }
    if split is not None and split.images.shape[1:] != (28, 28):
        args.update(image_size=int(split.images.shape[1]), channels=int(split.images.shape[3]) if
                    split.images.ndim == 4 else 1)
    return args


def objective(model: GLO, index: torch.Tensor, label: torch.Tensor, target: torch.Tensor, noise: torch.Tensor | None,
              loss_type: str, decay: float) -> torch.Tensor:
    """Reconstruction loss of a batch plus activation decay on its (clean) content codes only."""
    out, content = model(index, label, noise)
    loss = recon_loss(out, target, loss_type)
    if decay > 0:
        loss = loss + decay * content.pow(2).sum(dim=1).mean()
    return loss


class Trainer:
    """One run's training state and its steps; see the module docstring.

    ``objective`` computes a batch's loss (``glo.train.loop`` passes its own, so tests can replace it).
    Time spent paused is excluded from ``elapsed()`` through ``exclude_pause``.
    """

    def __init__(self, cfg: RunConfig, split: Split | None = None, state: dict[str, Any] | None = None,
                 objective: Callable[..., torch.Tensor] = objective) -> None:
        cfg.validate()
        self.cfg = cfg
        self.device = resolve_device(cfg.device)
        check_precision(cfg.precision, self.device)
        self.split = split if split is not None else load_config(cfg)
        check_fit(cfg, self.split)
        self.objective = objective
        self._build(fresh=state is None)
        if state is not None:
            self.restore(state)
        self._display()
        self.start_clock()

    def _build(self, fresh: bool = True) -> None:
        """Data on the device, the model, the optimiser and the data-order/noise generator.

        The images stay uint8 (the split's own array on the CPU, no copy; one uint8 copy on a GPU)
        and become floats x / 255 one batch at a time (``batch_images``)."""
        cfg, device = self.cfg, self.device
        self.images = torch.from_numpy(np.ascontiguousarray(self.split.images)).to(device)
        self.labels = torch.from_numpy(self.split.labels).to(device)
        self.n = len(self.images)
        self.n_batches = math.ceil(self.n / cfg.batch_size)
        torch.manual_seed(cfg.seed)
        self.args = model_args(cfg, self.n, self.split)
        self.model = GLO(**self.args)
        if cfg.init == "pca" and fresh:  # after the random init, so the generator's weights are the same
            from glo.model.pca import pca_codes

            self.model.content_codes.weight.data.copy_(pca_codes(self.split.images, cfg.content_dim,
                                                                 cfg.content_radius))
        self.model.to(device)
        # mixed precision: the forward pass and loss under autocast (fp32: no autocast at all)
        self.autocast = (torch.autocast(device.type, dtype=torch.bfloat16) if cfg.precision == "bf16"
                         else contextlib.nullcontext())
        self.opt = torch.optim.Adam(
            [
                {"params": self.model.generator.parameters(), "lr": cfg.lr_generator},
                {"params": self.model.latent_parameters(), "lr": cfg.lr_latent},
            ],
            fused=device.type in ("cpu", "cuda") or None,  # one fused kernel instead of a loop over tensors
        )
        self.rng = torch.Generator().manual_seed(cfg.seed)
        self.live: dict[str, Any] = {"sigma": float(cfg.sigma), "decay": float(cfg.decay), "loss": cfg.loss}
        self.epoch_done = self.step = self.batch_pos = 0
        self.epoch = 0  # the epoch being trained (set by start_epoch)
        self.perm: torch.Tensor | None = None
        self.elapsed_before = 0.0
        self.best = math.inf
        self.last_record: dict[str, Any] | None = None
        self.loss_sum, self.seen = 0.0, 0  # this epoch's summed batch losses and images trained

    def _display(self) -> None:
        """The fixed images shown as originals against reconstructions."""
        shown = display_indices(self.split.labels, self.cfg.n_show)
        self.show = torch.from_numpy(shown).to(self.device)
        self.show_labels = tuple(int(v) for v in self.split.labels[shown])
        self.originals = np.asarray(self.split.images[shown])  # uint8 as they are (a plain array, not a mapping)

    def restore(self, state: dict[str, Any]) -> None:
        """Continue from a checkpoint state (``state_dict()``, as ``glo.model.checkpoint.load`` returns it)."""
        self.model.load_state_dict(state["model"])
        self.opt.load_state_dict(state["optimizer"])
        self.rng.set_state(state["rng"].cpu())
        self.live.update(state["live"])
        self.epoch_done, self.step, self.batch_pos = int(state["epoch"]), int(state["step"]), int(state["batch_pos"])
        self.perm = state["perm"].cpu() if self.batch_pos else None
        self.elapsed_before = float(state["elapsed_s"])
        self.best = float(state.get("best_recon_loss", math.inf))

    def batch_images(self, idx: torch.Tensor) -> torch.Tensor:
        """The training images IDX as floats N x C x H x W in [0, 1]: the same floats, bit for bit,
        as converting the whole set at once (x / 255 is computed per value either way)."""
        batch = as_tensor(self.images[idx], self.device)
        if self.device.type == "cuda":  # the generator's layout (channels-last): the loss reads both alike
            batch = batch.contiguous(memory_format=torch.channels_last)
        return batch

    # --- time ---
    def start_clock(self) -> None:
        """Training time counts from now (plus the time of a restored checkpoint)."""
        self.clock = time.perf_counter()
        self.paused_total = 0.0
        self.epoch_clock, self.epoch_paused = self.clock, 0.0

    def elapsed(self) -> float:
        return self.elapsed_before + time.perf_counter() - self.clock - self.paused_total

    def exclude_pause(self, seconds: float) -> None:
        """``seconds`` spent paused count neither as training time nor against throughput."""
        self.paused_total += seconds
        self.epoch_paused += seconds

    # --- training ---
    def epochs_left(self) -> range:
        return range(self.epoch_done + 1, self.cfg.epochs + 1)

    def apply_changes(self, changes: dict[str, Any]) -> list[dict[str, Any]]:
        """Apply live changes (sigma, decay, loss) before the next step; the metrics record of each
        one that changes a value, in order."""
        records = []
        for param, value in changes.items():
            if value != self.live[param]:
                old, self.live[param] = self.live[param], value
                records.append({"event": "change", "step": self.step + 1, "epoch": self.epoch, "param": param,
                                "old": old, "new": value, "elapsed_s": round(self.elapsed(), 3)})
        return records

    def start_epoch(self, epoch: int) -> range:
        """Begin (or continue, after a restore mid-epoch) ``epoch``; returns its batches left."""
        if not self.batch_pos:
            self.perm = torch.randperm(self.n, generator=self.rng)
        self.epoch = epoch
        self.epoch_clock, self.epoch_paused, self.loss_sum, self.seen = time.perf_counter(), 0.0, 0.0, 0
        return range(self.batch_pos, self.n_batches)

    def train_batch(self, b: int) -> Step:
        """One optimisation step on batch ``b`` of the current epoch's order."""
        bs, live, sigma = self.cfg.batch_size, self.live, self.live["sigma"]
        if self.perm is None:
            raise RuntimeError("train_batch before start_epoch")
        idx = self.perm[b * bs : (b + 1) * bs]
        noise = None
        if sigma > 0:
            std = sigma * self.cfg.noise_scale  # x 1.0 for --noise per-dim: the seed's noise, bit for bit
            noise = torch.randn(len(idx), self.cfg.content_dim, generator=self.rng).mul_(std).to(self.device)
        idx = idx.to(self.device)
        with self.autocast:
            loss = self.objective(self.model, idx, self.labels[idx], self.batch_images(idx), noise, live["loss"],
                                  live["decay"])
        opt = self.opt
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if self.cfg.content_radius > 0:
            self.model.project_content_(self.cfg.content_radius)
        faults.point("step")
        value = loss.item()
        if not math.isfinite(value):
            raise FloatingPointError(f"training loss became {value} at step {self.step + 1}")
        self.step, self.batch_pos = self.step + 1, b + 1
        self.loss_sum += value * len(idx)
        self.seen += len(idx)
        train_s = time.perf_counter() - self.epoch_clock - self.epoch_paused
        return Step(self.step, self.epoch, b + 1, value, self.seen / max(train_s, 1e-9))

    def end_epoch(self) -> dict[str, Any]:
        """Finish the current epoch: evaluate every image; returns the epoch's metrics record."""
        seen, epoch = self.seen, self.epoch
        train_s = time.perf_counter() - self.epoch_clock - self.epoch_paused
        self.epoch_done, self.batch_pos = epoch, 0
        scores = evaluate(self.model, self.images, self.labels)
        self.best = min(self.best, scores["recon_loss"])
        self.last_record = {
            "event": "epoch",
            "epoch": epoch,
            "step": self.step,
            "elapsed_s": round(self.elapsed(), 3),
            "train_loss": self.loss_sum / max(seen, 1),
            **scores,
            "sigma": self.live["sigma"],
            "decay": self.live["decay"],
            "loss_type": self.live["loss"],
            "images_per_s": round(seen / max(train_s, 1e-9), 1),
            "epoch_s": round(time.perf_counter() - self.epoch_clock - self.epoch_paused, 3),
        }
        return self.last_record

    # --- outputs ---
    def reconstructions(self) -> np.ndarray:
        """Noise-free reconstructions of the display images (uint8, K x H x W, or K x H x W x 3)."""
        return to_uint8(reconstruct(self.model, self.show, self.labels[self.show]))

    def images_event(self) -> Images:
        return Images(self.epoch_done, self.originals, self.reconstructions(), self.show_labels)

    def state_dict(self) -> dict[str, Any]:
        """Everything a resume needs (the checkpoint's contents)."""
        perm, batch_pos = self.perm, self.batch_pos
        return {
            "config": self.cfg.to_dict(),
            "model_args": self.args,
            "model": self.model.state_dict(),
            "optimizer": self.opt.state_dict(),
            "rng": self.rng.get_state(),
            "live": dict(self.live),
            "epoch": self.epoch_done,
            "step": self.step,
            "batch_pos": batch_pos,
            "perm": perm if perm is not None and batch_pos else torch.zeros(0, dtype=torch.int64),
            "elapsed_s": self.elapsed(),
            "best_recon_loss": self.best,
        }

    def summary(self, status: str, error: str | None) -> dict[str, Any]:
        """The run's summary (summary.json) as of now."""
        return {
            "status": status,
            "epochs_done": self.epoch_done,
            "epochs": self.cfg.epochs,
            "steps": self.step,
            "elapsed_s": round(self.elapsed(), 3),
            "best_recon_loss": self.best if math.isfinite(self.best) else None,
            "final": self.last_record,
            "error": error,
            "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
