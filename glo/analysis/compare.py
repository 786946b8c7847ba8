"""What a comparison of runs holds, independent of where it is shown (CLI, console, RESULTS.md).

Each run read once (``glo.store.runview.RunView``: its final numbers, noise-free recon L1, L2, L1+L2,
PSNR, and from ``analysis.json`` the class-from-content probe and the held-out loss) under a label
unique among the compared runs, the loss curves, and the fixed real images with each run's
reconstructions. Reading never imports torch; exports are written atomically.
"""

from __future__ import annotations

import csv
import io
import os
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from glo.errors import GloError
from glo.host import atomic
from glo.store.runs import EXPORTS_DIR, Run
from glo.store.runview import NUMBER_KEYS, SHOWN_SETTINGS, RunView, run_label

Series = list[tuple[str, list[int], list[float]]]  # (label, epochs, values) per curve
ImageRows = list[tuple[str, np.ndarray]]  # (title, K x 28 x 28 uint8) per row


def labels(runs: Sequence[Run]) -> dict[str, str]:
    """Legend names for RUNS, unique among them (run id -> label).

    A run's --name (``run_label``) where no other run shares it; runs that do (the same sweep point
    in two sweeps) get the time from their id (``sigma2@195707``), or the whole id if that is not
    enough either.
    """
    def dupes(names: dict[str, str]) -> set[str]:
        seen = list(names.values())
        return {k for k, v in names.items() if seen.count(v) > 1}

    out = {run.id: run_label(run) for run in runs}
    for key in dupes(out):
        out[key] = f"{out[key]}@{key[9:15]}" if out[key] != key else key
    for key in dupes(out):
        out[key] = key
    return out


def rows(items: Sequence[Run | RunView]) -> list[RunView]:
    """Each run read once (``RunView``), labelled uniquely among them (``labels``); runs already read
    are kept as they are."""
    names = labels([item.run if isinstance(item, RunView) else item for item in items])
    return [item if isinstance(item, RunView) else RunView(item, names[item.id]) for item in items]


# the CSV's setting columns: the first nine where they always were, the rest of SHOWN_SETTINGS after the
# time (a script reading columns by position keeps working)
CSV_SETTINGS = ("dataset", "n_images", "sigma", "decay", "loss", "combine", "epochs", "batch_size", "seed")
CSV_MORE = tuple(k for k in SHOWN_SETTINGS if k not in CSV_SETTINGS)


def to_csv(table: list[RunView]) -> bytes:
    """One line per run: id, label, status, settings, epochs, final numbers, time, more settings."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["run", "label", "status", *CSV_SETTINGS, "epochs_done", *NUMBER_KEYS, "elapsed_s", *CSV_MORE])
    for r in table:
        settings, numbers = r.settings, r.numbers
        writer.writerow([r.run.id, r.label, r.status, *[settings.get(k, "") for k in CSV_SETTINGS], r.epochs_done,
                         *["" if numbers[k] is None else f"{numbers[k]:.6g}" for k in NUMBER_KEYS],
                         "" if r.elapsed_s is None else r.elapsed_s, *[settings.get(k, "") for k in CSV_MORE]])
    return buf.getvalue().encode()


def write_csv(table: list[RunView], path: str | os.PathLike[str]) -> None:
    try:
        atomic.write_bytes(path, to_csv(table))
    except OSError as exc:
        raise GloError(f"cannot write {path}: {exc.strerror or exc}") from exc


def check_export_path(path: str | os.PathLike[str], example: str = "compare.png",
                      runs_root: str | os.PathLike[str] | None = None) -> None:
    """Refuse an export path, before any work is done, whose folder does not exist, that is a folder,
    a symbolic link, a device, a FIFO or a socket (only a plain file is replaced), that lies inside
    the runs folder RUNS_ROOT (default: the default runs folder) other than its exports/ (a run's
    own files), or (for a PNG, as EXAMPLE names) that does not end in .png."""
    from glo.store.runs import default_runs_dir

    target = Path(path).expanduser()
    folder = target.parent
    if not folder.is_dir():
        raise GloError(f"cannot write {path}: folder {folder} does not exist")
    if target.is_dir():
        raise GloError(f"cannot write {path}: it is a folder; give a file name, e.g. {Path(path) / example}")
    kind = atomic.not_a_file(target)
    if kind is not None:
        raise GloError(f"cannot write {path}: it is {kind}; give a new name or a plain file")
    real = Path(os.path.realpath(folder)) / target.name
    runs = Path(os.path.realpath(runs_root if runs_root is not None else default_runs_dir()))
    if runs in real.parents and runs / EXPORTS_DIR not in real.parents:
        raise GloError(f"cannot write {path}: it is inside the runs folder {runs} (the runs' own files); "
                       f"write it elsewhere or under {runs / EXPORTS_DIR}")
    if example.endswith(".png") and Path(path).suffix.lower() != ".png":
        raise GloError(f"cannot write {path}: the images are written as PNG, so give a name ending in .png")


def image_grid(images: list[tuple[str, np.ndarray]]) -> np.ndarray:
    """Image rows (``image_rows``) as one R x K x H x W (x 3) array, short rows padded with black;
    rows of other sizes or colours are brought to one form (``glo.imaging.shown.conform``)."""
    from glo.imaging.shown import conform  # torch: only for a grid

    k = max(len(x) for _, x in images)
    same = conform([x for _, x in images])
    grid = np.zeros((len(images), k, *same[0].shape[1:]), dtype=np.uint8)
    for i, x in enumerate(same):
        grid[i, : len(x)] = x
    return grid


def export(runs: Sequence[Run | RunView], csv_path: str | os.PathLike[str] | None = None,
           png_path: str | os.PathLike[str] | None = None, metric: str = "recon_loss") -> list[Path]:
    """Write the final numbers as CSV and the image rows as PNG (each only when a path is given;
    the PNG only when some run has images), and with the PNG, METRIC against the setting the runs
    differ in (``glo.analysis.versus``) beside it. Returns the paths written."""
    table = rows(runs)
    written: list[Path] = []
    if csv_path is not None:
        write_csv(table, csv_path)
        written.append(Path(csv_path))
    images = image_rows(table) if png_path is not None else []
    if images and png_path is not None:
        from glo.imaging.png import save_grid_png  # torch: only for the PNG

        save_grid_png(image_grid(images), png_path, labels=[label for label, _ in images])
        written.append(Path(png_path))
    if png_path is not None:
        from glo.analysis.versus import export_versus

        written += export_versus(table, metric, png_path)
    return written


def export_paths(root: Path) -> tuple[Path, Path]:
    """New, unused CSV and PNG paths under ROOT/exports/ (created), named by the time."""
    folder = Path(root) / EXPORTS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"compare-{time.strftime('%Y%m%d-%H%M%S')}"
    for n in range(2, 1000):
        if not (folder / f"{stem}.csv").exists() and not (folder / f"{stem}.png").exists():
            break
        stem = f"compare-{time.strftime('%Y%m%d-%H%M%S')}-{n}"
    return folder / f"{stem}.csv", folder / f"{stem}.png"


def image_rows(runs: Sequence[Run | RunView]) -> ImageRows:
    """('originals', K x 28 x 28) then (label, reconstructions) per run that has images.

    Every run shows the same fixed real images (the first training image of each class, then the
    second, ...), so one row of originals serves all runs trained on the same data; a run whose
    originals differ gets its own originals row.
    """
    out: ImageRows = []
    shown: np.ndarray | None = None
    for view in rows(runs):
        images = view.run.read_images()
        if images is None:
            continue
        originals, recons, _ = images
        if shown is None or originals.shape != shown.shape or not np.array_equal(originals, shown):
            out.append(("originals" if shown is None else f"originals ({view.label})", originals))
            shown = originals
        out.append((view.label, recons))
    return out


def curves(runs: Sequence[Run | RunView], metric: str) -> Series:
    """(label, epochs, values) of ``metric`` per run, for overlaid loss curves."""
    out = []
    for view in rows(runs):
        recs = [r for r in view.epochs if isinstance(r.get(metric), (int, float))]
        out.append((view.label, [r["epoch"] for r in recs], [float(r[metric]) for r in recs]))
    return out
