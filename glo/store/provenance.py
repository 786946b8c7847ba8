"""What a run ran with and where: software versions, machine, device, threads and data.

Each time a run starts or resumes, ``glo.train.loop`` appends one record to the run folder's
``environment.jsonl`` (appended and fsynced, never rewritten): the event (start | resume), the time,
the epochs done and step it started at, what ``environment`` collects (glo and its git commit,
Python, torch, torchvision, numpy, platform, CPU model, device and GPU name, intra-op threads, host)
and the training data's ``fingerprint``. ``environment`` is the one function that looks at the
machine (tests replace it to fake another one); reading (``read_records`` and the labels) needs
neither torch nor numpy, and tolerates a missing or damaged file: runs made before glo recorded
this have none.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import json
import platform
import socket
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from glo.errors import RunStoreError
from glo.host import atomic

if TYPE_CHECKING:  # neither loads with the store: torch only when a run starts, numpy never here
    import numpy as np
    import torch

ENVIRONMENT = "environment.jsonl"
SOFTWARE = ("glo", "python", "torch", "torchvision", "numpy")
# what `glo compare` flags when it differs between runs, and what a resume elsewhere is told about
COMPARED = (*SOFTWARE, "device", "cpu", "threads", "host", "data")
RESUME_COMPARED = (*SOFTWARE, "device", "host", "data")
DATA_SHAPE_KEYS = ("name", "n_images", "images_shape", "images_dtype", "labels_shape", "labels_dtype")
Record = dict[str, Any]


class DataSplit(Protocol):
    """What a data fingerprint reads of the training data (``glo.data.sets.Split`` has it; the store
    does not import the data room)."""

    @property
    def name(self) -> str: ...
    @property
    def images(self) -> np.ndarray: ...
    @property
    def labels(self) -> np.ndarray: ...


# --- collecting (when a run starts or resumes) ---

def environment(device: torch.device | str | None = None) -> Record:
    """The software and machine this process trains on; DEVICE (a torch.device or its name) is
    the device actually used. The one place that looks at the machine."""
    import torch

    record = dict(_static())
    record["torch"] = torch.__version__
    record["device"] = str(device) if device is not None else None
    record["gpu"] = None
    if device is not None and getattr(device, "type", str(device).split(":")[0]) == "cuda":
        try:
            record["gpu"] = torch.cuda.get_device_name(device)
        except Exception:  # noqa: BLE001 - a name is nice to have, never worth failing a run
            pass
    record["threads"] = torch.get_num_threads()
    record["host"] = socket.gethostname()
    return record


@functools.lru_cache(maxsize=1)
def _static() -> Record:
    """What cannot change while this process lives (the code and libraries it has loaded)."""
    import numpy

    import glo

    return {"glo": glo.__version__, "git_commit": git_commit(), "python": platform.python_version(),
            "torchvision": _version("torchvision"), "numpy": numpy.__version__, "platform": platform.platform(),
            "cpu": cpu_model()}


def _version(package: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def git_commit() -> str | None:
    """The commit of the git checkout glo runs from (None when installed, or without git)."""
    package = Path(__file__).resolve().parent
    if not (package.parent / ".git").exists():  # an installed glo: a repository above it is not glo's
        return None
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=package, capture_output=True, text=True,
                             timeout=2, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    commit = out.stdout.strip()
    return commit if out.returncode == 0 and commit else None


def cpu_model() -> str | None:
    """The CPU's model name (/proc/cpuinfo on Linux, else what platform says)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.lower().startswith("model name") and ":" in line:
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or None


def fingerprint(split: DataSplit) -> Record:
    """The training data as trained on: a SHA-256 of its images and labels arrays, their shapes and dtypes."""
    digest = hashlib.sha256()
    for array in (split.images, split.labels):  # their bytes as they lie (tobytes() would copy the set)
        digest.update(array.data if array.flags.c_contiguous else array.tobytes())
    return {"sha256": digest.hexdigest(), "name": split.name, "n_images": len(split.images),
            "images_shape": list(split.images.shape), "images_dtype": str(split.images.dtype),
            "labels_shape": list(split.labels.shape), "labels_dtype": str(split.labels.dtype)}


def make_record(event: str, epoch: int, step: int, device: torch.device | str | None, split: DataSplit) -> Record:
    """One line of environment.jsonl: EVENT (start | resume) at EPOCH (epochs done) and STEP."""
    now = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
    return {"event": event, "time": now, "epoch": epoch, "step": step, **environment(device),
            "data": fingerprint(split)}


def append(run_path: Path, record: Record) -> None:
    """Append RECORD to the run folder's environment.jsonl (fsynced); a failed write raises
    RunStoreError, before any training, as a failed config.json does."""
    try:
        atomic.append_line(run_path / ENVIRONMENT, json.dumps(record), fault="environment")
    except OSError as exc:
        raise RunStoreError(f"cannot record the environment in {run_path / ENVIRONMENT}: "
                            f"{exc.strerror or exc}") from exc


# --- reading (no torch, no numpy) ---

def read_records(run_path: Path) -> tuple[list[Record], list[str]]:
    """The records of a run folder, oldest first, and warnings about lines that could not be read;
    a missing file is no records (a run made before glo recorded its environment)."""
    try:
        text = atomic.read_text(f"{run_path}/{ENVIRONMENT}")
    except FileNotFoundError:
        return [], []
    except OSError:
        return [], [f"{ENVIRONMENT} cannot be read"]
    return atomic.parse_jsonl(text, ENVIRONMENT)


def record_warnings(run_path: Path) -> list[str]:
    """The warnings ``read_records`` would give, for listings: lines as glo appends them (one record
    a line, beginning {"event": , which a JSON string cannot hold unescaped) are not parsed; any
    other line sends the file through ``read_records``. A killed writer tears only the last line:
    it then lacks its closing brace, or a later record appended to it makes two heads in a line."""
    try:
        text = atomic.read_text(f"{run_path}/{ENVIRONMENT}")
    except FileNotFoundError:
        return []
    except OSError:
        return [f"{ENVIRONMENT} cannot be read"]
    head = '{"event": '
    if all(line.startswith(head) and line.endswith("}") and line.count(head) == 1
           for line in text.splitlines() if line.strip()):
        return []
    return read_records(run_path)[1]


def value(record: Record, key: str) -> str:
    """One field of a record as shown and compared: glo with its short commit, the device with its
    GPU, the data by its fingerprint; '?' where not recorded."""
    if key == "glo":
        commit = record.get("git_commit")
        return _text(record.get("glo")) + (f" ({str(commit)[:7]})" if commit else "")
    if key == "device":
        gpu = record.get("gpu")
        return _text(record.get("device")) + (f" ({gpu})" if gpu else "")
    if key == "data":
        data = record.get("data")
        return str(data.get("sha256", "?"))[:12] if isinstance(data, dict) else "?"
    return _text(record.get(key))


def _text(v: Any) -> str:
    return "?" if v is None else str(v)


def differing(records: list[Record], keys: tuple[str, ...] = COMPARED) -> dict[str, list[str]]:
    """The KEYS whose values differ between RECORDS, each with its values in order of appearance."""
    out = {}
    for key in keys:
        values = list(dict.fromkeys(value(r, key) for r in records))
        if len(values) > 1:
            out[key] = values
    return out


def differs_label(records: list[Record]) -> str | None:
    """What differs between RECORDS (each run's latest), e.g. 'torch (2.4.1, 2.14.1), data (2
    fingerprints: n_images differs)'; None when nothing does."""
    parts = []
    for key, values in differing(records).items():
        if key == "data":
            parts.append(f"data ({len(values)} fingerprints: {_data_difference(records)})")
        else:
            shown = values[:4] + ([f"{len(values) - 4} more"] if len(values) > 4 else [])
            parts.append(f"{key} ({', '.join(shown)})")
    return ", ".join(parts) or None


def _data_of(record: Record) -> Record:
    """The record's data fingerprint ({} if it has none)."""
    data = record.get("data")
    return data if isinstance(data, dict) else {}


def _data_difference(records: list[Record]) -> str:
    data = [_data_of(r) for r in records]
    keys = [k for k in DATA_SHAPE_KEYS if len({json.dumps(d.get(k)) for d in data}) > 1]
    if "n_images" in keys and "images_shape" in keys:
        keys.remove("images_shape")
    if "n_images" in keys and "labels_shape" in keys:
        keys.remove("labels_shape")
    if not keys:
        return "same shapes, other contents"
    return ", ".join(k.replace("name", "data set") for k in keys) + (" differ" if len(keys) > 1 else " differs")


def software_label(record: Record) -> str:
    """'glo 0.1.0 (b1e971e), python 3.11.2, torch 2.4.1, torchvision 0.19.1, numpy 2.1.0'."""
    return ", ".join(f"{key} {value(record, key)}" for key in SOFTWARE)


def machine_label(record: Record) -> str:
    """'host box, device cpu, 2 threads, cpu AMD EPYC 7B13, Linux-6.1-x86_64'."""
    return (f"host {value(record, 'host')}, device {value(record, 'device')}, {value(record, 'threads')} threads, "
            f"cpu {value(record, 'cpu')}, {value(record, 'platform')}")


def data_label(record: Record) -> str:
    """'sha256 1a2b3c4d5e6f, 2000 images (uint8 28x28), bundled'."""
    data = _data_of(record)
    shape = data.get("images_shape")
    size = "x".join(str(n) for n in shape[1:]) if isinstance(shape, list) else "?"
    return (f"sha256 {value(record, 'data')}, {_text(data.get('n_images'))} images "
            f"({_text(data.get('images_dtype'))} {size}), {_text(data.get('name'))}")


def history_label(records: list[Record]) -> str:
    """How often the run was started and resumed, e.g. '1 start, 2 resumes (last at epoch 12, 2025-..)'."""
    starts = sum(r.get("event") == "start" for r in records)
    resumes = sum(r.get("event") == "resume" for r in records)
    last = records[-1]
    return (f"{starts} start{'s' if starts != 1 else ''}, {resumes} resume{'s' if resumes != 1 else ''} "
            f"(last: {_text(last.get('event'))} at epoch {_text(last.get('epoch'))}, {_text(last.get('time'))})")


def places_label(records: list[Record]) -> str | None:
    """Where each start or resume ran, when that was not the same everywhere; None when it was."""
    keys = list(differing(records, ("host", "device", *SOFTWARE)))
    if not keys:
        return None
    places = []
    for r in records:
        where = ", ".join(f"{k} {value(r, k)}" for k in keys)
        places.append(f"{_text(r.get('event'))} @{_text(r.get('epoch'))}: {where}")
    return "; ".join(places)


def moved_note(run_id: str, last: Record | None, now: Record) -> str | None:
    """One line when a run resumes with other versions, device, host or data than it last ran
    with (never the time), e.g. 'note: run X last ran with torch 2.4.1 on host a; now torch
    2.14.1 on host b'; None when nothing differs or the run has no record."""
    if last is None:
        return None
    keys = [k for k in RESUME_COMPARED if k != "host" and value(last, k) != value(now, k)]
    if not keys and value(last, "host") == value(now, "host"):
        return None

    def side(r: Record, lead: str) -> str:
        what = ", ".join(f"{k} {value(r, k)}" for k in keys)
        return (f"{lead}{what} " if what else "") + f"on host {value(r, 'host')}"

    return f"note: run {run_id} last ran {side(last, 'with ')}; now {side(now, '')}"
