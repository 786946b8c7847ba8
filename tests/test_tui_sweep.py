"""Console tests for sweeps and the comparison screen: Pilot drives the real app on tiny runs."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from conftest import SIZE, make_runs, small, sync, train_screen, wait_for
from glo.config import RunConfig
from glo.store.analyses import read_analysis
from glo.store.runs import RunStore
from glo.sweep.manifest import SweepStore
from tui import messages as m
from tui.analyze import ChildAnalyzer, analyze_in_child
from tui.app import create_app
from tui.sweepspec import check_sweep, format_sweep, parse_sweep


def test_sweep_field_parses_and_checks_every_point():
    params = parse_sweep("sigma=0.1,2; loss=l1,l2")
    assert params == [("sigma", [0.1, 2.0]), ("loss", ["l1", "l2"])]
    assert format_sweep(params) == "sigma=0.1,2; loss=l1,l2"
    assert check_sweep(RunConfig(), params) == 4
    assert parse_sweep("  ") == []
    for text, words in (("sigma", "setting=values"), ("sigma=1,1", "repeats"), ("foo=1", "cannot sweep"),
                        ("epochs=1.5", "whole numbers"), ("sigma=1; sigma=2", "twice")):
        try:
            parse_sweep(text)
        except Exception as exc:  # noqa: BLE001 - the message is what is checked
            assert words in str(exc), (text, exc)
        else:
            raise AssertionError(f"{text!r} was accepted")
    try:
        check_sweep(RunConfig(), parse_sweep("sigma=0.1,-1"))
    except Exception as exc:  # noqa: BLE001
        assert "sigma must be >= 0" in str(exc)
    else:
        raise AssertionError("a negative sigma was accepted")


@sync
async def test_sweep_from_the_form_trains_each_point_then_compares(tmp_path, split):
    from tui.screens.compare import CompareChart, CompareScreen

    app = create_app(tmp_path, config=small(epochs=1), load=lambda cfg: split, analyzer=None, workers=1)
    async with app.run_test(size=SIZE) as pilot:
        screen = train_screen(app)
        form = screen.form
        await pilot.press("w", "w")  # an empty sweep field: w asks for values (and focuses it), never types
        assert form.raw("sweep") == "" and app.focused is form.widget("sweep")
        form.widget("sweep").value = "sigma=-1"
        await pilot.pause()
        assert "sweep" in form.errors and form.widget("sweep").has_class("-invalid")
        assert not form.query_one("#start").disabled  # a bad sweep field never blocks a single run
        form.widget("sweep").value = "sigma=0.1,0.5"
        await pilot.pause()
        assert form.errors == {} and "2 runs: w, or Enter in sweep" in str(form.query_one("#form-message").render())
        await pilot.press("escape", "w")
        await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen), timeout=60, what="comparison")
        await pilot.pause()
        store = RunStore(tmp_path)
        sweep = SweepStore(store).get("latest")
        assert sweep.statuses(store) == ["completed", "completed"]
        compare = app.screen
        assert [r.id for r in compare.runs] == sweep.run_ids()
        assert [r.read_config().sigma for r in compare.runs] == [0.1, 0.5]
        assert all(r.read_config().sweep == sweep.id for r in compare.runs)
        assert len(compare.query_one(CompareChart).series) == 2
        assert compare.heading == "sweep sigma 0.1, 0.5"
        # the training screen showed each point's run from its start: one epoch each, not two
        assert screen.chart.recon[0] == [1.0] and screen.status.run.run_id == sweep.run_ids()[1]
        assert screen.status.run.sweep == "sweep completed: 2/2 done"
        assert not screen.running and screen.last_status == "completed"
        assert form.widget("sweep").value == "sigma=0.1,0.5" and form.raw("sigma") == "0.3"  # the base again
        assert form.base.name is None and form.base.sweep is None


@sync
async def test_saved_runs_show_sweeps_mark_them_and_resume_a_stopped_one(tmp_path, split):
    from textual.widgets import DataTable

    from glo.sweep.run import run_sweep
    from tui.screens.compare import CompareScreen
    from tui.screens.runs import RunsScreen

    store = RunStore(tmp_path)
    done = SweepStore(store).create(small(epochs=1), [("sigma", [0.1, 0.5])])
    for _ in run_sweep(done, store, load=lambda cfg: split):  # a finished sweep, trained by the core
        pass
    long = SweepStore(store).create(small(epochs=200), [("loss", ["l1", "l2"])])
    app = create_app(tmp_path, load=lambda cfg: split, sweep=long, analyzer=None, workers=1)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = train_screen(app)  # `glo sweep` without --headless: the sweep starts on mount
        assert screen.form.raw("sweep") == "loss=l1,l2" and screen.form.raw("epochs") == "200"
        await wait_for(pilot, lambda: screen.status.run.step > 0, what="first steps")
        assert screen.status.run.sweep == "sweep run 1/2 lossl1"
        # the swept setting cannot change live (it would spoil the comparison); the others can
        assert screen.form.widget("loss").disabled and not screen.form.widget("sigma").disabled
        screen.post_message(m.LiveChangeRequested("loss", "l2"))
        await pilot.pause()
        assert screen.controls.take_changes() == {}  # refused: nothing queued for the training loop
        assert "sweep run 1/2 lossl1" in str(screen.status.render())
        assert screen.chart.border_title == "loss · lossl1"
        await pilot.press("x")  # stops the run (resumable) and the sweep
        await wait_for(pilot, lambda: not screen.running, what="sweep stop")
        stopped = SweepStore(store).get(long.id).run_ids()
        assert SweepStore(store).get(long.id).statuses(store) == ["stopped", "pending"]
        assert screen.status.run.sweep == "sweep stopped: 0/2 done"
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, RunsScreen), what="runs screen")
        runs = app.screen
        table = runs.query_one(DataTable)
        sweeps = {table.get_row_at(i)[1]: str(table.get_row_at(i)[7]) for i in range(table.row_count)}
        began = {s.id: f"{s.id[9:11]}:{s.id[11:13]} " for s in (done, long)}  # when each sweep began
        assert sweeps == {done.run_ids()[0]: began[done.id] + "sigma 0.1,0.5",
                          done.run_ids()[1]: began[done.id] + "sigma 0.1,0.5",
                          stopped[0]: began[long.id] + "loss l1,l2"}
        table.move_cursor(row=list(sweeps).index(done.run_ids()[0]))
        await pilot.press("w")  # marks every run of that sweep
        assert runs.marked == set(done.run_ids())
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen), what="sweep compared")
        assert app.screen.heading == "sweep sigma 0.1, 0.5" and [r.id for r in app.screen.runs] == done.run_ids()
        await pilot.press("escape", "w")  # again: unmarked
        assert runs.marked == set()
        table.move_cursor(row=list(sweeps).index(stopped[0]))
        await pilot.press("R")  # a sweep's stopped run: the sweep goes on, from that run
        await wait_for(pilot, lambda: app.screen is screen and screen.running, what="sweep resumed")
        await wait_for(pilot, lambda: screen.status.run.step > 5, what="resumed steps")
        assert screen.status.run.sweep == "sweep run 1/2 lossl1" and screen.status.run.run_id == stopped[0]
        worker = screen.worker
        await pilot.press("q")  # quitting mid-sweep stops it cleanly: resumable again
        await wait_for(pilot, lambda: not app.is_running, what="exit")
    assert worker.is_finished and app.return_code == 0
    assert SweepStore(store).get(long.id).run_ids() == stopped  # the same run went on
    assert SweepStore(store).get(long.id).statuses(store) == ["stopped", "pending"]
    assert store.get(stopped[0]).has_checkpoint()
    from tui.app import resume_hints

    assert resume_hints(app) == [f"sweep {long.id} stopped: resume it with  glo sweep --resume {long.id}"]


@pytest.mark.slow  # analyses in child processes
@sync
async def test_compare_numbers_analysis_and_export(tmp_path, split):
    from tui.screens.compare import CompareScreen
    from tui.screens.transfer import TransferScreen

    done_a, done_b, _ = make_runs(tmp_path, split)
    store = RunStore(tmp_path)
    # one run analyzed already (by glo.analysis.analyze.analyze, in the console's child process), the other not
    assert analyze_in_child(tmp_path, done_a, heldout_n=10) is None
    assert read_analysis(store.get(done_b)) is None
    app = create_app(tmp_path, config=small(), load=lambda cfg: split, analyzer=ChildAnalyzer(heldout_n=10))
    async with app.run_test(size=(120, 50)) as pilot:
        app.open_compare([store.get(done_a), store.get(done_b)])
        await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen), what="comparison")
        compare = app.screen
        await pilot.pause()
        shot = app.export_screenshot().replace("&#160;", " ")
        assert "probe" in shot and "held" in shot and "sigma" in shot
        assert "analyzing 1/1" in str(compare.query_one("#compare-note").render())
        await wait_for(pilot, lambda: compare.analyzing is None, timeout=60, what="analysis")
        assert read_analysis(store.get(done_b)) is not None
        await pilot.pause()
        shot = app.export_screenshot().replace("&#160;", " ")
        for run_id in (done_a, done_b):  # both rows show their probe accuracy and held-out loss
            result = read_analysis(store.get(run_id))
            assert f"{100 * result['probe_accuracy']:.1f}%" in shot
            assert f"{result['heldout']['recon_loss']:.4f}" in shot
        await pilot.press("e")
        await wait_for(pilot, lambda: compare.exported, timeout=30, what="export")
        paths = compare.exported
        # the table, the image rows, and the metric against the setting the two runs differ in
        assert [p.rsplit(".", 1)[1] for p in paths] == ["csv", "png", "png"]
        assert all(p.startswith(str(tmp_path / "exports" / "compare-")) for p in paths)
        assert "-vs-" in Path(paths[2]).name
        rows = list(csv.DictReader(io.StringIO(Path(paths[0]).read_text())))
        assert [r["run"] for r in rows] == [done_a, done_b] and all(r["probe_accuracy"] for r in rows)
        assert all(Path(p).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in paths[1:])
        assert len(store.runs()) == 3  # the exports folder is not taken for a run
        await pilot.press("t")  # the transfer grid of the first run: a source image, then it as 0..9
        await wait_for(pilot, lambda: isinstance(app.screen, TransferScreen), what="transfer screen")
        transfer = app.screen
        await wait_for(pilot, lambda: done_a in transfer.grids, timeout=30, what="transfer grid")
        grid = transfer.grids[done_a]
        assert len(grid) == 6 and all(images.shape == (11, 28, 28) for _, images in grid)
        assert grid[0][0] == "a 0 -> 0..9"
        await pilot.pause()
        assert "\u2580" in app.export_screenshot().replace("&#160;", " ")  # drawn in half blocks
        await pilot.press("n")
        assert transfer.run.id == done_b
        await pilot.press("escape")
        assert app.screen is compare


@pytest.mark.slow  # two worker processes start (torch loads in each)
def test_points_lines_fit_a_narrow_panel():
    """At 80 columns the points' panel is about 46 wide: a cluster's nodes on one machine lose their
    shared address, then the training loss goes; the recon loss and status stay."""
    from tui.points import PointsPanel, fit

    rows = [("sigma0.1", "10.0.0.5/e67b93", "40/40", "2260", "0.0871", "0.0712", "completed"),
            ("sigma0.3", "-", "0/40", "-", "-", "-", "starting")]
    assert fit(PointsPanel.CLUSTER, rows, 120) == (PointsPanel.CLUSTER, rows)
    headings, fitted = fit(PointsPanel.CLUSTER, rows, 46)
    assert headings == ("point", "node", "epoch", "img/s", "recon", "status")
    assert fitted[0] == ("sigma0.1", "e67b93", "40/40", "2260", "0.0712", "completed")
    two = [rows[0], (*rows[1][:1], "10.0.0.6/a1b2c3", *rows[1][2:])]  # two machines: addresses kept
    assert fit(PointsPanel.CLUSTER, two, 52)[1][1][1] == "10.0.0.6/a1b2c3"


@sync
async def test_a_parallel_sweep_shows_every_running_point_and_x_stops_them_all(tmp_path, split):
    from tui.points import PointsPanel, PointsView

    store = RunStore(tmp_path)
    sweep = SweepStore(store).create(small(epochs=400), [("sigma", [0.1, 0.5])])
    app = create_app(tmp_path, load=lambda cfg: split, sweep=sweep, analyzer=None, workers=2)
    async with app.run_test(size=SIZE) as pilot:
        screen = train_screen(app)
        panel = screen.query_one(PointsPanel)
        assert screen.query_one(PointsView).display and not screen.chart.display
        training = lambda: [r for r in panel.rows if r[-1] == "training" and r[1] != "0/400"]  # noqa: E731
        await wait_for(pilot, lambda: len(training()) == 2, timeout=90, what="two points training at once")
        assert [r[0] for r in panel.rows] == ["sigma0.1", "sigma0.5"]
        await pilot.press("x")  # stops every running point
        await wait_for(pilot, lambda: not screen.running, timeout=90, what="the sweep to stop")
    assert sweep.statuses(store) == ["stopped", "stopped"]
    assert all(run.has_checkpoint() for run in sweep.runs(store))  # both resumable
