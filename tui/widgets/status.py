"""The status panel: state, epoch, step, throughput, ETA, live settings, and any error."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rich.text import Text
from textual.widgets import Static

from glo.view.format import duration, fmt

STATE_STYLE = {"idle": "dim", "starting": "cyan", "training": "bold green", "paused": "bold yellow",
               "pausing": "yellow", "stopping": "yellow", "completed": "green", "stopped": "yellow",
               "failed": "bold red"}


@dataclass
class RunState:
    state: str = "idle"
    run_id: str | None = None
    device: str = ""
    epoch: int = 0
    epochs: int = 0
    step: int = 0
    steps_per_epoch: int = 0
    batch_size: int = 0
    n_images: int = 0
    images_per_s: float | None = None
    live: dict[str, Any] = field(default_factory=dict)
    recon_loss: float | None = None
    error: str | None = None
    note: str = ""
    sweep: str = ""  # e.g. "sweep run 2/3 sigma0.3" while a sweep trains

    @property
    def total_steps(self) -> int:
        return self.epochs * self.steps_per_epoch

    @property
    def eta_s(self) -> float | None:
        if not self.images_per_s or not self.total_steps:
            return None
        remaining = max(0, self.total_steps - self.step) * min(self.batch_size, self.n_images or self.batch_size)
        return remaining / self.images_per_s


class StatusPanel(Static):
    def __init__(self, **kw) -> None:
        super().__init__("", **kw)
        self.run = RunState()

    def on_mount(self) -> None:
        self.redraw()

    def set(self, redraw: bool = True, **changes: Any) -> None:
        """Change fields of the run's state; with REDRAW False they show at the next redraw."""
        for key, value in changes.items():
            setattr(self.run, key, value)
        if redraw:
            self.redraw()

    def redraw(self) -> None:
        r = self.run
        text = Text()
        text.append(r.state, STATE_STYLE.get(r.state, ""))
        if r.note:
            text.append(f"  {r.note}", "dim")
        if r.sweep:
            text.append(f"\n{r.sweep}", "bold magenta")
        if r.run_id:
            text.append(f"\n{r.run_id}", "bold")
            if r.device:
                text.append(f" on {r.device}", "dim")
        if r.epochs:
            text.append(f"\nepoch {r.epoch}/{r.epochs}  step {r.step}/{r.total_steps}")
            moving = r.state in ("training", "pausing")  # paused or ended: no speed to show
            ips = "-" if r.images_per_s is None or not moving else f"{r.images_per_s:.0f}"
            eta = duration(r.eta_s) if moving else "-"
            text.append(f"\n{ips} img/s  ETA {eta}")
        if r.live:
            text.append(f"\nσ {fmt(r.live.get('sigma'))}  decay {fmt(r.live.get('decay'))}  "
                        f"loss {r.live.get('loss')}")
        if r.recon_loss is not None:
            text.append(f"\nrecon loss {fmt(r.recon_loss)}")
        if r.error:
            text.append(f"\nerror: {r.error}", "bold red")
        self.update(text, layout=False)  # fixed height: no reflow of the screen 4 times a second
