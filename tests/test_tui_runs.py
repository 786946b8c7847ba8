"""Console tests of the saved runs: listing, marking, comparing, opening, resuming, deleting, and
damaged run folders. Pilot drives the real app on tiny synthetic runs."""

from __future__ import annotations

from conftest import make_runs, small, sync, train_screen, wait_for
from glo.store.runs import RunStore
from tui.app import create_app


@sync
async def test_saved_runs_list_compare_open_and_resume(tmp_path, split):
    from textual.widgets import DataTable

    from tui.screens.compare import CompareChart, CompareScreen
    from tui.screens.runs import RunsScreen

    done_a, done_b, stopped = make_runs(tmp_path, split)
    app = create_app(tmp_path, config=small(), load=lambda cfg: split, analyzer=None)  # analysis: test_tui_sweep
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, RunsScreen), what="runs screen")
        table = app.screen.query_one(DataTable)
        assert table.row_count == 3
        listed = [table.get_row_at(i)[1] for i in range(3)]
        assert set(listed) == {done_a, done_b, stopped}
        statuses = {table.get_row_at(i)[1]: str(table.get_row_at(i)[2]) for i in range(3)}
        assert statuses[stopped] == "stopped" and statuses[done_a] == "completed"
        # mark the two completed runs (newest first: the stopped run is at the top)
        table.move_cursor(row=listed.index(done_b))
        await pilot.press("space")
        table.move_cursor(row=listed.index(done_a))
        await pilot.press("space")
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen), what="compare screen")
        chart = app.screen.query_one(CompareChart)
        assert len(chart.series) == 2 and all(len(xs) == 2 for _, xs, _ in chart.series)
        await pilot.pause()
        shot = app.export_screenshot().replace("&#160;", " ")
        assert "sigma" in shot and "batch_size" in shot and "recon_loss per epoch" in shot
        await pilot.press("escape")
        # open one run
        table.move_cursor(row=listed.index(done_a))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen), what="open run")
        assert len(app.screen.runs) == 1 and app.screen.runs[0].id == done_a
        await pilot.press("escape")
        # resume the stopped run: back on the training screen, it trains to the end
        table.move_cursor(row=listed.index(stopped))
        await pilot.press("R")
        screen = train_screen(app)
        await wait_for(pilot, lambda: app.screen is screen, what="back to training")
        await wait_for(pilot, lambda: screen.last_status is not None, what="resumed run end")
        assert screen.last_status == "completed" and screen.status.run.run_id == stopped
        assert len(screen.chart.recon[0]) == 3  # epochs from before the stop are shown too
        assert RunStore(tmp_path).get(stopped).status() == "completed"
        # the list refreshes by itself: a run created elsewhere shows up
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, RunsScreen), what="runs screen again")
        newcomer = RunStore(tmp_path).create(small(name="newcomer"))
        newcomer.write_config(small(name="newcomer"))
        runs = app.screen
        table = runs.query_one(DataTable)
        await wait_for(pilot, lambda: table.row_count == 4, timeout=5, what="auto refresh")
        # d deletes after a y/n question: n keeps the run, y deletes it
        from tui.screens.confirm import ConfirmScreen

        table.move_cursor(row=table.get_row_index(newcomer.id))
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="question")
        await pilot.press("n")
        await wait_for(pilot, lambda: app.screen is runs, what="question closed")
        assert newcomer.path.exists()
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="question")
        await pilot.press("y")
        await wait_for(pilot, lambda: table.row_count == 3, timeout=5, what="deleted")
        assert not newcomer.path.exists() and newcomer.id not in runs.views


@sync
async def test_damaged_runs_are_listed_and_marked(tmp_path, split):
    from textual.widgets import DataTable

    from tui.screens.compare import CompareScreen
    from tui.screens.runs import RunsScreen

    store = RunStore(tmp_path)
    torn = store.create(small(name="torn"))
    torn.write_config(small(name="torn"))
    torn.append_metrics({"event": "epoch", "epoch": 1, "step": 5, "recon_loss": 0.3, "train_loss": 0.4})
    metrics = torn.file("metrics.jsonl")
    metrics.write_text(metrics.read_text() + '{"event": "epoch", "ep')  # killed mid-line
    no_config = store.create(small(name="noconfig"))
    no_config.file("config.json").unlink()  # lost since (a run folder is created with its config)
    no_config.append_metrics({"event": "epoch", "epoch": 1, "step": 5, "recon_loss": 0.3})
    (tmp_path / "someone-elses-folder").mkdir()
    app = create_app(tmp_path, config=small(), load=lambda cfg: split)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, RunsScreen), what="runs screen")
        table = app.screen.query_one(DataTable)
        rows = {table.get_row_at(i)[1]: str(table.get_row_at(i)[2]) for i in range(table.row_count)}
        assert rows == {torn.id: "interrupted (damaged)", no_config.id: "damaged"}
        table.move_cursor(row=list(rows).index(torn.id))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen), what="open damaged run")
        await pilot.press("escape")
        table.move_cursor(row=list(rows).index(no_config.id))
        await pilot.press("enter")
        await pilot.pause()
        assert app.is_running  # opening it did not crash the console


@sync
async def test_R_starts_over_a_run_killed_before_its_first_checkpoint(tmp_path, split):
    """As glo run --resume: an interrupted run with no checkpoint trains from epoch 0 in its folder."""
    from textual.widgets import DataTable

    from tui.screens.runs import RunsScreen

    killed = RunStore(tmp_path).create(small(epochs=2))  # its settings saved, then killed at once
    killed.append_metrics({"event": "change", "step": 1, "epoch": 1, "param": "sigma", "old": 0.3, "new": 1.0})
    assert killed.status() == "interrupted" and not killed.has_checkpoint()
    app = create_app(tmp_path, load=lambda cfg: split, analyzer=None)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, RunsScreen), what="runs screen")
        table = app.screen.query_one(DataTable)
        await wait_for(pilot, lambda: table.row_count == 1, what="the killed run listed")
        await pilot.press("R")
        screen = train_screen(app)
        await wait_for(pilot, lambda: screen.last_status is not None, what="run end")
        assert screen.last_status == "completed" and screen.status.run.run_id == killed.id
    records = killed.read_metrics()
    assert [r["epoch"] for r in records if r["event"] == "epoch"] == [1, 2]
    assert not [r for r in records if r["event"] == "change"]  # what the killed start left is gone
