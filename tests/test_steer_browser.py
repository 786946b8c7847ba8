"""Two browser tabs (``glo serve``, headless Chromium) attach to one run that a headless ``glo run``
trains: both show it live, one pauses it, the other resumes it, closing a tab leaves it training,
and the other tab stops it. Uses tests/test_browser.py's server and browser."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from glo.store.runs import RunStore
from test_browser import browser, open_console, served, wait_until  # noqa: F401 - fixtures

pytestmark = [pytest.mark.browser, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[1]


def _attach(page, run_id: str) -> None:
    page.keyboard.press("r")
    page.wait_for_function(f"window.__glo.includes('{run_id[:15]}')", timeout=30_000)
    page.keyboard.press("Enter")  # the one run: the cursor is on it
    page.wait_for_function("window.__glo.includes('epoch') && window.__glo.includes('img/s')", timeout=30_000)


def test_two_tabs_watch_and_steer_a_headless_run(browser, served, tmp_path):  # noqa: F811 - fixtures
    runs = tmp_path / "runs"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "glo", "run", "--headless", "--threads", "1", "--n-images", "40",
                             "--batch-size", "8", "--epochs", "3000", "--name", "tabs", "--runs-dir", str(runs)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        server = served(["--epochs", "5"])
        run = wait_until(lambda: next((r for r in RunStore(runs).runs() if r.is_live()), None), 60, "the run", server)
        one, two = open_console(browser, server), open_console(browser, server)
        _attach(one, run.id)
        _attach(two, run.id)
        one.keyboard.press("p")
        wait_until(lambda: any(r["event"] == "pause" for r in run.read_metrics()), 30, "the pause", server)
        two.wait_for_function("window.__glo.includes('paused')", timeout=30_000)  # the other tab sees it
        two.keyboard.press("p")
        wait_until(lambda: any(r["event"] == "resume" for r in run.read_metrics()), 30, "the resume", server)
        one.close()
        wait_until(lambda: len(server.consoles()) == 1, 30, "the closed tab's console to exit", server)
        assert run.is_live() and proc.poll() is None  # the tab closed; the run trains on
        two.keyboard.press("x")
        assert proc.wait(60) == 0 and run.status() == "stopped"
        two.wait_for_function("window.__glo.includes('stopped')", timeout=30_000)
    finally:
        proc.kill()
        proc.wait()
