"""Ray's own words kept out of glo's output (``glo sweep --ray``).

Ray's driver prints what its cluster reports (a node marked dead, a task that cannot be scheduled)
straight to the terminal, with colour escapes and node ids, and its Python logger writes warnings
there too. ``install`` routes both away before glo connects: each message Ray prints becomes at most
one line in glo's words (``take`` hands them to the sweep's driver, which shows them as
``glo.events.Notice``), and Ray's logger writes to ``glo-driver.log`` in the Ray session's log folder
(``/tmp/ray/session_latest/logs`` on the head by default), where Ray's own logs stay.
"""

from __future__ import annotations

import logging
import re
import threading
from pathlib import Path
from typing import Any

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_lock = threading.Lock()
_lines: list[str] = []
_log = logging.getLogger("ray")

# (what Ray says, what glo says)
SAYINGS = (
    (re.compile(r"marked dead|node .*(died|dead|removed)", re.I),
     "a node of the cluster was lost (it stopped answering): its points go on from their last checkpoint"),
    (re.compile(r"cannot be scheduled|infeasible|no node.*(resources|satisf)", re.I),
     "a point cannot be placed: no node of the cluster has the CPUs or GPUs it asks for"),
)


def translate(text: str) -> str | None:
    """glo's line for one of Ray's messages (colour escapes and all), or None: not for the user."""
    plain = ANSI.sub("", text)
    for pattern, line in SAYINGS:
        if pattern.search(plain):
            return line
    return None


def _print_to_stdstream(data: dict[str, Any], ignore_prefix: bool = False) -> None:
    """Stands in for Ray's printer of its cluster's messages on the driver: glo's words, or nothing."""
    for text in data.get("lines", ()):
        _log.info("%s", ANSI.sub("", str(text)))  # to glo-driver.log, as Ray said it
        line = translate(str(text))
        if line is not None:
            with _lock:
                if line not in _lines:
                    _lines.append(line)


def install() -> None:
    """Before ray.init: Ray's cluster messages and its logger no longer reach the terminal."""
    import ray._private.worker as worker

    worker.print_to_stdstream = _print_to_stdstream
    _log.handlers[:] = [logging.NullHandler()]
    _log.propagate = False
    _log.setLevel(logging.INFO)


def log_to_session() -> None:
    """After ray.init: Ray's logger writes to glo-driver.log in the session's log folder."""
    try:
        import ray._private.worker as worker

        node: Any = worker._global_node
        folder = Path(node.get_logs_dir_path())
        handler = logging.FileHandler(folder / "glo-driver.log")
    except Exception:  # noqa: BLE001 - a client connection, or a folder we cannot write: nowhere
        return
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    _log.handlers[:] = [handler]


def take() -> list[str]:
    """The lines for the user since the last call."""
    with _lock:
        out, _lines[:] = list(_lines), []
    return out


def need(cpus: float, gpus: float, total: dict[str, float], free: dict[str, float]) -> tuple[str, str]:
    """(the line for the user, a point row's words) when a point asking CPUS and GPUS finds no room in a
    cluster with TOTAL resources, FREE of them free."""
    for name, per in (("CPU", cpus), ("GPU", gpus)):
        have, spare = total.get(name, 0.0), free.get(name, 0.0)
        if per > 0 and spare + 1e-9 < per:
            unit = name if per == 1 else name + "s"
            has = f"{have:g} {name}{'' if have == 1 else 's'}" + (f", {spare:g} free" if have + 1e-9 >= per else "")
            return f"waiting for a node with {per:g} free {unit}: the cluster has {has}; add a node", f"waiting: {has}"
    return "waiting for a node: Ray has not placed the point yet", "waiting for a node"
