"""The console in a web browser (``glo serve``): textual-serve runs ``python -m tui.app`` once per
browser tab, its screen and keys travel over a websocket.

A closed tab (or a lost connection) makes textual-serve send its console a ``quit`` message on
stdin; Textual's web driver turns that into ExitApp, the training screen's unmount stops a running
run, and the process ends only after the training thread has saved it (stopped, with a checkpoint:
resumable), as with `q`. Stopping the server (Ctrl-C, SIGTERM) ends every tab's websocket handler,
so every console quits the same way before the server exits.

On top of textual-serve: the page's websocket and static URLs follow the address the browser
used (an SSH tunnel to another local port works), and requests are refused unless their Host
is a loopback name (when serving on loopback: a web page rebinding its DNS name to 127.0.0.1
gets nothing) and a websocket's Origin is the page's own (another site's page open in the same
browser can't drive a console).
"""

from __future__ import annotations

import asyncio
import json
import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from aiohttp import web
from textual_serve.server import Server

from glo.config import RunConfig
from glo.host.listen import is_loopback


def console_command(runs_dir: Path, config: RunConfig | None = None) -> str:
    """The shell command textual-serve starts for each tab: this Python's console on ``runs_dir``, its
    form filled with ``config`` (as JSON: ``tui.app.serve_tab``)."""
    form = [json.dumps(config.to_dict())] if config is not None else []
    return shlex.join([sys.executable, "-m", "tui.app", str(runs_dir), *form])


class ConsoleServer(Server):
    def __init__(self, command: str, host: str, port: int, remote: bool,
                 on_ready: Callable[[], None] | None = None) -> None:
        super().__init__(command, host=host, port=port, title="glo")
        self.remote = remote  # --allow-remote: any Host header is fine (the Origin check stays)
        self.on_ready = on_ready
        self.tasks: set[asyncio.Task] = set()  # one per open tab: its websocket handler

    def _host_ok(self, request: web.Request) -> bool:
        return self.remote or is_loopback(urlsplit("//" + request.host).hostname)

    async def handle_index(self, request: web.Request) -> web.StreamResponse:
        if not self._host_ok(request):
            raise web.HTTPForbidden(text="glo serve: this address is not served (see glo serve --help)")
        # the page tells the browser where the websocket is: the address the browser used. No await
        # comes between this line and textual-serve reading it, so concurrent requests can't mix.
        self.public_url = f"{request.scheme}://{request.host}"
        return await super().handle_index(request)

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        origin = request.headers.get("Origin")
        if not self._host_ok(request) or (origin is not None and urlsplit(origin).netloc.lower()
                                          != request.host.lower()):
            raise web.HTTPForbidden(text="glo serve: websocket from another origin refused")
        task = asyncio.current_task()
        assert task is not None  # aiohttp runs each handler in a task of its own
        self.tasks.add(task)
        try:
            return await super().handle_websocket(request)
        finally:
            self.tasks.discard(task)

    async def on_startup(self, app: web.Application) -> None:
        if self.on_ready is not None:
            self.on_ready()

    async def on_shutdown(self, app: web.Application) -> None:
        """The server is stopping: end every tab's console cleanly (a run is saved as stopped)
        and wait for them, rather than leaving them to aiohttp's 60 s shutdown timeout."""
        tasks = list(self.tasks)
        for task in tasks:
            task.cancel()  # textual-serve then sends its console `quit` and waits for it to exit
        if tasks:
            await asyncio.wait(tasks, timeout=120)


def serve_console(command: str, host: str, port: int, remote: bool,
                  on_ready: Callable[[], None] | None = None) -> None:
    """Serve the console until Ctrl-C or SIGTERM."""
    ConsoleServer(command, host, port, remote, on_ready).serve()
