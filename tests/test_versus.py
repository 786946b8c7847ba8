"""A metric against a setting: which axes a comparison picks, the log axis, the terminal chart and the PNG."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from glo.analysis.versus import export_versus, versus
from glo.view.plots import versus_chart


def view(recon: float, **settings):
    base = {"sigma": 0.3, "decay": 0.001, "loss": "l1+l2", "epochs": 2, "name": None, "sweep": "s1", "seed": 0}
    base.update(settings)
    return SimpleNamespace(settings=base, numbers={"recon_loss": recon, "psnr": 10.0}, last={"train_loss": recon + 1},
                           label="x", run=SimpleNamespace(id="x"))


def test_one_setting_over_decades_is_a_log_axis_with_zero_below():
    views = [view(0.1 * (i + 1), sigma=s, name=f"n{i}") for i, s in enumerate([0, 0.0001, 0.01, 2])]
    vs = versus(views, "recon_loss")
    assert vs.x == "sigma" and vs.lines is None and vs.log
    positions, labels = vs.ticks
    assert labels == ["0", "0.0001", "0.01", "2"]
    assert positions[1:] == pytest.approx([-4, -2, 0.30103], abs=1e-4) and positions[0] == pytest.approx(-5)
    assert vs.series[0][2] == pytest.approx([0.1, 0.2, 0.3, 0.4])


def test_two_settings_a_line_per_value_of_the_second():
    views = [view(s + (loss == "l2"), sigma=s, loss=loss) for s in (0.1, 0.3, 0.9) for loss in ("l1", "l2")]
    vs = versus(views, "recon_loss")
    assert vs.x == "sigma" and vs.lines == "loss" and not vs.log  # numbers on x; 0.1..0.9 spans no decades
    assert [label for label, _, _ in vs.series] == ["loss=l1", "loss=l2"]
    assert vs.series[1][2] == pytest.approx([1.1, 1.3, 1.9])
    assert versus(views, "train_loss") is not None  # a metric of the last epoch record


def test_text_settings_are_evenly_spaced_and_three_settings_draw_nothing():
    vs = versus([view(1, loss="l1"), view(2, loss="l2"), view(3, loss="lap1")], "recon_loss")
    assert vs.ticks == ([0.0, 1.0, 2.0], ["l1", "l2", "lap1"])
    three = [view(1, sigma=0.1, decay=0.1, loss="l1"), view(2, sigma=0.2, decay=0.2, loss="l2")]
    assert versus(three, "recon_loss") is None
    assert versus([view(1)], "recon_loss") is None


def test_chart_and_png(tmp_path):
    views = [view(0.1 * (i + 1), sigma=s) for i, s in enumerate([0.001, 0.1, 10])]
    chart = versus_chart(versus(views, "recon_loss"), 60, 15, colour=False)
    assert "recon_loss against sigma (log axis)" in chart and "0.001" in chart and "10" in chart
    written = export_versus(views, "recon_loss", tmp_path / "g.png")
    assert written == [tmp_path / "g-recon_loss-vs-sigma.png"]
    from PIL import Image

    with Image.open(written[0]) as img:
        assert img.size == (800, 500)


def test_compare_draws_and_exports_it(tmp_path, split, capsys):
    from conftest import make_runs
    from glo.cli.app import main

    a, b, _ = make_runs(tmp_path / "runs", split)
    png = tmp_path / "g.png"
    assert main(["compare", a, b, "--no-analysis", "--png", str(png), "--metric", "psnr",
                 "--runs-dir", str(tmp_path / "runs")]) == 0
    out = capsys.readouterr().out
    assert "psnr against sigma" in out
    assert (tmp_path / "g-psnr-vs-sigma.png").is_file() and png.is_file()
