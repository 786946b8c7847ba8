"""Thread-safe controls for a running training loop: pause, resume, stop and live changes."""

from __future__ import annotations

import threading
from typing import Any

from glo.config import LIVE_PARAMS, check_live

__all__ = ["LIVE_PARAMS", "Controls", "validate_live"]


def validate_live(param: str, value: Any) -> Any:
    """Check one live change; return the value to apply. Raises ConfigError (which settings can
    change while training, and their bounds, are their RunConfig fields': glo.config.check_live)."""
    return check_live(param, value)


class Controls:
    """Called from any thread; the training loop reads them before each step."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._paused = False
        self._stop = False
        self._pending: dict[str, Any] = {}

    def pause(self) -> None:
        with self._cond:
            self._paused = True

    def resume(self) -> None:
        with self._cond:
            self._paused = False
            self._cond.notify_all()

    def stop(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify_all()

    def release(self) -> None:
        """The front end goes away: the run it trains stops (a watcher's controls only stop watching)."""
        self.stop()

    def set(self, **changes: Any) -> None:
        """Queue live changes (sigma, decay, loss); they apply before the next step."""
        checked = {k: validate_live(k, v) for k, v in changes.items()}
        with self._cond:
            self._pending.update(checked)

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def stop_requested(self) -> bool:
        return self._stop

    def take_changes(self) -> dict[str, Any]:
        with self._cond:
            pending, self._pending = self._pending, {}
            return pending

    def wait_while_paused(self, timeout: float | None = None) -> None:
        """Block while paused, until resumed or stopped (or ``timeout`` seconds pass)."""
        with self._cond:
            if self._paused and not self._stop:
                self._cond.wait(timeout)
