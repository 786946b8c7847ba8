"""What the console's screens and widgets ask of the app and screen they run in, as Protocols.

The screens can't import ``tui.app`` (it imports them: the import contracts forbid the cycle), so
they see the app through ``GloConsole``, which ``tui.app.GloApp`` satisfies (mypy checks it there);
the controls panel sees the training screen through ``TrainingScreen`` likewise, and the screens
that use the app are ``ConsoleScreen``s (their ``glo`` property). Nothing here imports a module of
the console.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, cast

from textual.screen import Screen

if TYPE_CHECKING:
    from glo.config import RunConfig
    from glo.store.runs import Run, RunStore
    from glo.sweep.manifest import Sweep
    from glo.train.prepare import Loader, PreparedRun


class GloConsole(Protocol):
    """The console app (``tui.app.GloApp``) as its screens and jobs use it."""

    store: RunStore
    prepared: PreparedRun | None  # a run `glo run` prepared, trained on mount (then None)
    sweep: Sweep | None  # a sweep `glo sweep` gave, trained on mount (then None)
    load: Loader | None
    started_runs: list[str]
    started_sweeps: list[str]
    waited_out: set[str]

    def prepare_run(self, cfg: RunConfig | None, resume_id: str | None) -> PreparedRun: ...

    def resume_run(self, run_id: str) -> None: ...

    def resume_sweep(self, sweep: Sweep) -> None: ...

    def open_compare(self, runs: list[Run], title: str | None = None) -> None: ...


class TrainingScreen(Protocol):
    """The training screen (``tui.screens.train.TrainScreen``) as its controls panel uses it."""

    def action_pause(self) -> None: ...

    def action_stop(self) -> None: ...


class ConsoleScreen(Screen):
    """A screen of the console, which sees its app as the ``GloConsole`` it is."""

    @property
    def glo(self) -> GloConsole:
        return cast("GloConsole", self.app)
