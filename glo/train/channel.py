"""A run's control channel: any glo process of the same user asks a running run to pause, resume,
stop or change sigma, decay or loss; the training process applies, records and acknowledges it.

Asking (``ask``): a request is a small JSON file, ``control/<time>-<id>.json`` in the run folder
(the folder is 0700, made by the training process; the file 0600, written atomically), plain data
checked with ``validate_live``, the console's live-field rules. Only a run that a live process
trains on this machine is asked; any other is refused (``NotRunning``).

Answering (``Link``, in the training loop): at most every ``POLL_S`` seconds of wall time, one
``os.scandir`` of that folder; each request found is removed and applied through the run's
``Controls`` (so it acts at the next step, as the console's keys do) and acknowledged by one line in
metrics.jsonl that carries its id: ``{"event": "request", "request": ID, "action", "params", "from",
"step", "epoch"}``, or, for a damaged or invalid one, ``{"event": "warning", "request": ID,
"message"}`` (training goes on). A live change it causes is recorded as always, with ``"from"``.
Requests older than the process's start (left behind by a killed run) are discarded unread.
The same link keeps ``steps.bin`` (``glo.store.steplog``) for watchers.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from glo.errors import GloError
from glo.events import CONTROLS_S, Step
from glo.host import atomic
from glo.store.runs import METRICS, Run
from glo.store.steplog import StepLog
from glo.train.controls import LIVE_PARAMS, Controls, validate_live

CONTROL = "control"
ACTIONS = ("pause", "resume", "stop", "set")
POLL_S = CONTROLS_S  # the most often the training process looks for requests (the rate of every control)
MAX_BYTES = 4096  # a request is a few hundred bytes; anything bigger is damaged


class NotRunning(GloError):
    """The run is not trained by a live process on this machine: nothing can be asked of it."""


@dataclass(frozen=True)
class Sent:
    """A request written: its id, and where its answer comes (ACKS, a JSON-lines file, from byte
    OFFSET on; ALIVE says whether the one who answers is still there)."""

    name: str  # the run's id, or 'sweep ID'
    id: str
    action: str
    acks: str
    offset: int
    alive: Callable[[], bool]


def check_running(run: Run) -> None:
    """Raise NotRunning unless a live process on this machine trains RUN (running.json read once)."""
    info = run.read_running()
    host = str(info["host"]) if info is not None and "host" in info else None
    if host is not None and host != socket.gethostname():
        raise NotRunning(f"run {run.id} trains on {host}, not on this machine: steer it there")
    if host is None or not run.is_live(info):
        raise NotRunning(f"run {run.id} is not running ({run.recorded_status()}): nothing to ask")


def check_request(action: str, params: dict[str, Any] | None) -> dict[str, Any]:
    """The request's params as the run will apply them; raises GloError or ValueError."""
    if action not in ACTIONS:
        raise GloError(f"unknown request {action!r}: one of {', '.join(ACTIONS)}")
    params = dict(params or {})
    if action != "set":
        if params:
            raise GloError(f"{action} takes no settings")
        return params
    if not params:
        raise GloError(f"set needs one or more of {', '.join(LIVE_PARAMS)}, e.g. sigma=0.5")
    try:
        return {k: validate_live(k, v) for k, v in params.items()}
    except ValueError as exc:  # validate_live's "cannot be changed while training"
        raise GloError(str(exc)) from exc


def open_folder(folder: Path) -> Path:
    """FOLDER made (or kept) as a control folder: this user's only (0700)."""
    folder.mkdir(mode=0o700, exist_ok=True)
    os.chmod(folder, 0o700)
    return folder


def write_request(folder: Path, name: str, action: str, params: dict[str, Any], source: str) -> str:
    """One request file in FOLDER (0600, atomic); its id. Raises GloError where it cannot be written."""
    request_id = os.urandom(6).hex()
    body = {"id": request_id, "action": action, "params": params, "time": time.time(),
            "from": source or f"pid {os.getpid()}"}
    old = os.umask(0o077)  # 0600: only this user reads it (the folder keeps others out anyway)
    try:
        atomic.write_json(folder / f"{time.time_ns()}-{request_id}.json", body)
    except OSError as exc:  # another user's run: its folder is closed to us
        raise GloError(f"cannot ask {name}: {exc.strerror or exc}") from exc
    finally:
        os.umask(old)
    return request_id


def size_of(path: str) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def ask(run: Run, action: str, params: dict[str, Any] | None = None, source: str = "") -> Sent:
    """Write one request to RUN's control folder; raises NotRunning, or GloError (bad settings, or a
    folder that is not ours)."""
    params = check_request(action, params)
    check_running(run)
    folder = run.file(CONTROL)
    if not folder.is_dir():
        raise NotRunning(f"run {run.id} has no control channel (trained by an older glo?)")
    offset = size_of(run.at(METRICS))
    request_id = write_request(folder, f"run {run.id}", action, params, source)
    return Sent(run.id, request_id, action, run.at(METRICS), offset, run.is_live)


def answer(sent: Sent, timeout: float = 5.0, interval: float = 0.05) -> dict[str, Any] | None:
    """The record that acknowledges SENT (a "request" or a "warning" record, in the run's
    metrics.jsonl or the sweep's acks), or None after TIMEOUT seconds; raises NotRunning where the
    one who answers ends first."""
    deadline, offset, tail = time.monotonic() + timeout, sent.offset, b""
    marker = f'"request": "{sent.id}"'.encode()
    while True:
        try:
            with open(sent.acks, "rb") as fh:
                size = os.fstat(fh.fileno()).st_size
                if size < offset:  # rewritten (a resume trimmed it): read it all again
                    offset, tail = 0, b""
                fh.seek(offset)
                data = tail + fh.read()
                offset = size
        except OSError:
            data = tail
        *lines, tail = data.split(b"\n")
        for line in lines:
            if marker in line:
                try:
                    return json.loads(line)
                except ValueError:
                    pass
        if time.monotonic() >= deadline:
            return None
        if not sent.alive():
            raise NotRunning(f"{sent.name} ended before it took the request")
        time.sleep(interval)


def pending(folder: Path) -> list[str]:
    """The names of the request files waiting in FOLDER, oldest first ([] where it cannot be read)."""
    try:
        with os.scandir(folder) as entries:
            return sorted(e.name for e in entries if e.name.endswith(".json") and not e.name.startswith("."))
    except OSError:
        return []


def take(path: Path, since: float) -> tuple[str, dict[str, Any] | None, str | None]:
    """Read and remove one request file: (its id, the request as checked: action, params, from;
    or None and why it is refused or discarded; None, None: it was gone already)."""
    request_id = path.name[:-5].rpartition("-")[2][:32]
    try:
        if os.lstat(path).st_size > MAX_BYTES:
            raise ValueError(f"larger than {MAX_BYTES} bytes")
        body = json.loads(atomic.read_text(path))
    except FileNotFoundError:
        return request_id, None, None
    except (OSError, ValueError) as exc:
        body = exc
    try:
        os.unlink(path)
    except OSError:
        pass
    try:
        if isinstance(body, Exception):
            raise ValueError(f"unreadable ({body})")
        if not isinstance(body, dict) or not isinstance(body.get("time"), (int, float)):
            raise ValueError("not a request object")
        request_id = str(body.get("id", request_id))[:32]
        if body["time"] < since:
            return request_id, None, (f"request {request_id} ({body.get('action')}) was left by an earlier "
                                      "process: discarded")
        params = check_request(str(body.get("action")), body.get("params"))
    except (GloError, ValueError, TypeError) as exc:
        return request_id, None, f"request {request_id} refused: {exc}"
    return request_id, {"action": body["action"], "params": params, "from": str(body.get("from", ""))[:120]}, None


def apply(controls: Controls, action: str, params: dict[str, Any]) -> None:
    """A checked request, acted on through CONTROLS (as the console's keys and fields act)."""
    if action == "pause":
        controls.pause()
    elif action == "resume":
        controls.resume()
    elif action == "stop":
        controls.stop()
    else:
        controls.set(**params)


def _leftover_since(run: Run) -> float:
    try:
        return float((run.read_running() or {})["since"])
    except (ValueError, KeyError, TypeError):
        return time.time()


class Link:
    """The training process's end: requests in, acknowledgements and step losses out."""

    def __init__(self, run: Run, controls: Controls, record: Callable[[dict[str, Any]], None],
                 steps_per_epoch: int, step: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.run, self.controls, self.record, self.clock = run, controls, record, clock
        self.folder = open_folder(run.file(CONTROL))
        self.since = _leftover_since(run)
        self.steps = StepLog(run.path, steps_per_epoch, keep_until=step)
        self.sources: dict[str, str] = {}  # param -> where its pending change came from
        self.stuck: set[str] = set()  # entries that cannot be removed: reported once
        self.last = clock()
        self.check(step, 0)  # leftovers of a killed process go now

    def poll(self, step: int, epoch: int) -> None:
        """Before each step: every POLL_S seconds, flush steps.bin and apply the requests waiting."""
        if self.clock() - self.last >= POLL_S:
            try:
                self.steps.flush()
            except OSError:  # disk full, folder gone: the watchers miss these steps (flush has dropped
                pass  # them already), training goes on
            self.check(step, epoch)

    def stepped(self, step: Step) -> None:
        """After each step: its loss into steps.bin (buffered until the next poll)."""
        self.steps.add(step)

    def check(self, step: int, epoch: int) -> None:
        """Apply every request waiting in the control folder (never raises: training goes on)."""
        self.last = self.clock()
        for name in pending(self.folder):
            if name in self.stuck:
                continue
            try:
                self._take(name, step, epoch)
            except OSError:  # its acknowledgement could not be written: the epoch's record will say why
                pass
            if os.path.lexists(self.folder / name):  # could not be removed (a folder so named): once only
                self.stuck.add(name)

    def _take(self, name: str, step: int, epoch: int) -> None:
        where = {"step": step + 1, "epoch": epoch}
        request_id, request, why = take(self.folder / name, self.since)
        if request is None:
            if why is not None:
                self.record({"event": "warning", "request": request_id, **where, "message": why})
            return
        apply(self.controls, request["action"], request["params"])
        if request["action"] == "set":
            self.sources.update(dict.fromkeys(request["params"], request["from"]))
        self.record({"event": "request", "request": request_id, **request, **where})

    def tagged(self, changes: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The metrics records of the live changes just applied, each with where it came from when
        a request made it."""
        for change in changes:
            source = self.sources.get(str(change.get("param")))
            if source is not None:
                change["from"] = source
        self.sources.clear()
        return changes

    def close(self) -> None:
        try:
            self.steps.close()
        except OSError:
            pass


def open_link(run: Run | None, controls: Controls, record: Callable[[dict[str, Any]], None],
              steps_per_epoch: int, step: int) -> Link | None:
    """The run's link, or None without a run folder (or where its folder refuses the files)."""
    if run is None:
        return None
    try:
        return Link(run, controls, record, steps_per_epoch, step)
    except OSError:
        return None
