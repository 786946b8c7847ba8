"""The run store: one plain folder per run under the runs folder.

A run folder holds config.json, metrics.jsonl (one JSON object per line), checkpoint.pt,
images.npz and recon.png (originals above reconstructions), summary.json once the run ends, and
running.json while a process trains it. Reading never needs torch, and never trusts names from disk
or the command line to stay inside the runs folder.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from glo.config import RunConfig
from glo.errors import RunStoreError
from glo.host import atomic
from glo.host.procs import pid_alive

if TYPE_CHECKING:
    import numpy as np

ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$")
CONFIG, METRICS, SUMMARY, CHECKPOINT = "config.json", "metrics.jsonl", "summary.json", "checkpoint.pt"
IMAGES_NPZ, IMAGES_PNG, RUNNING = "images.npz", "recon.png", "running.json"
SWEEPS_DIR = "sweeps"  # sweep manifests live here, beside the run folders
EXPORTS_DIR = "exports"  # comparison exports (CSV, PNG) written from the console
RESERVED = (SWEEPS_DIR, EXPORTS_DIR)  # folders of the runs folder that are never runs


RUNS_DIR_HELP = "Runs folder (default: $GLO_RUNS_DIR or ./runs)."  # --runs-dir of every command


def default_runs_dir() -> Path:
    return Path(os.environ.get("GLO_RUNS_DIR") or "runs")


def check_run_id(run_id: str) -> str:
    if not isinstance(run_id, str) or not ID_RE.match(run_id) or ".." in run_id:
        raise RunStoreError(f"invalid run id {run_id!r}: use the id shown by 'glo runs list'")
    return run_id


def _label(cfg: RunConfig) -> str:
    if cfg.name:
        return cfg.name
    label = f"s{cfg.sigma:g}-{cfg.loss.replace('+', '')}"
    return label + ("-adain" if cfg.combine == "adain" else "")


# metrics.jsonl as glo appends it: whole lines of ASCII (json.dumps escapes the rest), each a JSON object
# beginning {"event": ...; epoch records begin {"event": "epoch", "epoch": N,
GLO_LINES = re.compile(r'(?:\{"event": "[^\n]*\}|)(?:\n(?:\{"event": "[^\n]*\}|))*\n?')
EPOCH_LINE = re.compile(r'\{"event": "epoch", "epoch": (\d+),')  # a string value could not hold this:
# its quotes would be escaped


def _epochs_at_a_glance(text: str) -> tuple[int, dict[str, Any]] | None:
    """Epochs done and the last epoch record of metrics as glo writes them, parsing only that
    record; None where a line is not so (a torn or foreign line: then every line is parsed)."""
    if not text.isascii() or any(c in text for c in "\r\x0b\x0c\x1c\x1d\x1e") or not GLO_LINES.fullmatch(text):
        return None  # (those characters break lines for str.splitlines too)
    numbers = EPOCH_LINE.findall(text)
    if len(numbers) != text.count('\n{"event": "epoch"') + text.startswith('{"event": "epoch"'):
        return None  # an epoch record written some other way
    if not numbers:
        return 0, {}
    epochs = set(map(int, numbers))
    top = max(epochs)
    start = text.rfind(f'{{"event": "epoch", "epoch": {top},')  # a later record of the same epoch supersedes
    end = text.find("\n", start)
    try:
        last = json.loads(text[start:end if end >= 0 else len(text)])
    except ValueError:
        return None
    if not (isinstance(last, dict) and last.get("epoch") == top and last.get("event") == "epoch"):
        return None
    return len(epochs), last


@dataclass
class Run:
    """One run folder. Paths are built only from checked ids, always below ``root``."""

    root: Path
    id: str
    _warnings: list[str] = field(default_factory=list, repr=False)

    @property
    def path(self) -> Path:
        path = self.__dict__.get("_path")
        if path is None:  # made once: listings ask for it tens of thousands of times
            path = self.__dict__["_path"] = self.root / self.id
        return path

    def file(self, name: str) -> Path:
        return self.path / name

    def at(self, name: str) -> str:
        """The path of file NAME as a string: what the readers open (cheaper than a Path)."""
        return f"{self.path}/{name}"

    # --- config ---
    def write_config(self, cfg: RunConfig) -> None:
        atomic.write_json(self.file(CONFIG), cfg.to_dict())

    def read_config(self) -> RunConfig:
        try:
            data = json.loads(atomic.read_text(self.at(CONFIG)))
            if not isinstance(data, dict):
                raise ValueError("not an object")
            return RunConfig.from_dict(data)
        except (OSError, ValueError, TypeError) as exc:
            raise RunStoreError(f"run {self.id}: config.json is missing or damaged ({exc})") from exc

    # --- metrics ---
    def append_metrics(self, record: dict[str, Any]) -> None:
        atomic.append_line(self.file(METRICS), json.dumps(record))

    def read_metrics(self) -> list[dict[str, Any]]:
        """Every whole record; a torn or garbled line (a killed writer) is skipped and noted."""
        try:
            text = atomic.read_text(self.at(METRICS))
        except FileNotFoundError:
            return []
        except OSError:
            self._warnings.append("metrics.jsonl cannot be read")
            return []
        records, warnings = atomic.parse_jsonl(text, METRICS)
        self._warnings += warnings
        return records

    def epochs(self, records: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
        """Epoch records, one per epoch (a later record for the same epoch supersedes).

        ``records`` are metrics already read (``read_metrics``), to avoid reading the file twice.
        """
        by_epoch: dict[int, dict[str, Any]] = {}
        for rec in self.read_metrics() if records is None else records:
            if rec.get("event") == "epoch" and isinstance(rec.get("epoch"), int):
                by_epoch[rec["epoch"]] = rec
        return [by_epoch[k] for k in sorted(by_epoch)]

    def last_epoch(self) -> tuple[int, dict[str, Any]]:
        """(epochs done, the last epoch record), as ``epochs`` finds them, for listings: where every
        line is a record as glo appends them (whole lines: a killed writer tears only the last one),
        only the last epoch record is parsed; otherwise every line is, as ``read_metrics`` does."""
        try:
            text = atomic.read_text(self.at(METRICS))
        except FileNotFoundError:
            return 0, {}
        except OSError:
            text = ""
        found = _epochs_at_a_glance(text) if text else None
        if found is not None:
            return found
        epochs = self.epochs()
        return len(epochs), epochs[-1] if epochs else {}

    def truncate_metrics(self, epoch: int, step: int) -> None:
        """Keep only records up to a checkpoint (for resume): epochs <= epoch, changes <= step."""
        kept = [
            r
            for r in self.read_metrics()
            if (r.get("event") == "epoch" and r.get("epoch", 0) <= epoch)
            or (r.get("event") != "epoch" and r.get("step", 0) <= step)
        ]
        atomic.write_bytes(self.file(METRICS), "".join(json.dumps(r) + "\n" for r in kept).encode())

    # --- summary and liveness ---
    def write_summary(self, summary: dict[str, Any]) -> None:
        atomic.write_json(self.file(SUMMARY), summary)

    def read_summary(self) -> dict[str, Any] | None:
        try:
            data = json.loads(atomic.read_text(self.at(SUMMARY)))
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            self._warnings.append("summary.json is damaged")
            return None
        return data if isinstance(data, dict) else None

    def mark_running(self) -> None:
        atomic.write_json(self.file(RUNNING), {"pid": os.getpid(), "host": socket.gethostname(), "since": time.time()})

    def clear_running(self) -> None:
        try:
            self.file(RUNNING).unlink()
        except FileNotFoundError:
            pass

    def read_running(self) -> dict[str, Any] | None:
        """running.json (pid, host, since) while a process trains the run; None when there is none readable."""
        try:
            info = json.loads(atomic.read_text(self.at(RUNNING)))
        except (OSError, ValueError):
            return None
        return info if isinstance(info, dict) else None

    def is_live(self, info: dict[str, Any] | None = None) -> bool:
        """True while a process on this host still trains the run (INFO: its running.json, if read)."""
        info = (self.read_running() if info is None else info) or {}
        try:
            pid, host = int(info["pid"]), info.get("host")
        except (ValueError, KeyError, TypeError):
            return False
        if host != socket.gethostname():
            return True  # cannot check another machine: trust the marker
        return pid_alive(pid)

    def status(self, summary: dict[str, Any] | Literal[False] | None = False) -> str:
        """completed | stopped | failed (from summary.json), running, interrupted, or damaged.
        SUMMARY: summary.json as already read (``read_summary``), to avoid reading it twice."""
        recorded = self.recorded_status(summary)
        return recorded if recorded == "damaged" or not self.is_live() else "running"

    def recorded_status(self, summary: dict[str, Any] | Literal[False] | None = False,
                        has_config: bool | None = None) -> str:
        """The status the files record, whether or not a process trains the run now (``status``
        adds that): completed | stopped | failed (summary.json), interrupted, or damaged.
        HAS_CONFIG: whether config.json exists, where the caller already knows."""
        if not (self.file(CONFIG).exists() if has_config is None else has_config):
            return "damaged"
        if summary is False:
            summary = self.read_summary()
        status = summary.get("status") if summary else None
        if status in ("completed", "stopped", "failed"):
            return str(status)
        return "interrupted"

    @property
    def warnings(self) -> list[str]:
        return list(self._warnings)

    def start_over(self) -> None:
        """Make a run that never reached its first checkpoint ready to train again from epoch 0 in
        the same folder: what a killed first epoch left (temp files, metrics, images, summary) goes;
        config.json stays. ``glo run --resume``, the console's R and sweeps all restart such runs so."""
        self.clean_temp_files()
        self.truncate_metrics(0, 0)
        for name in (SUMMARY, IMAGES_NPZ, IMAGES_PNG):
            try:
                self.file(name).unlink()
            except FileNotFoundError:
                pass

    def is_empty(self) -> bool:
        """True for a folder holding nothing but temp files: a run killed between creating its folder
        and saving its config.json."""
        return not any(not atomic.is_temp_name(p.name) for p in self.path.iterdir())

    def clean_temp_files(self) -> None:
        """Remove temp files that a killed writer left (the files they were for are intact)."""
        for p in self.path.iterdir():
            if atomic.is_temp_name(p.name) and p.is_file() and not p.is_symlink():
                p.unlink()

    # --- checkpoint and images (torch / numpy bytes handled by the caller) ---
    def write_file(self, name: str, data: bytes) -> None:
        atomic.write_bytes(self.file(name), data)

    def has_checkpoint(self) -> bool:
        return self.file(CHECKPOINT).exists()

    def read_images(self) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """(originals, reconstructions, labels) as uint8 arrays, or None if the run has none yet (or
        a damaged images.npz: a warning then). Headers are checked before anything is allocated."""
        from glo.host.arrays import DamagedArray, Spec, read_npz

        pictures = Spec(("uint8",), (3, 4))  # K x H x W, or K x H x W x 3
        specs = {"originals": pictures, "reconstructions": pictures, "labels": Spec(("int64", "int32"), (1,))}
        try:
            a = read_npz(self.file(IMAGES_NPZ), specs, max_bytes=1 << 28)
            originals, recons, labels = a["originals"], a["reconstructions"], a["labels"]
            if (recons.shape != originals.shape or labels.shape != originals.shape[:1]
                    or originals.shape[3:] not in ((), (3,))):
                raise DamagedArray(f"shapes {originals.shape}, {recons.shape}, {labels.shape}")
        except FileNotFoundError:
            return None
        except (OSError, DamagedArray) as exc:
            self._warnings.append(f"{IMAGES_NPZ} is damaged ({exc.strerror if isinstance(exc, OSError) else exc})")
            return None
        return originals, recons, labels


class RunStore:
    """The runs folder."""

    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        self.root = Path(root) if root is not None else default_runs_dir()

    def check(self) -> RunStore:
        """Refuse a runs folder that is a file (it may not exist yet: the first run creates it)."""
        if self.root.exists() and not self.root.is_dir():
            raise RunStoreError(f"runs folder {self.root} is a file, not a folder")
        return self

    def create(self, cfg: RunConfig) -> Run:
        """A new run folder with a unique, readable id (safe against concurrent creation), holding
        its config.json from the start: a run killed at any moment after this keeps its settings."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RunStoreError(f"cannot create runs folder {self.root}: {exc.strerror or exc}") from exc
        if not os.access(self.root, os.W_OK | os.X_OK):
            raise RunStoreError(f"runs folder {self.root} is not writable")
        base = f"{time.strftime('%Y%m%d-%H%M%S')}-{_label(cfg)}"
        for n in range(1, 1000):
            run_id = base if n == 1 else f"{base}-{n}"
            try:
                (self.root / run_id).mkdir()
            except FileExistsError:
                continue
            except OSError as exc:
                raise RunStoreError(f"cannot create a run in {self.root}: {exc.strerror or exc}") from exc
            run = Run(self.root, check_run_id(run_id))
            try:
                run.write_config(cfg)
            except OSError as exc:
                shutil.rmtree(run.path, ignore_errors=True)
                raise RunStoreError(f"cannot create a run in {self.root}: {exc.strerror or exc}") from exc
            return run
        raise RunStoreError(f"too many runs named {base} in {self.root}")

    def ids(self) -> list[str]:
        """The names of the folders that may be runs (not symlinks, not reserved), sorted."""
        try:
            with os.scandir(self.root) as entries:  # the file type comes with each name: no stat per run
                return sorted(e.name for e in entries
                              if ID_RE.match(e.name) and e.name not in RESERVED and e.is_dir(follow_symlinks=False))
        except (FileNotFoundError, NotADirectoryError):
            return []

    def runs(self) -> list[Run]:
        """Every folder that looks like a run (has config.json or metrics.jsonl), oldest first."""
        out = []
        for run_id in self.ids():
            run = Run(self.root, run_id)
            if run.file(CONFIG).exists() or run.file(METRICS).exists():
                out.append(run)
        return out

    def get(self, run_id: str) -> Run:
        """The run with this id, the only run whose id starts with it or whose name it is;
        'latest' is the newest."""
        if run_id == "latest":
            runs = self.runs()
            if not runs:
                raise RunStoreError(f"no runs in {self.root}")
            return max(runs, key=lambda r: r.file(CONFIG).stat().st_mtime if r.file(CONFIG).exists() else 0)
        check_run_id(run_id)
        ids = self.ids()
        if run_id in ids:
            return Run(self.root, run_id)
        matches = [i for i in ids if i.startswith(run_id)]
        if not matches:  # a run's name (the part after the timestamp), e.g. 'baseline'
            matches = [i for i in ids if i[len("YYYYmmdd-HHMMSS-"):] == run_id]
        if len(matches) == 1:
            return Run(self.root, matches[0])
        if not matches:
            raise RunStoreError(f"no run {run_id!r} in {self.root}")
        shown = ", ".join(matches[:4]) + (f" and {len(matches) - 4} more" if len(matches) > 4 else "")
        raise RunStoreError(f"{run_id!r} matches {len(matches)} runs in {self.root} ({shown}): give more of the id")

    def get_many(self, run_ids: list[str]) -> list[Run]:
        """The runs named by RUN_IDS (as ``get``), all resolved before any is used, each once, in order."""
        return list({run.id: run for run in (self.get(r) for r in run_ids)}.values())

    def delete(self, run_id: str) -> Run:
        run = self.get(run_id)
        if run.status() == "running":
            raise RunStoreError(f"run {run.id} is still running; stop it first")
        # moved aside first (a hidden name no listing shows), then removed: a runs folder that cannot
        # be written refuses the move, and the run is kept whole instead of emptied
        aside = self.root / f".deleting-{run.id}-{os.urandom(4).hex()}"
        try:
            os.rename(run.path, aside)
        except OSError as exc:
            raise RunStoreError(f"cannot delete run {run.id}: {exc.strerror or exc} in {self.root} "
                                f"(nothing deleted)") from exc
        failed = atomic.remove_tree(aside)
        if failed:
            raise RunStoreError(f"run {run.id} is gone from the runs folder, but {aside} could not all be "
                                f"removed ({failed})")
        return run
