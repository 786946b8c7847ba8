"""The console's t (tags) and n (note) in saved runs, and its filter on them."""

from __future__ import annotations

from conftest import make_runs, small, sync, wait_for
from glo.store import notes
from tui.app import create_app


@sync
async def test_tag_and_note_keys_in_saved_runs(tmp_path, split):
    from textual.widgets import DataTable, Input

    from tui.screens.notes import NotesScreen
    from tui.screens.runs import RunsScreen

    done_a, _done_b, _stopped = make_runs(tmp_path, split)
    app = create_app(tmp_path, config=small(), load=lambda cfg: split, analyzer=None)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, RunsScreen), what="runs screen")
        runs = app.screen
        table = runs.query_one(DataTable)
        await wait_for(pilot, lambda: table.row_count == 3, what="rows")
        table.move_cursor(row=table.get_row_index(done_a))
        await pilot.press("t")
        await wait_for(pilot, lambda: isinstance(app.screen, NotesScreen), what="tags field")
        await pilot.press(*"best fig2", "enter")
        await wait_for(pilot, lambda: app.screen is runs, what="tags saved")
        assert notes.read(str(tmp_path / done_a)) == (("best", "fig2"), "")
        await wait_for(pilot, lambda: "#best" in str(table.get_row(done_a)), timeout=10, what="tags shown")
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, NotesScreen), what="note field")
        await pilot.press(*"a typo here", "enter")
        await wait_for(pilot, lambda: app.screen is runs, what="note saved")
        assert notes.read(str(tmp_path / done_a)) == (("best", "fig2"), "a typo here")
        # a bad tag is said in the field, and nothing is written; Esc leaves it as it was
        await pilot.press("t")
        await wait_for(pilot, lambda: isinstance(app.screen, NotesScreen), what="tags field again")
        app.screen.query_one(Input).value = "ok -bad"
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, NotesScreen) and "bad tag" in str(app.screen.query_one("#notes-error").render())
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is runs, what="cancelled")
        assert notes.read(str(tmp_path / done_a))[0] == ("best", "fig2")
        # the filter knows them
        await pilot.press("slash", *"tag=best", "enter")
        await wait_for(pilot, lambda: table.row_count == 1, timeout=10, what="filtered by tag")
        assert table.get_row_at(0)[1] == done_a


@sync
async def test_comparison_draws_the_metric_against_the_setting(tmp_path, split):
    from tui.screens.compare import CompareScreen
    from tui.widgets.versus import VersusChart

    done_a, done_b, stopped = make_runs(tmp_path, split)
    app = create_app(tmp_path, config=small(), load=lambda cfg: split, analyzer=None)
    async with app.run_test(size=(120, 40)) as pilot:
        store = app.store
        app.push_screen(CompareScreen([store.get(done_a), store.get(done_b)]))
        await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen) and app.screen.read is not None,
                       what="comparison")
        chart = app.screen.query_one(VersusChart)
        assert chart.display and chart.versus.x == "sigma" and chart.versus.metric == "recon_loss"
        await pilot.press("m")
        assert chart.versus.metric == "train_loss"
        app.pop_screen()
        # the same runs with the stopped one differ in sigma and epochs: a line per value of one
        app.push_screen(CompareScreen([store.get(i) for i in (done_a, done_b, stopped)]))
        await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen) and app.screen.read is not None,
                       what="comparison of three")
        chart = app.screen.query_one(VersusChart)
        assert chart.display and chart.versus.lines is not None
        app.pop_screen()
        app.push_screen(CompareScreen([store.get(done_a)]))  # one run: nothing to draw against
        await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen) and app.screen.read is not None,
                       what="one run")
        assert not app.screen.query_one(VersusChart).display


@sync
async def test_console_writes_tensorboard_logs_when_set(tmp_path, split, monkeypatch):
    """glo-tui --tensorboard DIR (or $GLO_TENSORBOARD): the console's runs are logged as they train."""
    from conftest import train_screen
    from glo.cli.tui_cmd import main
    from tbevents import read_run

    (tmp_path / "afile").write_text("")
    assert main(["--runs-dir", str(tmp_path / "runs"), "--tensorboard", str(tmp_path / "afile")]) == 2
    monkeypatch.setenv("GLO_TENSORBOARD", str(tmp_path / "tb"))
    app = create_app(tmp_path / "runs", config=small(), load=lambda cfg: split)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = train_screen(app)
        await pilot.press("s")
        await wait_for(pilot, lambda: screen.last_status is not None, what="run end")
        run_id = screen.status.run.run_id
    got = read_run(tmp_path / "tb" / run_id)
    assert sorted(got["scalars"]["loss/recon_loss"]) == [1, 2, 3] and got["hparams"]["epochs"] == 3
