"""Fault-injection points for the crash tests (inert unless GLO_FAULT is set).

``GLO_FAULT=NAME:N`` pauses the process the N-th time it reaches point NAME: it creates the file
named by ``GLO_FAULT_MARKER`` (so a test knows it got there) and sleeps, waiting to be killed.
``GLO_FAULT=NAME:N:enospc`` raises "No space left on device" there instead.

Points: ``step`` (after an optimiser step), ``metrics`` (half of a metrics line written),
``environment`` (half of an environment.jsonl line written),
``write-FILE`` (the temp file of an atomic write of FILE written, before it replaces FILE).
"""

from __future__ import annotations

import errno
import os
import time

_SPEC = os.environ.get("GLO_FAULT", "")
enabled = bool(_SPEC)
_counts: dict[str, int] = {}


def point(name: str) -> None:
    if not _SPEC:
        return
    parts = _SPEC.split(":")
    if parts[0] != name:
        return
    _counts[name] = _counts.get(name, 0) + 1
    if _counts[name] != int(parts[1] if len(parts) > 1 else 1):
        return
    if len(parts) > 2 and parts[2] == "enospc":
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    marker = os.environ.get("GLO_FAULT_MARKER")
    if marker:
        with open(marker, "w") as fh:
            fh.write(name)
    while True:  # wait for SIGKILL
        time.sleep(1)
