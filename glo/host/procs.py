"""Processes of this machine, from /proc: whether one is alive (the one check behind a run's
``running`` status, a sweep's driver and a Ray point's private copy; a zombie, killed but not yet
reaped by its parent, is not alive) and when it started (to tell a reused pid apart)."""

from __future__ import annotations

import os
from pathlib import Path


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (state first), or None where unreadable."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def pid_alive(pid: int) -> bool:
    """True while process PID exists here and is not a zombie (another user's process counts as alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    fields = _stat(pid)
    return fields is None or fields[0] not in ("Z", "X")


def start_ticks(pid: int) -> str:
    """When process PID started (clock ticks since boot), or '' where that is unknown."""
    fields = _stat(pid)
    return fields[19] if fields is not None and len(fields) > 19 else ""
