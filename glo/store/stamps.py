"""A run folder's stamp: what says, without reading its files, whether it changed since a look.

The stamp holds the folder's own mtime (it changes when a file appears, goes or is replaced) and
the inode, size and mtime of each file a listing reads (``WATCHED``). Looking again where the
folder's mtime is unchanged stats only the files that change in place (``IN_PLACE``). A run
modified within ``RACY_NS`` of a look may hide a change made in the same clock tick, so it is
looked at again (``is_racy``). The runs folder's index (``glo.store.index``) keeps a stamp per run.
"""

from __future__ import annotations

import os
import stat

from glo.store.notes import NOTES
from glo.store.provenance import ENVIRONMENT
from glo.store.runs import CONFIG, METRICS, RUNNING, SUMMARY

WATCHED = (CONFIG, METRICS, SUMMARY, RUNNING, ENVIRONMENT, NOTES)  # what RunView(with_analysis=False) reads
# glo changes config.json, running.json and environment.jsonl only by renaming a file into the
# folder, or right before it does so (environment.jsonl is appended as a run starts, then running.json
# is made): that changes the folder's mtime. Only these may change with the folder's mtime as it was
# (metrics.jsonl grows each epoch; summary.json is watched too, for hands that rewrite it in place).
IN_PLACE = (METRICS, SUMMARY)
RACY_NS = 2_000_000_000  # a stamp this recent may miss a change made in the same clock tick


def stamp_of(path: str, before: str | None = None) -> str | None:
    """The stamp of the run folder at PATH now: 'MTIME|NAME:INODE:SIZE:MTIME|...' for the folder
    and each watched file in it (None: not a folder). With BEFORE, its stamp at the last look, and
    the folder's mtime unchanged, only the files it had then that may change in place are looked
    at again (``IN_PLACE``); the others keep their part of BEFORE."""
    try:
        st = os.lstat(path)
    except OSError:
        return None
    if not stat.S_ISDIR(st.st_mode):
        return None
    head = str(st.st_mtime_ns)
    if before is not None and before.split("|", 1)[0] == head:
        parts = [head]
        for part in before.split("|")[1:]:
            name = part.split(":", 1)[0]
            if name not in IN_PLACE:
                parts.append(part)
            elif (p := _part(path, name)) is not None:
                parts.append(p)
        return "|".join(parts)
    parts = [head]
    for name in WATCHED:
        if (p := _part(path, name)) is not None:
            parts.append(p)
    return "|".join(parts)


def _part(path: str, name: str) -> str | None:
    """File NAME's part of the stamp of the run folder at PATH: 'NAME:INODE:SIZE:MTIME' (None: not there)."""
    try:
        f = os.lstat(f"{path}/{name}")
    except OSError:
        return None
    return f"{name}:{f.st_ino}:{f.st_size}:{f.st_mtime_ns}"


def is_run(s: str) -> bool:
    """As ``RunStore.runs``: a folder with config.json or metrics.jsonl."""
    return f"|{CONFIG}:" in s or f"|{METRICS}:" in s


def has_running(s: str) -> bool:
    return f"|{RUNNING}:" in s


def is_racy(s: str, now_ns: int) -> bool:
    head, *files = s.split("|")
    return max([int(head), *(int(f.rsplit(":", 1)[1]) for f in files)]) > now_ns - RACY_NS


def file_mtime(stamp: str, name: str) -> int | None:
    """The mtime of file NAME in a stamp (None: not there)."""
    at = stamp.find(f"|{name}:")
    return None if at < 0 else int(stamp[at + 1:].split("|", 1)[0].rsplit(":", 1)[1])
