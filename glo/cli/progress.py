"""Headless progress: a rich progress bar on a terminal, plain lines otherwise."""

from __future__ import annotations

import sys
from typing import IO

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from glo.events import (
    BAR_S,
    Changed,
    Epoch,
    Event,
    Finished,
    Notice,
    Pace,
    Paused,
    Placed,
    PointEvent,
    Resumed,
    Started,
    Step,
    SweepFinished,
    SweepPoint,
    Waiting,
)


def epoch_line(rec: dict, epochs: int) -> str:
    return (
        f"epoch {rec['epoch']}/{epochs}  train_loss {rec['train_loss']:.4f}  recon_loss {rec['recon_loss']:.4f}  "
        f"{rec['images_per_s']:.0f} img/s  elapsed {rec['elapsed_s']:.1f}s"
    )


class PlainReporter:
    """One line per epoch and per notable event (for logs, pipes and CI)."""

    def __init__(self, out: IO[str] | None = None) -> None:
        self.out = out or sys.stdout
        self.epochs = 0
        self.labels: dict[int, str] = {}  # a parallel sweep's points: index -> label
        self.point_epochs: dict[int, int] = {}

    def __enter__(self) -> PlainReporter:
        return self

    def __exit__(self, *exc) -> None:
        pass

    def say(self, line: str) -> None:
        print(line, file=self.out, flush=True)

    def handle(self, ev: Event) -> None:
        if isinstance(ev, PointEvent):  # a parallel sweep: each line says which point it is about
            self.point(ev.index, ev.event)
            return
        if isinstance(ev, Started):
            self.epochs = ev.epochs
            what = "resuming" if ev.resumed else "training"
            self.say(f"{what} run {ev.run_id} on {ev.device} from epoch {ev.epoch}/{ev.epochs} ({ev.run_dir})")
        elif isinstance(ev, Epoch):
            self.say(epoch_line(ev.record, self.epochs))
        elif isinstance(ev, Changed):
            self.say(f"step {ev.step}: {ev.param} {ev.old} -> {ev.new}")
        elif isinstance(ev, Paused):
            self.say(f"paused at step {ev.step}")
        elif isinstance(ev, Resumed):
            self.say(f"resumed at step {ev.step}")
        elif isinstance(ev, Finished):
            tail = f": {ev.error}" if ev.error else ""
            n = ev.summary["epochs_done"]
            self.say(f"run {ev.status} after {n} epoch{'' if n == 1 else 's'}{tail}")
        elif isinstance(ev, SweepPoint):
            self.labels[ev.index] = ev.label
            what = {"start": "starting", "resume": "resuming", "skip": f"skipping ({ev.status})",
                    "retry": "its worker died: resuming from its checkpoint"}[ev.action]
            self.say(f"[{ev.index + 1}/{ev.total}] {ev.label}: {what} run {ev.run_id}")
        elif isinstance(ev, Waiting) and ev.points and not ev.gave_up:  # (given up: the command says so)
            labels = ", ".join(label for _, label in ev.points)
            since = f" (for {ev.waited_s:.0f} s)" if ev.waited_s >= 1 else ""
            self.say(f"{labels}: {ev.reason}, or stop with Ctrl-C{since}")
        elif isinstance(ev, Notice):
            self.say(ev.text)
        elif isinstance(ev, SweepFinished):
            failed = f", {ev.failed} failed" if ev.failed else ""
            self.say(f"sweep {ev.status}: {ev.completed}/{ev.total} runs completed{failed}")


    def point(self, index: int, ev: Event) -> None:
        """A parallel sweep point's event as a line led by its label (its Steps are not printed)."""
        label = self.labels.get(index, str(index))
        if isinstance(ev, Started):
            self.point_epochs[index] = ev.epochs
        elif isinstance(ev, Epoch):
            self.say(f"{label}: {epoch_line(ev.record, self.point_epochs.get(index, 0))}")
        elif isinstance(ev, Finished):
            tail = f": {ev.error}" if ev.error else ""
            self.say(f"{label}: run {ev.status} after {ev.summary.get('epochs_done', 0)} epochs{tail}")
        elif isinstance(ev, (Paused, Resumed, Changed)):
            self.say(f"{label}: {type(ev).__name__.lower()} at step {ev.step}")
        elif isinstance(ev, Placed):  # a Ray cluster's point: where it trains
            self.say(f"{label}: on node {ev.node}")


class RichReporter(PlainReporter):
    """A live bar with epoch, loss, throughput and ETA; epoch lines scroll above it."""

    def __init__(self, console: Console) -> None:
        super().__init__(console.file)
        self.console = console
        narrow = console.width < 110  # 80 columns: no elapsed time, recon only in the epoch lines
        columns = [
            TextColumn("[bold]{task.fields[prefix]}epoch {task.fields[epoch]}/{task.fields[epochs]}"),
            BarColumn(bar_width=10 if narrow else 40),
            TextColumn("loss {task.fields[loss]:.4f}" + ("" if narrow else "  recon {task.fields[recon]}")),
            TextColumn("{task.fields[ips]:.0f} img/s"),
            *([] if narrow else [TimeElapsedColumn()]),
            TextColumn("ETA"),
            TimeRemainingColumn(),
        ]
        self.progress = Progress(*columns, console=console, transient=True, refresh_per_second=1 / BAR_S)
        self.task: TaskID | None = None
        # a run's steps not yet on its bar (it takes them every BAR_S): how many, and the newest
        self.unbarred: int = 0
        self.newest: Step | None = None
        self.pace = Pace(BAR_S)
        self.prefix = ""
        self.bars: dict[int, tuple[TaskID, int]] = {}  # a parallel sweep: point index -> (task, steps per epoch)

    def __enter__(self) -> RichReporter:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.progress.__exit__(*exc)

    def say(self, line: str) -> None:
        self.progress.console.print(line, highlight=False, markup=False)

    def point(self, index: int, ev: Event) -> None:
        """A bar per running point of a parallel sweep (its Steps come a few a second)."""
        label = self.labels.get(index, str(index))
        if isinstance(ev, Started):
            task = self.progress.add_task(
                "train", total=ev.epochs * ev.steps_per_epoch, completed=ev.epoch * ev.steps_per_epoch,
                epoch=ev.epoch, epochs=ev.epochs, loss=float("nan"), recon="-", ips=0.0, prefix=f"{label}  ")
            self.bars[index] = (task, ev.steps_per_epoch)
        elif isinstance(ev, Step) and index in self.bars:
            task, steps = self.bars[index]
            self.progress.update(task, completed=(ev.epoch - 1) * steps + ev.batch, epoch=ev.epoch, loss=ev.loss,
                                 ips=ev.images_per_s)
        elif isinstance(ev, Epoch) and index in self.bars:
            self.progress.update(self.bars[index][0], recon=f"{ev.record['recon_loss']:.4f}")
        elif isinstance(ev, Finished) and index in self.bars:
            self.progress.remove_task(self.bars.pop(index)[0])
        super().point(index, ev)

    def bar_steps(self) -> None:
        """The steps since the bar last took some: counted, the newest one's numbers shown."""
        last = self.newest
        if last is not None and self.task is not None:  # steps come only while a bar is up
            self.progress.update(self.task, advance=self.unbarred, epoch=last.epoch, loss=last.loss,
                                 ips=last.images_per_s)
            self.unbarred, self.newest = 0, None

    def handle(self, ev: Event) -> None:
        if not isinstance(ev, Step) and self.task is not None:  # a pause, an epoch, the end: the bar is current
            self.bar_steps()
        if isinstance(ev, Started):
            total = ev.epochs * ev.steps_per_epoch
            self.task = self.progress.add_task(
                "train", total=total, completed=ev.epoch * ev.steps_per_epoch,
                epoch=ev.epoch, epochs=ev.epochs, loss=float("nan"), recon="-", ips=0.0, prefix=self.prefix,
            )
            self.unbarred, self.newest = 0, None
            self.pace.restart()
        elif isinstance(ev, Step) and self.task is not None:
            self.unbarred, self.newest = self.unbarred + 1, ev
            if self.pace.ready():
                self.bar_steps()
        elif isinstance(ev, Epoch) and self.task is not None:
            self.progress.update(self.task, recon=f"{ev.record['recon_loss']:.4f}")
        elif isinstance(ev, Finished) and self.task is not None:  # a sweep's next run gets a fresh bar
            self.progress.remove_task(self.task)
            self.task = None
        elif isinstance(ev, SweepPoint):  # the bar of each run of a sweep says where the sweep is
            self.prefix = f"run {ev.index + 1}/{ev.total} {ev.label}  "
        super().handle(ev)


def reporter(console: Console) -> PlainReporter:
    return RichReporter(console) if console.is_terminal else PlainReporter(console.file)
