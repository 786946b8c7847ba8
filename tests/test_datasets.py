"""The seed's further work 1: the same sweep and comparison on FashionMNIST and KMNIST folders.

No data set can be downloaded here, so each test writes a small data set in torchvision's raw
layout (idx files, as torchvision reads them), with the synthetic digit-like blobs of conftest.
"""

import csv

import pytest
from typer.testing import CliRunner

from conftest import synthetic_split
from glo.cli.app import app
from test_data import _write_idx

runner = CliRunner()
FOLDERS = {"fashionmnist": "FashionMNIST", "kmnist": "KMNIST"}


def write_torchvision_folder(root, dataset: str) -> None:
    split = synthetic_split(n_per_class=6)
    raw = root / FOLDERS[dataset] / "raw"
    raw.mkdir(parents=True)
    for prefix in ("train", "t10k"):
        _write_idx(raw / f"{prefix}-images-idx3-ubyte", split.images, 0x803)
        _write_idx(raw / f"{prefix}-labels-idx1-ubyte", split.labels, 0x801)


@pytest.mark.parametrize("dataset", sorted(FOLDERS))
def test_sweep_and_comparison_work_the_same_on_other_datasets(dataset, tmp_path):
    data, runs = tmp_path / "data", tmp_path / "runs"
    write_torchvision_folder(data, dataset)
    result = runner.invoke(app, ["sweep", "--dataset", dataset, "--data-root", str(data), "--param", "sigma",
                                 "--values", "0.1,2", "--epochs", "2", "--n-images", "40", "--batch-size", "10",
                                 "--device", "cpu", "--headless", "--runs-dir", str(runs)], env={"COLUMNS": "100"})
    assert result.exit_code == 0, result.output
    assert "sweep completed: 2/2" in result.output
    ids = sorted(p.name for p in runs.iterdir() if p.name != "sweeps")
    out_csv, out_png = tmp_path / "cmp.csv", tmp_path / "cmp.png"
    shown = runner.invoke(app, ["compare", *ids, "--runs-dir", str(runs), "--csv", str(out_csv),
                                "--png", str(out_png)], env={"COLUMNS": "100"})
    assert shown.exit_code == 0, shown.output
    table = list(csv.DictReader(out_csv.open()))
    assert [r["dataset"] for r in table] == [dataset, dataset]
    assert all(r["probe_accuracy"] and r["heldout_loss"] for r in table)  # analyzed on the held-out images
    assert out_png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
