"""Every epoch of chosen runs as one tidy table: a row per epoch record, for pandas, R or a spreadsheet.

Columns: ``run`` (its id), ``label``, ``sweep``, ``status``, ``tags`` (space-separated), then every
setting of ``RunConfig`` in its order, then ``epoch`` and every number the epoch records hold
(``train_loss``, ``recon_loss``, ``recon_l1``, ``recon_l2``, ``psnr``, ``elapsed_s``,
``images_per_s``, ...: the union over the runs, in the order first met). A record's live setting that
shares a setting's name (``sigma``, ``decay``) is ``live_sigma``, ``live_decay``: the value in
effect at that epoch, where the setting column holds what the run started with. ``--format jsonl``
writes the same rows as one JSON object per line. Written atomically.
"""

from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import fields
from typing import Any

from glo.config import RunConfig
from glo.errors import GloError
from glo.host import atomic
from glo.store.runview import RunView

HEAD = ("run", "label", "sweep", "status", "tags")
SETTINGS = tuple(f.name for f in fields(RunConfig) if f.name not in HEAD)  # the sweep id is in HEAD
FORMATS = ("csv", "jsonl")


def _metric_name(key: str) -> str:
    return f"live_{key}" if key in SETTINGS or key in HEAD else key


def columns(views: list[RunView]) -> list[str]:
    """The table's columns for VIEWS (their epoch records' keys, in the order first met)."""
    seen: dict[str, None] = {}
    for v in views:
        for record in v.epochs:
            for key in record:
                if key not in ("event", "epoch"):
                    seen.setdefault(_metric_name(key), None)
    return [*HEAD, *SETTINGS, "epoch", *seen]


def tidy_rows(views: list[RunView]) -> tuple[list[str], list[dict[str, Any]]]:
    """(columns, a dict per epoch record of every run)."""
    cols = columns(views)
    out = []
    for v in views:
        settings = v.settings
        head = {"run": v.run.id, "label": v.label, "sweep": v.sweep_id, "status": v.status,
                "tags": " ".join(v.tags), **{k: settings.get(k) for k in SETTINGS}}
        for record in v.epochs:
            row = dict(head, epoch=record.get("epoch"))
            row.update((_metric_name(k), x) for k, x in record.items() if k not in ("event", "epoch"))
            out.append(row)
    return cols, out


def to_bytes(views: list[RunView], fmt: str = "csv") -> bytes:
    cols, rows = tidy_rows(views)
    if fmt == "jsonl":
        return "".join(json.dumps({c: r.get(c) for c in cols}) + "\n" for r in rows).encode()
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(cols)
    for r in rows:
        writer.writerow(["" if r.get(c) is None else r.get(c) for c in cols])
    return buf.getvalue().encode()


def write(views: list[RunView], path: str | os.PathLike, fmt: str = "csv") -> int:
    """Write the table to PATH atomically; the number of rows (epoch records) written."""
    if fmt not in FORMATS:
        raise GloError(f"--format must be one of {', '.join(FORMATS)}; got {fmt!r}")
    data = to_bytes(views, fmt)
    try:
        atomic.write_bytes(path, data)
    except OSError as exc:
        raise GloError(f"cannot write {path}: {exc.strerror or exc}") from exc
    return sum(len(v.epochs) for v in views)
