"""Loss charts (textual-plotext): the live training chart and the saved-runs overlay (its curves
drawn by ``glo.view.plots.add_curves``, as ``glo compare`` draws them).

The live chart never feeds plotext more than ``MAX_POINTS`` points per series: step losses are
averaged into buckets that double in size whenever the series grows past the limit, so a long run
costs the same to draw as a short one.
"""

from __future__ import annotations

from textual_plotext import PlotextPlot

from glo.config import SETTINGS
from glo.events import CHART_S
from glo.view.plots import add_curves

MAX_POINTS = 300
CHANGE_SYMBOL = {name: s.live for name, s in SETTINGS.items() if s.live}  # a live change's mark: σ→0.5


class Downsampler:
    """Running bucket means of (x, y) points, at most ``limit`` buckets kept."""

    def __init__(self, limit: int = MAX_POINTS) -> None:
        self.limit = limit
        self.clear()

    def clear(self) -> None:
        self.xs: list[float] = []
        self.ys: list[float] = []
        self.bucket = 1
        self._acc: list[tuple[float, float]] = []

    def add(self, x: float, y: float) -> None:
        self._acc.append((x, y))
        if len(self._acc) >= self.bucket:
            self.xs.append(sum(p[0] for p in self._acc) / len(self._acc))
            self.ys.append(sum(p[1] for p in self._acc) / len(self._acc))
            self._acc = []
            if len(self.xs) > self.limit:
                self._halve()

    def _halve(self) -> None:
        n = len(self.xs) // 2 * 2
        xs = [(self.xs[i] + self.xs[i + 1]) / 2 for i in range(0, n, 2)] + self.xs[n:]
        ys = [(self.ys[i] + self.ys[i + 1]) / 2 for i in range(0, n, 2)] + self.ys[n:]
        self.xs, self.ys, self.bucket = xs, ys, self.bucket * 2

    def points(self) -> tuple[list[float], list[float]]:
        """The buckets plus the partial one (so the newest loss always shows)."""
        if not self._acc:
            return self.xs, self.ys
        return ([*self.xs, sum(p[0] for p in self._acc) / len(self._acc)],
                [*self.ys, sum(p[1] for p in self._acc) / len(self._acc)])


def thin(xs: list, ys: list, limit: int = MAX_POINTS) -> tuple[list, list]:
    """Every k-th point (and the last) so at most about ``limit`` remain."""
    if len(xs) <= limit:
        return xs, ys
    k = -(-len(xs) // limit)
    idx = list(range(0, len(xs), k))
    if idx[-1] != len(xs) - 1:
        idx.append(len(xs) - 1)
    return [xs[i] for i in idx], [ys[i] for i in idx]


class LossChart(PlotextPlot):
    """Training loss per step (downsampled) and noise-free recon loss per epoch, x in epochs."""

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self.log_scale = False
        self.steps_per_epoch = 1
        self.train = Downsampler()
        self.recon: tuple[list[float], list[float]] = ([], [])
        self.changes: list[tuple[float, str]] = []
        self.hint = "no run yet: press s (or F5) to start"
        self.dirty = False
        self._version = 0
        self._rendered: tuple[tuple, object] | None = None
        self.plotted = False  # the chart shows data (else the first data is drawn at once)

    def render(self):
        """The plotext build, reused until the data, the size or the theme change."""
        key = (self._version, self.size, self.app.theme)
        if self._rendered is None or self._rendered[0] != key:
            self._rendered = (key, super().render())
        return self._rendered[1]

    def on_mount(self) -> None:
        super().on_mount()
        self.replot()
        self.set_interval(CHART_S, self._replot_if_dirty)

    def request_replot(self) -> None:
        """Redraw soon (coalesced: at most once per glo.events.CHART_S); the first data of a run at once."""
        self.dirty = True
        if not self.plotted:
            self.replot()

    def _replot_if_dirty(self) -> None:
        if self.dirty:
            self.replot()

    def reset(self, steps_per_epoch: int) -> None:
        self.steps_per_epoch = max(1, steps_per_epoch)
        self.train.clear()
        self.recon = ([], [])
        self.changes = []
        self.hint = ""
        self.plotted = False

    def load_history(self, records: list[dict]) -> None:
        """Epoch records and live changes of a resumed run (no per-step losses are saved)."""
        for rec in records:
            if rec.get("event") == "epoch":
                if isinstance(rec.get("train_loss"), (int, float)):
                    self.train.add(float(rec["epoch"]) - 0.5, float(rec["train_loss"]))
                self.add_epoch(rec["epoch"], rec.get("recon_loss"))
            elif rec.get("event") == "change":
                self.add_change(int(rec.get("step", 1)), str(rec.get("param")), rec.get("new"))

    def add_steps(self, losses) -> None:
        for step, loss in losses:
            self.train.add(step / self.steps_per_epoch, loss)

    def add_epoch(self, epoch: int, recon_loss) -> None:
        if isinstance(recon_loss, (int, float)):
            self.recon[0].append(float(epoch))
            self.recon[1].append(float(recon_loss))

    def add_change(self, step: int, param: str, new) -> None:
        """A live change took effect before ``step``: a vertical line where it happened."""
        x = (step - 1) / self.steps_per_epoch
        self.changes.append((x, f"{CHANGE_SYMBOL.get(param, param)}→{new}"))

    def toggle_log(self) -> bool:
        self.log_scale = not self.log_scale
        self.replot()
        return self.log_scale

    @property
    def changes_label(self) -> str:
        return "  ".join(f"{label}@{x:.1f}" for x, label in self.changes[-3:])

    def replot(self) -> None:
        self.dirty = False
        self._version += 1
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        xs, ys = self.train.points()
        self.plotted = bool(xs or self.recon[0])
        if xs:
            plt.plot(xs, ys, label="train loss (steps)", marker="braille", color="cyan")
        rx, ry = thin(*self.recon)
        if rx:
            plt.plot(rx, ry, label="recon loss (epochs)", marker="braille", color="orange")
        for x, _ in self.changes[-20:]:
            plt.vline(x, "red")
        if self.log_scale and (xs or rx):
            plt.yscale("log")
        plt.xlabel("epoch")
        if self.hint or self.changes:
            plt.title(self.hint or f"live changes: {self.changes_label}")
        self.refresh()


class CompareChart(PlotextPlot):
    """Curves of several saved runs overlaid, with a legend."""

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self.series: list[tuple[str, list[float], list[float]]] = []
        self.log_scale = False
        self.title = ""

    def on_mount(self) -> None:
        super().on_mount()
        self.replot()

    def set_series(self, series, title: str) -> None:
        self.series, self.title = series, title
        self.replot()

    def replot(self) -> None:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        drawn = add_curves(plt, [(label, *thin(xs, ys)) for label, xs, ys in self.series], self.log_scale)
        plt.title(self.title + (" (log)" if self.log_scale else "") + ("" if drawn else ": no epochs yet"))
        self.refresh()
