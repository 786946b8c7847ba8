"""A console in its own process for tests/test_steer.py: attaches (saved runs, Enter) to a run that
another process trains, acts on it with keys, quits; prints what it saw as one JSON line.

python tests/steer_console.py RUNS_DIR RUN_ID ACTIONS   (ACTIONS: 'pause-set-resume' or 'stop')
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from conftest import wait_for


async def main(runs_dir: str, run_id: str, actions: str) -> dict:
    from textual.widgets import DataTable

    from tui.app import create_app
    from tui.screens.runs import RunsScreen

    app = create_app(runs_dir, analyzer=None)
    seen: dict = {}
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen_stack[0]
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, RunsScreen), what="runs screen")
        table = app.screen.query_one(DataTable)
        await wait_for(pilot, lambda: table.row_count > 0, what="rows")
        table.move_cursor(row=[table.get_row_at(i)[1] for i in range(table.row_count)].index(run_id))
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is screen and screen.status.run.run_id == run_id, what="attached")
        await wait_for(pilot, lambda: screen.chart.train.points()[0] and screen.chart.recon[0], what="chart")
        await wait_for(pilot, lambda: screen.recon.epoch is not None and screen.recon.epoch > 0, what="images")
        seen["attached_at_epoch"] = screen.status.run.epoch
        seen["chart_points"] = len(screen.chart.train.points()[0])
        if actions == "pause-set-resume":
            await pilot.press("p")
            await wait_for(pilot, lambda: screen.status.run.state == "paused", what="paused")
            seen["paused"] = True
            sigma = screen.form.widget("sigma")
            sigma.focus()
            sigma.value = "0.7"
            await pilot.press("enter")
            await pilot.press("escape")
            await pilot.press("p")
            await wait_for(pilot, lambda: screen.status.run.live.get("sigma") == 0.7, what="live change")
            await wait_for(pilot, lambda: screen.status.run.state == "training", what="training again")
            step = screen.status.run.step
            await wait_for(pilot, lambda: screen.status.run.step > step + 5, what="steps go on")
            seen["changes"] = [label for _, label in screen.chart.changes]
            await pilot.press("q")
        else:
            await pilot.press("x")
            await wait_for(pilot, lambda: screen.last_status is not None, what="stopped")
            seen["last_status"] = screen.last_status
            await pilot.press("q")
    return seen


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(*sys.argv[1:4]))), flush=True)
