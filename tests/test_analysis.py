"""Run analysis: class-from-content probes, codes fitted to new images, transfer grids, samples,
the analysis.json cache, PNG export, and the analyze / transfer / sample commands."""

from __future__ import annotations

import json
import math
import os
import struct
import subprocess
import sys

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from glo.analysis.analyze import (
    ANALYSIS,
    VERSION,
    analyze,
    fingerprint,
    load_trained,
    read_analysis,
)
from glo.analysis.latent import (
    fit_content,
    fit_heldout,
    heldout_subset,
    recon_scores,
    sample_codes,
    samples,
    transfer_grid,
)
from glo.analysis.probe import knn_accuracy, probe_accuracy, stratified_folds
from glo.cli.app import app, main
from glo.config import RunConfig
from glo.errors import GloError, RunStoreError
from glo.imaging.png import save_grid_png
from glo.imaging.shown import to_uint8
from glo.model import checkpoint
from glo.model.nets import GLO
from glo.store.runs import CHECKPOINT, Run, RunStore
from glo.train.loop import train

runner = CliRunner()
COMBINES = ("concat", "adain")


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """These tests run many tiny tensor ops: on a 2-core machine that something else also uses,
    two OpenMP threads spin-wait on each other (measured: 49 s instead of 14 s with one busy
    process beside them). One thread is as fast when the machine is idle."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Run]:
    """A tiny completed run per combine, on the bundled data (40 images, 8 epochs: about a second each)."""
    root = tmp_path_factory.mktemp("runs")
    out = {}
    for combine in COMBINES:
        cfg = RunConfig(n_images=40, epochs=8, batch_size=8, device="cpu", combine=combine, name=combine)
        run = RunStore(root).create(cfg)
        for _ in train(cfg, run):
            pass
        out[combine] = run
    return out


def labelled_codes(n_per_class: int, dim: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    labels = torch.arange(10).repeat(n_per_class)
    return torch.randn(len(labels), dim, generator=gen), labels


# --- probes ---

def test_probe_reads_class_from_codes_that_encode_it():
    codes, labels = labelled_codes(50, 25, seed=1)
    centres = torch.randn(10, 25, generator=torch.Generator().manual_seed(2)) * 1.5
    assert probe_accuracy(codes + centres[labels], labels) > 0.9
    assert knn_accuracy(codes + centres[labels], labels) > 0.9


def test_probe_on_random_codes_is_near_chance():
    codes, labels = labelled_codes(100, 25, seed=3)
    assert probe_accuracy(codes, labels) < 0.2
    assert knn_accuracy(codes, labels) < 0.2


def test_knn_probe_finds_class_that_a_linear_probe_cannot():
    """Each class two tight clusters on opposite sides of the origin: every class mean is zero, so
    no linear boundary helps, but neighbours share the class."""
    codes, labels = labelled_codes(60, 5, seed=4)
    centres = 3 * torch.randn(10, 5, generator=torch.Generator().manual_seed(6))
    side = torch.arange(len(labels)) // 10 % 2 * 2 - 1
    codes = side[:, None] * centres[labels] + 0.3 * codes
    assert probe_accuracy(codes, labels) < 0.3
    assert knn_accuracy(codes, labels) > 0.9


def test_probe_is_deterministic_and_folds_are_stratified():
    codes, labels = labelled_codes(23, 8, seed=5)
    assert probe_accuracy(codes, labels, seed=7) == probe_accuracy(codes, labels, seed=7)
    fold = stratified_folds(labels, 5, seed=0)
    for c in range(10):
        counts = torch.bincount(fold[labels == c], minlength=5)
        assert counts.max() - counts.min() <= 1
    sizes = torch.bincount(fold, minlength=5)
    assert sizes.max() - sizes.min() <= 1
    with pytest.raises(ValueError):
        probe_accuracy(codes[:3], labels[:3])


# --- codes for new images, transfer, samples (both ways of combining codes) ---

@pytest.mark.parametrize("combine", COMBINES)
def test_fit_heldout_changes_no_parameter_and_lowers_the_loss(runs, combine):
    trained = load_trained(runs[combine])
    model = trained.model
    model.train()  # fitting must not leave it changed either
    before = {k: v.clone() for k, v in model.state_dict().items()}
    flags = [p.requires_grad for p in model.parameters()]
    images, labels = heldout_subset(trained.split, 30)
    unfitted = recon_scores(model, images, labels, torch.zeros(len(labels), trained.cfg.content_dim))
    fitted = fit_heldout(model, images, labels, steps=60, radius=trained.cfg.content_radius)
    assert fitted["n"] == 30
    assert fitted["recon_loss"] < 0.9 * unfitted["recon_loss"]
    assert math.isclose(fitted["recon_loss"], fitted["recon_l1"] + fitted["recon_l2"])
    assert math.isclose(fitted["psnr"], 10 * math.log10(1 / fitted["recon_l2"]))
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key]), key
    assert [p.requires_grad for p in model.parameters()] == flags
    assert all(p.grad is None for p in model.parameters())
    assert model.training


def test_fitted_codes_stay_in_the_radius_and_repeat(runs):
    trained = load_trained(runs["concat"])
    model, (images, labels) = trained.model, heldout_subset(trained.split, 20)
    codes = fit_content(model, images, labels, steps=30, radius=0.5)
    assert codes.norm(dim=1).max() <= 0.5 + 1e-5
    assert torch.equal(codes, fit_content(model, images, labels, steps=30, radius=0.5))


def test_heldout_subset_is_balanced_and_never_trained_on(runs):
    split = load_trained(runs["concat"]).split
    images, labels = heldout_subset(split, 50)
    assert images.shape == (50, 28, 28) and np.bincount(labels).tolist() == [5] * 10
    trained = {img.tobytes() for img in split.images}
    assert not any(img.tobytes() in trained for img in images)
    assert np.array_equal(images, heldout_subset(split, 50)[0])


@pytest.mark.parametrize("combine", COMBINES)
def test_transfer_grid_draws_each_content_code_as_every_class(combine):
    torch.manual_seed(0)
    model = GLO(n_images=12, combine=combine).eval()
    content = model.content_codes.weight[:4].detach()
    grid = transfer_grid(model, content)
    assert grid.shape == (4, 10, 28, 28) and grid.dtype == np.uint8
    with torch.no_grad():  # row r, column c is content code r drawn with class code c
        expect = to_uint8(model.decode(model.class_codes.weight[7:8], content[2:3]))[0]
    assert np.array_equal(grid[2, 7], expect)
    assert not np.array_equal(grid[2, 7], grid[2, 3])


@pytest.mark.parametrize("combine", COMBINES)
def test_samples_have_the_shape_asked_for_and_repeat_with_the_seed(combine):
    torch.manual_seed(0)
    model = GLO(n_images=50, combine=combine).eval()
    a = samples(model, [3, 3, 8, 1, 0], seed=0)
    assert a.shape == (5, 28, 28) and a.dtype == np.uint8
    assert np.array_equal(a, samples(model, torch.tensor([3, 3, 8, 1, 0]), seed=0))
    assert not np.array_equal(a, samples(model, [3, 3, 8, 1, 0], seed=1))
    assert not np.array_equal(a[0], a[1])  # same class, different content


def test_sampled_codes_follow_the_learnt_codes_distribution():
    """Mean, spread and correlations (a full covariance, not just per-dimension spread)."""
    gen = torch.Generator().manual_seed(0)
    learnt = torch.randn(400, 25, generator=gen) @ torch.diag(torch.linspace(0.3, 2, 25)) + 3
    learnt[:, 1] = 0.9 * learnt[:, 0] + 0.1 * learnt[:, 1]  # two strongly correlated dimensions
    model = GLO(n_images=400)
    with torch.no_grad():
        model.content_codes.weight.copy_(learnt)
    drawn = sample_codes(model, 20000, seed=0)
    assert torch.allclose(drawn.mean(0), learnt.mean(0), atol=0.05)
    assert torch.allclose(drawn.std(0), learnt.std(0), rtol=0.05)
    assert torch.corrcoef(drawn[:, :2].T)[0, 1] > 0.9


# --- analysis and its cache ---

def test_analysis_is_cached_until_the_checkpoint_changes(runs):
    run = runs["concat"]
    first = analyze(run, heldout_n=20, refresh=True)
    assert not first["cached"] and run.file(ANALYSIS).exists()
    assert 0 <= first["probe_accuracy"] <= 1 and 0 <= first["knn_accuracy"] <= 1 and first["chance"] == 0.1
    assert first["heldout"]["n"] == 20 and first["train_refit"]["n"] == 20
    assert first["checkpoint"]["epoch"] == 8
    saved = json.loads(run.file(ANALYSIS).read_text())
    assert "cached" not in saved and saved["train"] == first["train"]

    second = analyze(run, heldout_n=20)
    assert second["cached"] and second["heldout"] == first["heldout"]

    data = run.file(CHECKPOINT).read_bytes()  # the same checkpoint rewritten (a copy): still valid
    run.write_file(CHECKPOINT, data)
    assert read_analysis(run) is not None

    state = checkpoint.load(run.file(CHECKPOINT))
    state["model"]["content_codes.weight"] += 0.01
    run.write_file(CHECKPOINT, checkpoint.to_bytes({k: v for k, v in state.items() if k != "format"}))
    assert read_analysis(run) is None
    third = analyze(run, heldout_n=20)
    assert not third["cached"] and third["train"] != first["train"]
    assert read_analysis(run) is not None
    assert analyze(run, heldout_n=10)["cached"] is False  # other settings: recomputed


def test_a_damaged_or_old_cache_is_ignored(runs, tmp_path):
    run = runs["adain"]
    valid = {"version": VERSION, "checkpoint": fingerprint(run), "probe_accuracy": 0.5}
    run.write_file(ANALYSIS, json.dumps(valid).encode())
    assert read_analysis(run) == valid
    run.write_file(ANALYSIS, json.dumps({**valid, "version": VERSION - 1}).encode())
    assert read_analysis(run) is None
    run.write_file(ANALYSIS, json.dumps(valid).encode()[:30])
    assert read_analysis(run) is None
    run.write_file(ANALYSIS, b"[1, 2]")
    assert read_analysis(run) is None
    run.file(ANALYSIS).unlink()
    empty = RunStore(tmp_path).create(RunConfig(n_images=20))
    assert read_analysis(empty) is None
    with pytest.raises(RunStoreError, match="no checkpoint"):
        analyze(empty)


def test_read_analysis_does_not_import_torch(runs):
    run = runs["concat"]
    analyze(run, heldout_n=20)
    code = ("import sys\nfrom pathlib import Path\nfrom glo.store.runs import Run\n"
            "from glo.analysis.analyze import read_analysis\n"
            f"result = read_analysis(Run(Path({str(run.root)!r}), {run.id!r}))\n"
            f"print(result['probe_accuracy'] if result else None, 'torch' in sys.modules, 'numpy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout.split()
    assert out[0] != "None" and out[1:] == ["False", "False"]


def test_the_tools_can_be_imported_from_glo_analysis():
    import glo.analysis.analyze

    assert glo.analysis.analyze.samples is samples and glo.analysis.analyze.probe_accuracy is probe_accuracy
    assert glo.analysis.analyze.fit_heldout is fit_heldout and glo.analysis.analyze.transfer_grid is transfer_grid
    with pytest.raises(AttributeError):
        glo.analysis.analyze.no_such_tool  # noqa: B018


def png_size(path) -> tuple[int, int]:
    with open(path, "rb") as fh:
        data = fh.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_png_grids(tmp_path):
    grid = np.random.default_rng(0).integers(0, 256, (2, 3, 28, 28), dtype=np.uint8)
    save_grid_png(grid, tmp_path / "grid.png")
    assert png_size(tmp_path / "grid.png") == (3 * 30 + 2, 2 * 30 + 2)  # 2-pixel padding
    save_grid_png(grid[0], tmp_path / "flat.png", nrow=2)
    assert png_size(tmp_path / "flat.png") == (2 * 30 + 2, 2 * 30 + 2)
    assert sorted(os.listdir(tmp_path)) == ["flat.png", "grid.png"]  # no temp files left
    save_grid_png(grid, tmp_path / "named.png", labels=["originals", "sigma0.3"])
    width, height = png_size(tmp_path / "named.png")
    assert height == 2 * 30 + 2 and width > 3 * 30 + 2 + len("originals") * 4  # a margin holds the row names
    from PIL import Image

    with Image.open(tmp_path / "named.png") as img:  # the names are drawn: white pixels in the margin
        margin = np.asarray(img.convert("L"))[:, : width - (3 * 30 + 2)]
    assert (margin > 200).sum() > 50 and (margin > 200)[:31].any() and (margin > 200)[31:].any()
    (tmp_path / "named.png").unlink()
    with pytest.raises(GloError, match="cannot write"):
        save_grid_png(grid, tmp_path / "missing" / "x.png")
    with pytest.raises(ValueError):
        save_grid_png(grid.astype(np.float32), tmp_path / "f.png")


# --- commands ---

def test_analyze_command(runs):
    root = str(runs["concat"].root)
    result = runner.invoke(app, ["analyze", "concat", "adain", "--runs-dir", root, "--heldout", "10"])
    assert result.exit_code == 0, result.output
    assert runs["concat"].id in result.output and runs["adain"].id in result.output
    assert "chance 10%" in result.output and "%" in result.output
    assert max(len(line) for line in result.output.splitlines()) <= 80
    again = runner.invoke(app, ["analyze", "concat", "--runs-dir", root, "--heldout", "10"])
    assert again.exit_code == 0 and "cached" in again.output


def test_transfer_and_sample_commands(runs, tmp_path):
    root = str(runs["adain"].root)
    result = runner.invoke(app, ["transfer", "adain", "--rows", "3", "--png", str(tmp_path / "t.png"), "--ascii",
                                 "--runs-dir", root])
    assert result.exit_code == 0, result.output
    assert png_size(tmp_path / "t.png") == (11 * 30 + 2, 3 * 30 + 2)
    assert "drawn as 0..9" in result.output and "\u2580" not in result.output
    result = runner.invoke(app, ["sample", "concat", "--digit", "3", "--n", "4", "--png", str(tmp_path / "s.png"),
                                 "--runs-dir", root])
    assert result.exit_code == 0, result.output
    assert png_size(tmp_path / "s.png") == (4 * 30 + 2, 30 + 2)
    assert "digit 3" in result.output
    assert "\u2580" in result.output or any(ch in result.output for ch in "@%#*+=")


def test_commands_on_a_stopped_run(tmp_path):
    from conftest import stopped_run

    run = stopped_run(tmp_path, epochs=2)
    for argv in (["analyze", run.id, "--heldout", "10"], ["transfer", run.id, "--rows", "2"],
                 ["sample", run.id, "--n", "2"]):
        result = runner.invoke(app, [*argv, "--runs-dir", str(tmp_path)])
        assert result.exit_code == 0, (argv, result.output)


BAD = [
    (["sample", "latest", "--digit", "10"], "--digit must be 0-9"),
    (["sample", "latest", "--n", "0"], "--n must be"),
    (["transfer", "latest", "--rows", "0"], "--rows must be"),
    (["analyze", "nope"], "no run"),
    (["analyze", "latest", "--heldout", "0"], "--heldout must be"),
    (["transfer", "empty"], "no checkpoint"),
    (["transfer", "empty", "--png", "."], "it is a folder"),  # refused before any work
    (["sample", "empty", "--png", "/nonexistent/x.png"], "does not exist"),
]


@pytest.mark.parametrize("argv,message", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_input_is_one_line_exit_2(argv, message, tmp_path, capsys):
    run = RunStore(tmp_path).create(RunConfig(name="empty"))
    run.write_config(RunConfig(name="empty"))
    assert main([*argv, "--runs-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
