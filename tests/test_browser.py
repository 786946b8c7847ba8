"""``glo serve`` end to end in a real browser: Debian's headless Chromium driven by Playwright.

The real ``glo serve`` runs as a subprocess on a free loopback port with a temporary runs folder;
the page must render the console, the `s` key pressed in the page must train a tiny run to
completion, and closing the tab mid-run must stop that run cleanly (saved as stopped, resumable)
and end its console process. No browser is downloaded: without /usr/bin/chromium these tests fail
(``.ci/run`` installs it with apt).
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
TINY = ["--epochs", "1", "--n-images", "20", "--batch-size", "10", "--device", "cpu"]
LONG = ["--epochs", "300", "--n-images", "20", "--batch-size", "10", "--device", "cpu"]

# Records what the page's websocket receives (the console's screen as the terminal draws it): the
# terminal paints a canvas, so this is how the test reads the screen the browser got.
CAPTURE = """
(() => {
  window.__glo = "";
  const Native = window.WebSocket, decoder = new TextDecoder();
  window.WebSocket = function (...args) {
    const ws = new Native(...args);
    ws.addEventListener("message", (e) => {
      if (typeof e.data !== "string") window.__glo += decoder.decode(new Uint8Array(e.data), {stream: true});
    });
    return ws;
  };
  window.WebSocket.prototype = Native.prototype;
})();
"""


GLO = ([str(Path(sys.executable).with_name("glo"))] if Path(sys.executable).with_name("glo").exists()
       else [sys.executable, "-c", "from glo.cli.app import entry; entry()"])  # the installed `glo` command


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Served:
    """A ``glo serve`` subprocess in its own process group (it, its consoles and their shells)."""

    def __init__(self, tmp: Path, form: list[str]) -> None:
        self.runs, self.port, self.log = tmp / "runs", free_port(), tmp / "serve.log"
        self.url = f"http://127.0.0.1:{self.port}"
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                [*GLO, "serve", "--port", str(self.port), "--runs-dir", str(self.runs), *form],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 30
        while f"open {self.url}" not in self.output():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                pytest.fail(f"glo serve did not start:\n{self.output()}")
            time.sleep(0.05)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def consoles(self) -> list[int]:
        """Console processes (python -m tui.app) still alive in the server's process group."""
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                cmd = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[2]) == self.proc.pid and fields[0] != "Z" and cmd[1:3] == [b"-m", b"tui.app"]:
                found.append(int(entry.name))
        return found

    def stop(self) -> None:
        """SIGTERM to the group (the server then quits every console cleanly), SIGKILL if that hangs."""
        for sig, wait in ((signal.SIGTERM, 30), (signal.SIGKILL, 10)):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.proc.wait(wait)
            except subprocess.TimeoutExpired:
                continue
            deadline = time.monotonic() + wait
            while self.consoles() and time.monotonic() < deadline:
                time.sleep(0.1)
            if not self.consoles():
                break


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """Chromium with an empty profile; a missing or broken browser fails the test, never skips it."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: the browser tests need Debian's chromium package "
                    f"(apt-get install chromium; .ci/run installs it)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        pytest.fail(f"the browser tests need Playwright's Python package (pip install '.[test]'): {exc}")
    with sync_playwright() as pw:
        try:
            context = pw.chromium.launch_persistent_context(
                str(tmp_path_factory.mktemp("chromium-profile")), executable_path=CHROMIUM, headless=True,
                args=CHROMIUM_ARGS, viewport={"width": 1280, "height": 800})
        except Exception as exc:  # noqa: BLE001 - any launch failure is the message
            pytest.fail(f"{CHROMIUM} could not start: {str(exc).strip()[:2000]}")
        try:
            yield context
        finally:
            context.close()


def open_console(browser, served: Served):
    page = browser.new_page()
    page.route(re.compile(r"^(?!http://127\.0\.0\.1:)"), lambda route: route.abort())  # offline, like the lab
    page.add_init_script(CAPTURE)
    page.goto(served.url + "/")
    try:
        page.wait_for_selector("body.-first-byte", timeout=30_000)  # the splash gives way to the console
        page.wait_for_function("window.__glo.includes('settings') && window.__glo.includes('Start')",
                               timeout=30_000)
    except Exception:  # noqa: BLE001 - any failure: the screenshot and the server log say why
        shot = served.runs.parent / "failed.png"
        page.screenshot(path=str(shot))
        raise AssertionError(f"the console did not render in the browser (page: {shot}); server log:\n"
                             f"{served.output()}") from None
    page.focus("textarea.xterm-helper-textarea")  # keys go to the terminal, no click on a widget
    return page


def wait_until(check, timeout: float, what: str, served: Served):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}; server log:\n{served.output()}")


def summary(runs: Path):
    found = list(runs.glob("*/summary.json"))
    return json.loads(found[0].read_text()) if found else None


@pytest.fixture
def served(tmp_path):
    servers = []

    def start(form):
        servers.append(Served(tmp_path, form))
        return servers[-1]

    yield start
    for s in servers:
        s.stop()
        assert not s.consoles(), f"console processes left behind: {s.consoles()}"


def test_tiny_run_in_the_browser(browser, served):
    server = served(TINY)
    port = server.port
    assert f"ssh -L {port}:127.0.0.1:{port} " in server.output()  # how to reach it from another machine
    page = open_console(browser, server)
    cmdline = Path(f"/proc/{server.consoles()[0]}/cmdline").read_bytes().split(b"\0")
    assert [a.decode() for a in cmdline[3:5]] == ["--runs-dir", str(server.runs.resolve())]
    given = [a.decode() for a in cmdline[5:-1]]
    # the form's first settings
    assert dict(zip(given[::2], given[1::2], strict=False)) == dict(zip(TINY[::2], TINY[1::2], strict=False))
    page.keyboard.press("s")
    done = wait_until(lambda: summary(server.runs), 120, "the run's summary.json", server)
    assert done["status"] == "completed" and done["epochs_done"] == 1, done
    run = next(server.runs.iterdir())
    assert {"config.json", "metrics.jsonl", "checkpoint.pt", "recon.png"} <= {p.name for p in run.iterdir()}
    page.wait_for_function("window.__glo.includes('completed')", timeout=30_000)  # the page shows it too
    page.close()
    wait_until(lambda: not server.consoles(), 30, "the closed tab's console to exit", server)

    # another site's page can't drive a console, nor can a DNS name rebound to 127.0.0.1
    for path, headers in (("/ws", {"Origin": "http://evil.example"}), ("/", {"Host": f"evil.example:{server.port}"})):
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(urllib.request.Request(server.url + path, headers=headers), timeout=10)
        assert refused.value.code == 403


def test_closing_the_tab_stops_the_run_cleanly(browser, served):
    from glo.store.runs import RunStore
    from glo.train.prepare import prepare

    server = served(LONG)
    page = open_console(browser, server)
    page.keyboard.press("s")
    wait_until(lambda: list(server.runs.glob("*/checkpoint.pt")), 120, "the run's first checkpoint", server)
    consoles = server.consoles()
    assert len(consoles) == 1 and summary(server.runs) is None  # training, one console for the one tab
    page.close()
    stopped = wait_until(lambda: summary(server.runs), 60, "the closed tab's run to be saved", server)
    assert stopped["status"] == "stopped" and 1 <= stopped["epochs_done"] < 300, stopped
    wait_until(lambda: not server.consoles(), 30, "the closed tab's console to exit", server)
    store = RunStore(server.runs)
    run = store.runs()[0]
    assert run.status() == "stopped" and not run.file("running.json").exists()
    resumed = prepare(None, store, run.id)  # every check glo run --resume makes, without training
    assert resumed.resume and resumed.run.id == run.id
