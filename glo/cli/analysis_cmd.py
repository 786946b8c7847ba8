"""``glo analyze``, ``glo transfer`` and ``glo sample``: what a trained run learnt.

Thin commands over glo.analysis and glo.latent. Registered on the ``glo`` app by
``register(app)``; torch and numpy load only inside the commands, so ``glo --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from glo.cli.options import RUNS_DIR_HELP, make_console, open_store
from glo.errors import ConfigError

if TYPE_CHECKING:
    import numpy as np


RUN_HELP = "Run id (a unique prefix, its name or 'latest' works)."
ASCII_HELP = "ASCII images (for terminals without colour)."
N_CLASSES = 10  # glo models always have ten class codes (see glo.train.model_args)


def _pct(value: Any) -> str:
    return f"{100 * value:.1f}%" if isinstance(value, (int, float)) else "-"


def _num(value: Any, digits: int = 4) -> str:
    return f"{value:.{digits}f}" if isinstance(value, (int, float)) else "-"


def analysis_table(results: list[dict[str, Any]], names: dict[str, str] | None = None) -> Table:
    """One row per analysed run, narrow enough for 80 columns: class left in the content codes,
    and the fits (recon_loss = mean L1 + mean L2, noise-free) of trained, refitted and held-out
    images. NAMES (run id -> short label, ``glo.compare.labels``) shortens the run column."""
    names = names or {}
    caption = ("probes: class predicted from content codes, 5-fold CV, chance 10% (lower = less class in the "
               "content). L1+L2 of: train = trained codes; refit / held = codes fitted afresh to the frozen "
               "generator for training / never-seen images; gap = held - refit; PSNR of held, dB")
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 1), collapse_padding=True, show_edge=False,
                  caption=caption, caption_justify="left")
    table.add_column("run", no_wrap=True)
    for heading in ("ep", "linear\nprobe", "kNN\nprobe", "train", "refit", "held", "gap", "held\nPSNR", "time"):
        table.add_column(heading, justify="right", no_wrap=True)
    for res in results:
        held, refit = res.get("heldout") or {}, res.get("train_refit") or {}
        gap = held.get("recon_loss", 0) - refit.get("recon_loss", 0) if held and refit else None
        table.add_row(
            names.get(str(res.get("run")), str(res.get("run", "?"))), str((res.get("checkpoint") or {}).get("epoch", "-")),
            _pct(res.get("probe_accuracy")), _pct(res.get("knn_accuracy")),
            _num((res.get("train") or {}).get("recon_loss")), _num(refit.get("recon_loss")),
            _num(held.get("recon_loss")), "-" if gap is None else f"{gap:+.4f}", _num(held.get("psnr"), 2),
            "cached" if res.get("cached") else f"{res.get('elapsed_s', 0):.1f}s",
        )
    return table


def analyze(
    run_ids: list[str] = typer.Argument(..., metavar="RUN...", help="Runs to analyse."),
    runs_dir: Path | None = typer.Option(None, help=RUNS_DIR_HELP),
    refresh: bool = typer.Option(False, "--refresh", help="Recompute even if analysis.json is up to date."),
    heldout: int = typer.Option(500, help="Held-out images to fit (class-balanced)."),
) -> None:
    """Probe accuracy of class from content codes, and held-out vs training reconstruction.

    Cached as analysis.json in each run folder until its checkpoint changes.
    """
    from glo.analysis import analyze as run_analysis
    from glo.errors import RunStoreError

    if heldout < 1:
        raise ConfigError(f"--heldout must be at least 1, got {heldout}")
    store = open_store(runs_dir)
    runs = [store.get(r) for r in run_ids]  # resolve every id before any work
    for run in runs:
        if not run.has_checkpoint():
            raise RunStoreError(f"run {run.id} has no checkpoint yet (one is written after each epoch and on stop)")
    console = make_console()
    results = []
    for run in runs:
        with console.status(f"analysing {run.id} ..."):
            results.append(run_analysis(run, heldout_n=heldout, refresh=refresh))
        if results[-1].get("warning"):
            console.print(Text(f"{run.id}: {results[-1]['warning']}", style="yellow"))
    from glo.compare import labels

    names = labels(runs)
    console.print(analysis_table(results, names))
    shortened = [f"{names[r.id]} = {r.id}" for r in runs if names[r.id] != r.id]
    if shortened:
        console.print(Text("runs: " + ", ".join(shortened), style="dim"), highlight=False)


def _shrink(images: np.ndarray) -> np.ndarray:
    """Halve 28x28 images by 2x2 means, so that rows of ten fit ordinary terminal widths."""
    h, w = images.shape[-2:]
    blocks = images.reshape(*images.shape[:-2], h // 2, 2, w // 2, 2).astype("float32")
    return blocks.mean(axis=(-3, -1)).round().astype("uint8")


def _print_rows(console: Console, rows: list[tuple[str, np.ndarray]], ascii: bool,
                leads: np.ndarray | None = None) -> None:
    """Titled rows of images, each optionally led by one more image (a transfer's source).

    Full size if a whole row fits the terminal, else half size; a row that still does not fit is
    split into balanced lines (ten become 5 + 5, not 8 + 2), with its lead image on a line of
    its own so the lines stay aligned.
    """
    import numpy as np

    from glo.cli.render import image_text
    from glo.textimage import per_line, tile

    width = console.width
    count = max(len(images) for _, images in rows) + (leads is not None)
    shrink = count * 29 - 1 > width
    for i, (title, images) in enumerate(rows):
        lead = None if leads is None else leads[i][None]
        if shrink:
            images, lead = _shrink(images), None if lead is None else _shrink(lead)
        k = per_line(count, width, cell=images.shape[-1])
        if k >= count:
            lines = [images if lead is None else np.concatenate([lead, images])]
        else:
            n_lines = -(-len(images) // k)
            size = -(-len(images) // n_lines)
            lines = ([] if lead is None else [lead]) + [images[j : j + size] for j in range(0, len(images), size)]
        console.print(Text(title, style="bold"))
        for line in lines:
            console.print(image_text(tile(line), ascii=ascii))


def transfer(
    run_id: str = typer.Argument(..., metavar="RUN", help=RUN_HELP),
    rows: int = typer.Option(6, help="Source images (one per digit first)."),
    png: Path | None = typer.Option(None, help="Also write the grid (sources in the first column) as a PNG."),
    ascii: bool = typer.Option(False, "--ascii", help=ASCII_HELP),
    runs_dir: Path | None = typer.Option(None, help=RUNS_DIR_HELP),
) -> None:
    """Style transfer: each source image's content code drawn as every digit 0-9."""
    import numpy as np

    from glo.analysis import load_trained, save_grid_png
    from glo.latent import transfer_grid
    from glo.train import display_indices

    if not 1 <= rows <= 100:
        raise ConfigError(f"--rows must be 1-100, got {rows}")
    if png is not None:
        from glo.compare import check_export_path

        check_export_path(png, "transfer.png")
    run = open_store(runs_dir).get(run_id)
    trained = load_trained(run)
    split = trained.split
    idx = display_indices(split.labels, rows)
    grid = transfer_grid(trained.model, trained.model.content_codes.weight[idx].detach())
    full = np.concatenate([split.images[idx][:, None], grid], axis=1)  # R x (1 + classes)
    if png is not None:
        save_grid_png(full, png)
    console = make_console()
    console.print(f"{run.id}: training images (first) and their content codes drawn with the class codes 0..9")
    _print_rows(console, [(f"a {int(split.labels[i])}, drawn as 0..9", row) for i, row in zip(idx, grid)],
                ascii or console.color_system is None, leads=split.images[idx])
    if png is not None:
        console.print(f"wrote {png}")


def sample(
    run_id: str = typer.Argument(..., metavar="RUN", help=RUN_HELP),
    digit: int | None = typer.Option(None, help="Only this digit (default: all 10)."),
    n: int = typer.Option(10, help="Samples per digit."),
    seed: int = typer.Option(0, help="Random seed (the same seed gives the same samples)."),
    png: Path | None = typer.Option(None, help="Also write the samples (a row per digit) as a PNG."),
    ascii: bool = typer.Option(False, "--ascii", help=ASCII_HELP),
    runs_dir: Path | None = typer.Option(None, help=RUNS_DIR_HELP),
) -> None:
    """Novel digits: content codes drawn from a Gaussian fitted to the learnt ones."""
    from glo.analysis import load_trained, save_grid_png
    from glo.latent import samples

    if digit is not None and not 0 <= digit < N_CLASSES:
        raise ConfigError(f"--digit must be 0-{N_CLASSES - 1}, got {digit}")
    if not 1 <= n <= 100:
        raise ConfigError(f"--n must be 1-100, got {n}")
    if seed < 0:
        raise ConfigError(f"--seed must be >= 0, got {seed}")
    if png is not None:
        from glo.compare import check_export_path

        check_export_path(png, "samples.png")
    digits = list(range(N_CLASSES)) if digit is None else [digit]
    trained = load_trained(open_store(runs_dir).get(run_id))
    images = samples(trained.model, [d for d in digits for _ in range(n)], seed).reshape(len(digits), n, 28, 28)
    if png is not None:
        save_grid_png(images, png)
    console = make_console()
    _print_rows(console, [(f"digit {d}", row) for d, row in zip(digits, images)], ascii or console.color_system is None)
    if png is not None:
        console.print(f"wrote {png}")


def register(app: typer.Typer) -> None:
    """Add the analysis commands to the ``glo`` app."""
    app.command("analyze")(analyze)
    app.command("transfer")(transfer)
    app.command("sample")(sample)
