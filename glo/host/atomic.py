"""Atomic file writes: a temp file in the same folder, flushed, fsynced, then os.replace."""

from __future__ import annotations

import errno
import json
import os
import shutil
import stat
import sys
from pathlib import Path
from typing import Any

from glo.host import faults


def not_a_file(path: str | os.PathLike[str]) -> str | None:
    """What PATH is when it is there but not a plain file ("a symbolic link", "a device", ...), else
    None (a plain file, or nothing there yet)."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return None
    if stat.S_ISREG(mode):
        return None
    kinds = [(stat.S_ISLNK, "a symbolic link"), (stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"),
             (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a device"), (stat.S_ISBLK, "a device")]
    return next((kind for test, kind in kinds if test(mode)), "not a plain file")


def write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never half.
    Only a plain file is replaced: a link, folder, device, FIFO or socket there raises
    FileExistsError (checked before writing and again just before the rename)."""
    path = Path(path)
    _check_plain(path)
    tmp = path.parent / f".{path.name}.{os.urandom(4).hex()}.tmp"  # see is_temp_name
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # umask applies, like open()
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        faults.point(f"write-{path.name}")
        _check_plain(path)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _check_plain(path: Path) -> None:
    kind = not_a_file(path)
    if kind is not None:
        raise FileExistsError(errno.EEXIST, f"it is {kind}, not a plain file (nothing written)", str(path))


def is_temp_name(name: str) -> bool:
    """True for the temp files write_bytes makes (left behind only by a killed writer)."""
    return name.startswith(".") and name.endswith(".tmp")


def open_plain_fd(path: str | os.PathLike[str]) -> int:
    """A descriptor of PATH, opened for reading, if it is a plain file: a symbolic link is never
    followed (OSError ELOOP; a run folder may come from someone else) and a FIFO, device or folder
    never read (OSError EINVAL; it would block a reader for ever, or never end)."""
    # O_NONBLOCK: opening a FIFO does not wait for a writer; a plain file's reads ignore it
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(errno.EINVAL, "not a plain file", str(path))
    return fd


def read_text(path: str | os.PathLike[str]) -> str:
    """Read a plain file (``open_plain_fd``: OSError for a symbolic link, FIFO or device)."""
    fd = open_plain_fd(path)
    try:  # os.read, not a file object: listings read tens of thousands of small files
        chunks = [os.read(fd, 1 << 16)]
        while chunks[-1]:
            chunks.append(os.read(fd, 1 << 20))
    finally:
        os.close(fd)
    return b"".join(chunks).decode("utf-8", errors="replace")


def write_json(path: str | os.PathLike[str], obj: Any) -> None:
    write_bytes(path, (json.dumps(obj, indent=2, sort_keys=False) + "\n").encode())


def append_line(path: str | os.PathLike[str], line: str, fault: str = "metrics") -> None:
    """Append one line and fsync, so a record is either whole on disk or (at worst) a torn last line.
    FAULT names the crash tests' point halfway through the line (``glo.host.faults``)."""
    data = (line.rstrip("\n") + "\n").encode()
    # O_NOFOLLOW: a metrics file that is a symlink (a run folder from elsewhere) is refused
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o666)
    with os.fdopen(fd, "wb") as fh:
        if faults.enabled:
            fh.write(data[: len(data) // 2])
            fh.flush()
            faults.point(fault)
            data = data[len(data) // 2 :]
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def parse_jsonl(text: str, name: str) -> tuple[list[dict[str, Any]], list[str]]:
    """The records of a JSON-lines file as glo appends them (``append_line``), and one warning when
    lines are not whole records (a killed writer tears only the last line; NAME names the file):
    "NAME line N is damaged", or for several "NAME has K damaged lines (the first: line N)", so
    50 MB of junk is one line, not half a million. Where every line is a whole object, all are
    parsed at once: several times faster."""
    lines = text.splitlines()
    whole = [line for line in lines if line.strip()]
    if all(line.lstrip().startswith("{") and line.rstrip().endswith("}") for line in whole):
        try:
            records = json.loads("[" + ",".join(whole) + "]")
        except ValueError:
            records = None
        if records is not None and len(records) == len(whole) and all(isinstance(r, dict) for r in records):
            return records, []
    records, damaged = [], []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        if not line.lstrip().startswith("{"):  # no record: no need to parse it
            damaged.append(n)
            continue
        try:
            rec = json.loads(line)
        except ValueError:
            damaged.append(n)
            continue
        if isinstance(rec, dict):
            records.append(rec)
    if not damaged:
        return records, []
    if len(damaged) == 1:
        return records, [f"{name} line {damaged[0]} is damaged"]
    return records, [f"{name} has {len(damaged):,} damaged lines (the first: line {damaged[0]})"]


def remove_tree(path: str | os.PathLike[str]) -> str | None:
    """Remove the folder PATH and everything in it, going on past what cannot be removed; the first
    such thing ('PATH: why'), or None when all is gone."""
    failed: list[str] = []

    def note(fn: object, where: str, exc: BaseException | tuple[Any, ...]) -> None:
        exc = exc[1] if isinstance(exc, tuple) else exc  # onerror's exc_info (Python 3.11), onexc's exception
        failed.append(f"{where}: {getattr(exc, 'strerror', None) or exc}")

    if sys.version_info >= (3, 12):
        shutil.rmtree(path, onexc=note)
    else:
        shutil.rmtree(path, onerror=note)
    return failed[0] if failed else None
