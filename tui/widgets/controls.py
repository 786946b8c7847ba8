"""The run settings form: validated as you type, by RunConfig itself (validation lives in glo.config).

While a run trains, only sigma, decay and loss stay editable: Enter in sigma or decay, or picking a
loss, asks for a live change (applied by the training loop before its next step).

The optional sweep field (``sigma=0.01,0.3,2``, or ``sigma=0.1,2; loss=l1,l2`` for a grid) asks for
one run per point with the other fields as the base; ``w`` or Enter in it starts the sweep.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, cast

from textual import events
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label, Select, Static

from glo.config import FORM, LIVE_PARAMS, SETTINGS, RunConfig, parse_setting
from glo.errors import ConfigError
from tui.messages import LiveChangeRequested, StartRequested, SweepRequested
from tui.sweepspec import EXAMPLE, check_sweep, format_sweep, parse_sweep

if TYPE_CHECKING:
    from tui.protocols import TrainingScreen

# the form's settings, labels and order, and which of them change live: their RunConfig fields' (glo.config)
FIELDS: tuple[tuple[str, str], ...] = FORM
ROOMY_ROWS = 27  # a screen this tall shows the roomy settings too (24 rows: the status needs them)
LIVE = LIVE_PARAMS
KEYS = dict(FIELDS)  # every field's key (and label)


class SweepInput(Input):
    """The sweep field. While it is empty, ``w`` still means "start the sweep" (no setting name
    starts with w), so pressing w twice does not type a w into the field."""

    async def _on_key(self, event: events.Key) -> None:
        if event.character == "w" and not self.value:
            event.stop()
            event.prevent_default()
            await self.screen.run_action("sweep")
            return
        await super()._on_key(event)


class ControlsPanel(Vertical):
    """Settings, Start / Pause / Stop buttons, and one line that says what is wrong."""

    def __init__(self, base: RunConfig, **kw) -> None:
        super().__init__(**kw)
        self.base = base
        self.errors: dict[str, str] = {}
        self.running = False
        self.locked: set[str] = set()  # settings a sweep varies: never changed live while it trains

    def fit(self, rows: int) -> None:
        """On a screen of fewer than ROOMY_ROWS rows (80x24) the roomy settings give way to the run's status."""
        self.set_class(rows < ROOMY_ROWS, "-short")

    def compose(self) -> ComposeResult:
        for key, label in FIELDS:
            with Horizontal(classes="field -roomy" if SETTINGS[key].roomy else "field"):
                yield Label(label, classes="field-label")
                value, choices = getattr(self.base, key), SETTINGS[key].choices
                if choices:  # a Select of the choices; an Input otherwise
                    yield Select([(c, c) for c in choices], value=value, allow_blank=False, compact=True,
                                 id=f"f-{key}")
                else:
                    yield Input(str(value), compact=True, id=f"f-{key}", select_on_focus=False,
                                classes="live" if key in LIVE else "")
        with Horizontal(classes="field"):
            yield Label("sweep", classes="field-label")
            yield SweepInput("", placeholder=f"e.g. {EXAMPLE}", compact=True, id="f-sweep", select_on_focus=False)
        yield Static("", id="form-message")
        with Horizontal(id="buttons"):
            yield Button("Start", id="start", variant="success", compact=True)
            yield Button("Pause", id="pause", compact=True, disabled=True)
            yield Button("Stop", id="stop", variant="error", compact=True, disabled=True)

    def on_mount(self) -> None:
        self.validate_form()

    # --- values and validation ---
    def widget(self, key: str) -> Input | Select[str]:  # a FIELDS key, or "sweep"
        return cast("Input | Select[str]", self.query_one(f"#f-{key}"))  # compose made each field one or the other

    def raw(self, key: str) -> str:
        w = self.widget(key)
        return str(w.value)

    def values(self) -> tuple[dict, dict[str, str]]:
        values, errors = {}, {}
        for key, _ in FIELDS:
            try:
                values[key] = parse_setting(key, self.raw(key))
            except (ConfigError, ValueError) as exc:
                errors[key] = str(exc)
        return values, errors

    def config(self) -> RunConfig:
        """The form as a validated RunConfig; raises ConfigError naming the first bad setting."""
        values, errors = self.values()
        if errors:
            raise ConfigError(next(iter(errors.values())))
        return replace(self.base, **values).validate()

    def sweep(self) -> list[tuple[str, list]]:
        """The sweep field as [(setting, values), ...] ([] when empty); raises ConfigError."""
        return parse_sweep(self.raw("sweep"))

    def validate_form(self) -> dict[str, str]:
        values, errors = self.values()
        points = 0
        if not errors:
            try:
                cfg = replace(self.base, **values).validate()
            except ConfigError as exc:
                errors[exc.key if exc.key in KEYS else "dataset"] = str(exc)
            else:
                try:
                    params = self.sweep()
                    points = check_sweep(cfg, params) if params else 0
                except ConfigError as exc:
                    errors["sweep"] = str(exc)
        self.errors = errors
        for key in (*KEYS, "sweep"):
            self.widget(key).set_class(key in errors, "-invalid")
        message = self.query_one("#form-message", Static)
        if errors:
            message.update(next(iter(errors.values())))
            message.set_class(True, "error")
        else:
            ready = (f"ready: {points} runs: w, or Enter in sweep, starts the sweep" if points
                     else "ready: Enter, s or F5 starts")
            live = "/".join(k for k in ("sigma", "decay") if k not in self.locked)
            running = f"Enter in {live} applies it live" if live else "a sweep: its settings stay as they are"
            message.update(running if self.running else ready)
            message.set_class(False, "error")
        self.query_one("#start", Button).disabled = self.running or bool(set(errors) - {"sweep"})
        return errors

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.validate_form()

    def on_select_changed(self, event: Select.Changed) -> None:
        event.stop()
        self.validate_form()
        key = event.select.id.removeprefix("f-") if event.select.id else ""
        if self.running and key == "loss" and key not in self.errors:
            self.post_message(LiveChangeRequested("loss", event.value))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        key = event.input.id.removeprefix("f-") if event.input.id else ""
        errors = self.validate_form()
        if key in errors:
            self.app.bell()
            return
        if self.running and key in LIVE:
            self.post_message(LiveChangeRequested(key, parse_setting(key, event.value)))
        elif not self.running and key == "sweep":
            self.request_sweep()
        elif not self.running:
            self.request_start()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "start":
            self.request_start()
        elif event.button.id == "pause":
            cast("TrainingScreen", self.screen).action_pause()
        elif event.button.id == "stop":
            cast("TrainingScreen", self.screen).action_stop()

    def request_start(self) -> bool:
        if self.running:
            return False
        try:
            cfg = self.config()
        except ConfigError as exc:
            self.validate_form()
            self.notify(str(exc), severity="error")
            return False
        self.post_message(StartRequested(cfg))
        return True

    def request_sweep(self) -> bool:
        """Ask for a sweep over the sweep field's values, with the other fields as the base."""
        if self.running:
            return False
        try:
            cfg = self.config()
            params = self.sweep()
            if params:
                check_sweep(cfg, params)
        except ConfigError as exc:
            self.validate_form()
            self.notify(str(exc), severity="error")
            return False
        if not params:
            self.notify(f"type the values to sweep in the sweep field, e.g. {EXAMPLE}, then press Enter",
                        severity="warning")
            self.widget("sweep").focus()
            return False
        self.post_message(SweepRequested(cfg, params))
        return True

    # --- run state ---
    def set_running(self, running: bool, paused: bool = False) -> None:
        self.running = running
        focused = self.screen.focused
        for key in (*KEYS, "sweep"):
            self.widget(key).disabled = running and (key not in LIVE or key in self.locked)
        if focused is not None and focused.disabled:
            self.screen.set_focus(None)  # letter keys (p, x, l, a) work at once
        self.query_one("#pause", Button).disabled = not running
        self.query_one("#pause", Button).label = "Resume" if paused else "Pause"
        self.query_one("#stop", Button).disabled = not running
        self.validate_form()

    def set_values(self, cfg: RunConfig) -> None:
        """Show a run's settings (e.g. one being resumed); its name and sweep are not carried over."""
        self.base = replace(cfg, name=None, sweep=None)
        self._show({key: getattr(cfg, key) for key, _ in FIELDS})

    def set_sweep(self, params: list[tuple[str, list]]) -> None:
        """Show a sweep's swept settings in the sweep field."""
        self._show({"sweep": format_sweep(params)})

    def set_live(self, live: dict) -> None:
        """Show the live values a run trains with now."""
        self._show({k: v for k, v in live.items() if k in LIVE and v is not None})

    def _show(self, values: dict) -> None:
        for key, value in values.items():
            w = self.widget(key)
            with w.prevent(Input.Changed, Select.Changed):
                w.value = value if isinstance(w, Select) else str(value).removesuffix(".0")  # 2.0 as 2
        self.validate_form()
