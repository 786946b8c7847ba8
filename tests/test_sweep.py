"""Sweeps: grouping in the run store, resuming skips finished runs, and the CLI end to end."""

import json

import pytest
from typer.testing import CliRunner

from conftest import synthetic_split
from glo.cli.app import app, main
from glo.config import RunConfig
from glo.errors import ConfigError
from glo.events import Finished, Step, SweepFinished, SweepPoint
from glo.store.runs import RunStore
from glo.sweep.manifest import SweepStore, parse_values, point_label
from glo.sweep.run import run_sweep
from glo.train.controls import Controls

runner = CliRunner()
BASE = RunConfig(n_images=40, epochs=2, batch_size=8, device="cpu")


def load_synthetic(cfg):
    return synthetic_split()


def points(events):
    return [(e.label, e.action) for e in events if isinstance(e, SweepPoint)]


def test_values_are_parsed_by_the_settings_type():
    assert parse_values("sigma", "0, 0.0001,2") == [0.0, 0.0001, 2.0]
    assert parse_values("n-images", "20,40") == [20, 40]  # the option's spelling works too
    assert parse_values("loss", "l1,l2,l1+l2") == ["l1", "l2", "l1+l2"]
    assert parse_values("epochs", "1,3") == [1, 3]
    for param, text, message in [("sigma", "0.1,x", "must be numbers"), ("epochs", "1.5", "whole numbers"),
                                 ("sigma", "0.1,,2", "empty item"), ("sigma", "1,1", "repeats"),
                                 ("name", "a,b", "cannot sweep")]:
        with pytest.raises(ConfigError, match=message):
            parse_values(param, text)


def test_a_grid_over_two_settings_is_validated_before_anything_runs(tmp_path):
    store = RunStore(tmp_path)
    sweep = SweepStore(store).create(BASE, [("sigma", [0.1, 2.0]), ("loss", ["l1", "l1+l2"])])
    assert [p.values for p in sweep.points] == [
        {"sigma": 0.1, "loss": "l1"}, {"sigma": 0.1, "loss": "l1+l2"},
        {"sigma": 2.0, "loss": "l1"}, {"sigma": 2.0, "loss": "l1+l2"}]
    assert point_label({"sigma": 2.0, "loss": "l1+l2"}) == "sigma2-lossl1l2"
    assert SweepStore(store).get("latest").params == [("sigma", [0.1, 2.0]), ("loss", ["l1", "l1+l2"])]
    with pytest.raises(ConfigError, match="sigma must be >= 0"):
        SweepStore(store).create(BASE, [("sigma", [0.1, -1.0])])
    assert len(SweepStore(store).ids()) == 1 and store.runs() == []  # the bad sweep left nothing


def test_sweep_trains_each_point_and_groups_its_runs(tmp_path):
    store = RunStore(tmp_path)
    sweep = SweepStore(store).create(BASE, [("sigma", [0.0, 2.0])])
    events = list(run_sweep(sweep, store, load=load_synthetic))
    assert points(events) == [("sigma0", "start"), ("sigma2", "start")]
    assert events[-1] == SweepFinished(sweep.id, "completed", 2, 0, 2, tuple(sweep.run_ids()))
    runs = sweep.runs(store)
    assert [r.read_config().sigma for r in runs] == [0.0, 2.0]
    assert all(r.read_config().sweep == sweep.id and r.status() == "completed" for r in runs)
    assert [r.id for r in store.runs()] == [r.id for r in runs]  # the sweeps folder is not a run
    saved = json.loads(sweep.path.read_text())
    assert [p["run"] for p in saved["points"]] == [r.id for r in runs]
    assert sweep.status(store) == "completed"


def test_an_interrupted_sweep_resumes_and_skips_finished_runs(tmp_path):
    store = RunStore(tmp_path)
    sweep = SweepStore(store).create(BASE, [("sigma", [0.1, 0.3, 2.0])])
    controls = Controls()
    seen = []
    for ev in run_sweep(sweep, store, controls, load=load_synthetic):
        seen.append(ev)
        if isinstance(ev, Step) and ev.step == 3 and len(points(seen)) == 2:
            controls.stop()  # mid-way through the second run
    assert seen[-1].status == "stopped" and seen[-1].completed == 1
    assert SweepStore(store).get(sweep.id).statuses(store) == ["completed", "stopped", "pending"]
    assert SweepStore(store).get(sweep.id).status(store) == "stopped"

    again = list(run_sweep(SweepStore(store).get(sweep.id), store, load=load_synthetic))
    assert points(again) == [("sigma0.1", "skip"), ("sigma0.3", "resume"), ("sigma2", "start")]
    finished = [e for e in again if isinstance(e, Finished)]
    assert len(finished) == 2 and all(e.status == "completed" for e in finished)
    assert again[-1].status == "completed" and again[-1].completed == 3
    assert len(store.runs()) == 3  # the stopped run was resumed in place, not repeated


def test_a_point_killed_before_its_first_checkpoint_starts_over_in_its_folder(tmp_path):
    store = RunStore(tmp_path)
    sweep = SweepStore(store).create(BASE, [("sigma", [0.1])])
    run = store.create(sweep.point_config(0))
    sweep.points[0].run = run.id
    sweep.save()
    run.write_config(sweep.point_config(0))  # a process died here: a folder, no checkpoint
    events = list(run_sweep(SweepStore(store).get(sweep.id), store, load=load_synthetic))
    assert points(events) == [("sigma0.1", "start")] and events[-1].status == "completed"
    assert run.status() == "completed" and len(store.runs()) == 1


def test_sweep_cli_headless_then_list_show_and_resume(tmp_path):
    args = ["sweep", "--param", "sigma", "--values", "0.1,2", "--epochs", "1", "--n-images", "20",
            "--batch-size", "10", "--device", "cpu", "--headless", "--runs-dir", str(tmp_path)]
    result = runner.invoke(app, args, env={"COLUMNS": "100"})
    assert result.exit_code == 0, result.output
    assert "[1/2] sigma0.1: starting" in result.output and "[2/2] sigma2: starting" in result.output
    assert "sweep completed: 2/2 runs completed" in result.output
    # the comparison: numbers table, curves, originals above each run's reconstructions
    assert "recon_loss per epoch" in result.output and "originals" in result.output
    assert "sigma2" in result.output.split("originals")[-1]
    listed = runner.invoke(app, ["sweeps", "list", "--runs-dir", str(tmp_path)], env={"COLUMNS": "120"})
    assert listed.exit_code == 0 and "completed" in listed.output and "2/2" in listed.output
    shown = runner.invoke(app, ["sweeps", "show", "--runs-dir", str(tmp_path), "--ascii"])
    assert shown.exit_code == 0 and "sigma 0.1, 2" in shown.output
    again = runner.invoke(app, ["sweep", "--resume", "latest", "--headless", "--runs-dir", str(tmp_path)])
    assert again.exit_code == 0, again.output
    assert again.output.count("skipping (completed)") == 2


BAD = [
    (["sweep", "--headless", "--param", "sigma"], "give each --param its --values"),
    (["sweep", "--headless", "--param", "sigma", "--values", "0.1,x"], "must be numbers"),
    (["sweep", "--headless", "--param", "bogus", "--values", "1"], "cannot sweep"),
    (["sweep", "--headless", "--param", "sigma", "--values", "0.1,-2"], "sigma must be >= 0"),
    (["sweep", "--headless", "--param", "sigma", "--values", "0.1", "--sigma", "0.5"], "--sigma is swept"),
    (["sweep", "--headless", "--param", "sigma", "--values", "1", "--param", "sigma", "--values", "2"], "swept once"),
    (["sweep", "--headless", "--resume", "latest", "--epochs", "3"], "drop --epochs"),
    (["sweep", "--headless", "--resume", "nothing"], "no sweeps"),
    (["sweeps", "show", "../x"], "invalid run id"),
]


@pytest.mark.parametrize("argv,message", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_sweeps_are_one_line_exit_2(argv, message, tmp_path, capsys):
    code = main([*argv, "--runs-dir", str(tmp_path / "runs")])
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").rglob("*.json"))


def test_runs_of_two_sweeps_get_distinct_labels_and_their_name_is_ambiguous(tmp_path):
    from glo.analysis.compare import labels
    from glo.errors import RunStoreError
    from glo.store.runs import Run

    ids = ["20261125-195707-sigma2", "20261126-101500-sigma2", "20261126-101500-sigma2-2", "20261126-101600-x"]
    runs = [Run(tmp_path, i) for i in ids]
    assert list(labels(runs).values()) == ["sigma2@195707", "sigma2@101500", "sigma2-2", "x"]
    same_time = [Run(tmp_path, "20261125-101500-a"), Run(tmp_path, "20261126-101500-a")]
    assert list(labels(same_time).values()) == [r.id for r in same_time]  # the time is not enough: whole ids
    for i in ids[:2]:
        (tmp_path / i).mkdir()
    with pytest.raises(RunStoreError, match=r"matches 2 runs .*20261125-195707-sigma2, 20261126-101500-sigma2"):
        RunStore(tmp_path).get("sigma2")


def test_the_comparison_fits_80_columns_without_cutting_a_number(tmp_path):
    store = RunStore(tmp_path)
    sweep = SweepStore(store).create(BASE, [("sigma", [0.1, 2.0]), ("loss", ["l1", "l2"])])
    for _ in run_sweep(sweep, store, load=load_synthetic):
        pass
    result = runner.invoke(app, ["compare", *sweep.run_ids(), "--runs-dir", str(tmp_path), "--ascii"],
                           env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    tables = result.output.split("recon_loss per epoch")[0]
    assert "\u2026" not in tables and max(len(line) for line in tables.splitlines()) <= 80
    for heading in ("sigma", "loss", "L1+L2", "PSNR", "probe", "held"):
        assert heading in tables
    assert not any("PSNR" in line and "probe" in line for line in tables.splitlines())  # two tables
    assert "sigma0.1-lossl1" in tables and "(epochs done" in tables
    wide = runner.invoke(app, ["compare", *sweep.run_ids(), "--runs-dir", str(tmp_path)], env={"COLUMNS": "140"})
    assert any("PSNR" in line and "probe" in line for line in wide.output.splitlines())  # one table


@pytest.mark.parametrize("width", [80, 50])
def test_comparison_tables_never_cut_even_when_many_settings_differ(tmp_path, width):
    from rich.console import Console

    from glo.view.numbers import numbers_tables

    store = RunStore(tmp_path)
    for i in range(4):  # long names, six settings that differ, no numbers yet: the widest case
        cfg = RunConfig(name=f"sigma0.00{i}-decay0.0001-lossl1l2-combineadain-seed1{i}", sigma=0.001 * i,
                        decay=0.0001 * (i + 1), loss=["l1", "l2", "l1+l2", "l1"][i], combine=["concat", "adain"][i % 2],
                        seed=10 + i, batch_size=16 + i, n_images=100 + i)
        store.create(cfg).write_config(cfg)
    console = Console(width=width, record=True)
    for part in numbers_tables(store.runs(), width):
        console.print(part)
    text = console.export_text()
    assert "\u2026" not in text and max(len(line.rstrip()) for line in text.splitlines()) <= width
    for heading in ("n_images", "sigma", "decay", "loss", "combine", "batch_size", "seed", "PSNR", "probe"):
        assert heading in text
