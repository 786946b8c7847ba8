"""The settings form's sweep field: ``sigma=0.01,0.3,2``, or a grid over two settings
``sigma=0.1,2; loss=l1,l2``. Values are read by ``glo.sweep.manifest.parse_values`` (the CLI's --values);
every point is checked by ``RunConfig.validate`` as the form is typed, so a sweep that would be
refused never gets this far.
"""

from __future__ import annotations

from typing import Any

from glo.config import RunConfig
from glo.errors import ConfigError
from glo.sweep.manifest import parse_values, plan, setting_name

EXAMPLE = "sigma=0.1,2"


def parse_sweep(text: str) -> list[tuple[str, list[Any]]]:
    """[(setting, values), ...] of a sweep field; [] when empty; ConfigError when malformed."""
    params: list[tuple[str, list[Any]]] = []
    for part in (p.strip() for p in str(text).split(";")):
        if not part:
            continue
        param, eq, values = part.partition("=")
        param = setting_name(param)
        if not eq or not param:
            raise ConfigError(f"sweep: write setting=values, e.g. {EXAMPLE}; got {part!r}")
        if param in (k for k, _ in params):
            raise ConfigError(f"sweep: {param} is given twice")
        try:
            params.append((param, parse_values(param, values)))
        except ConfigError as exc:  # worded for the command line: reword for the field
            if str(exc).startswith("cannot sweep"):
                raise ConfigError(f"cannot sweep {param!r}; sweep e.g. sigma, decay, loss, seed, epochs") from None
            raise ConfigError(str(exc).replace("--values for", "sweep:")) from None
    return params


def check_sweep(base: RunConfig, params: list[tuple[str, list[Any]]]) -> int:
    """Validate every point of the grid over ``base``; the number of runs. Raises ConfigError."""
    return len(plan(base, params))


def format_sweep(params: list[tuple[str, list[Any]]]) -> str:
    """The field text of a sweep's (setting, values): the inverse of ``parse_sweep``."""
    def fmt(v: Any) -> str:
        return f"{v:g}" if isinstance(v, float) else str(v)

    return "; ".join(f"{k}={','.join(fmt(v) for v in values)}" for k, values in params)
