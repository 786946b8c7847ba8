"""A sweep's control channel: requests for the whole sweep, taken by its driver.

While a sweep trains, its driver keeps ``sweeps/<id>.control/`` (0700) beside the manifest:
``driver.info`` (pid, host, since: whether it still runs) and the requests other glo processes
write there, as a run's (``glo.train.channel``: same files, same checks). A thread of the driver
looks every ``POLL_S`` seconds and applies each request to the sweep's ``Controls``: the driver
passes them on to every running point, local or on a Ray cluster, as it passes the console's keys
(a paused sweep starts no new point until resumed: its points hold their slots; a stopped sweep
starts none). Each request is acknowledged by a line in ``acks.jsonl`` there.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from pathlib import Path
from typing import Any

from glo.errors import GloError
from glo.host import atomic
from glo.host.procs import pid_alive
from glo.store.runs import SWEEPS_DIR, RunStore
from glo.train.channel import (
    MAX_BYTES,
    POLL_S,
    NotRunning,
    Sent,
    apply,
    check_request,
    open_folder,
    pending,
    size_of,
    take,
    write_request,
)
from glo.train.controls import Controls

DRIVER, ACKS = "driver.info", "acks.jsonl"


def control_folder(store: RunStore, sweep_id: str) -> Path:
    return store.root / SWEEPS_DIR / f"{sweep_id}.control"


def _driver_info(folder: Path) -> dict[str, Any]:
    """driver.info of this control folder (host, pid), or {} where there is none readable."""
    try:
        info = json.loads(atomic.read_text(folder / DRIVER))
    except (OSError, ValueError):
        return {}
    return info if isinstance(info, dict) else {}


def driver_alive(folder: Path, info: dict[str, Any] | None = None) -> bool:
    """A driver process on this machine keeps this control folder (INFO: its driver.info, if read)."""
    info = _driver_info(folder) if info is None else info
    try:
        return info.get("host") == socket.gethostname() and pid_alive(int(info["pid"]))
    except (ValueError, KeyError, TypeError):
        return False


def ask_sweep(store: RunStore, sweep_id: str, action: str, params: dict[str, Any] | None = None,
              source: str = "") -> Sent:
    """Write one request for the whole sweep SWEEP_ID; raises NotRunning where no driver trains it here."""
    params = check_request(action, params)
    folder = control_folder(store, sweep_id)
    info = _driver_info(folder)
    host = info.get("host")
    if host is not None and host != socket.gethostname():
        raise NotRunning(f"sweep {sweep_id} is driven from {host}, not this machine: steer it there")
    if not driver_alive(folder, info):
        raise NotRunning(f"sweep {sweep_id} is not running: nothing to ask")
    acks = str(folder / ACKS)
    offset = size_of(acks)
    request_id = write_request(folder, f"sweep {sweep_id}", action, params, source)
    return Sent(f"sweep {sweep_id}", request_id, action, acks, offset, lambda: driver_alive(folder))


class SweepLink:
    """The driver's end: a thread that applies the sweep's requests to its CONTROLS."""

    def __init__(self, store: RunStore, sweep_id: str, controls: Controls) -> None:
        self.folder = open_folder(control_folder(store, sweep_id))
        self.controls = controls
        self.since = time.time()
        atomic.write_json(self.folder / DRIVER, {"pid": os.getpid(), "host": socket.gethostname(),
                                                 "since": self.since})
        self._halt = threading.Event()
        self.stuck: set[str] = set()
        self.check()  # a killed driver's leftovers go now
        self._thread = threading.Thread(target=self._loop, name="glo-sweep-requests", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._halt.wait(POLL_S):
            self.check()

    def check(self) -> None:
        """Apply every request waiting (never raises: the sweep goes on)."""
        for name in pending(self.folder):
            if name in self.stuck:
                continue
            if os.path.isdir(self.folder / name):  # not a request file and not removable: once only
                self.stuck.add(name)
            try:
                request_id, request, why = take(self.folder / name, self.since)
                if request is not None:
                    apply(self.controls, request["action"], request["params"])
                    self._ack({"event": "request", "request": request_id, **request, "time": time.time()})
                elif why is not None:
                    self._ack({"event": "warning", "request": request_id, "message": why})
            except (OSError, GloError, ValueError):
                continue

    def _ack(self, record: dict[str, Any]) -> None:
        atomic.append_line(self.folder / ACKS, json.dumps(record), fault="sweep-ack")

    def close(self) -> None:
        self._halt.set()
        self._thread.join(5)
        try:
            os.unlink(self.folder / DRIVER)
        except OSError:
            pass


def open_sweep_link(store: RunStore, sweep_id: str, controls: Controls) -> SweepLink | None:
    """The sweep's link, or None where its folder refuses the files (the sweep trains on)."""
    try:
        return SweepLink(store, sweep_id, controls)
    except OSError:
        return None


# --- a Ray point's requests: from its run folder on the driver's disk to its copy on the worker ---

def collect_mail(folder: Path) -> list[tuple[str, bytes]]:
    """The request files waiting in FOLDER (the driver's copy of a remote point's run), removed:
    (name, bytes) each, to be delivered unread to the point's own copy (``deliver_mail``), where its
    training loop checks and answers them as any run's."""
    mail = []
    for name in pending(folder):
        path = folder / name
        try:
            if os.lstat(path).st_size <= MAX_BYTES:
                mail.append((name, atomic.read_text(path).encode()))
            os.unlink(path)
        except OSError:
            continue
    return mail


def deliver_mail(folder: Path | None, mail: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    """Write MAIL into FOLDER (a remote point's control folder) as the asker wrote it; what could not
    be delivered yet (the folder is made when training begins) is returned, to try again."""
    if folder is None or not folder.is_dir():
        return mail
    old = os.umask(0o077)
    try:
        for name, data in mail:
            if "/" not in name and name.endswith(".json"):
                atomic.write_bytes(folder / name, data)
    finally:
        os.umask(old)
    return []
