"""``glo serve``: the console in a web browser (textual-serve), one console process per tab.

Every check runs before the server starts (bad input: one line, exit 2); the server itself lives in
``tui.serve`` and is imported only when it is needed, so ``glo --help`` stays fast.
"""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import typer

from glo.cli.options import (
    RUNS_DIR_HELP,
    config_from_options,
    with_run_options,
)
from glo.errors import GloError
from glo.host.listen import check_port, is_loopback, url_host

REMOTE_WARNING = ("anyone who can reach port {port} on this machine can use this console: start runs, and "
                  "delete saved runs (there is no password and no encryption)")


@with_run_options
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on. Only loopback addresses unless "
                             "--allow-remote is given."),
    port: int = typer.Option(8000, min=1, max=65535, help="Port to listen on."),
    allow_remote: bool = typer.Option(False, "--allow-remote",
                                      help="Allow a non-loopback --host (e.g. 0.0.0.0): anyone who can "
                                      "reach the port can start runs and delete saved runs."),
    runs_dir: Path | None = typer.Option(None, help=RUNS_DIR_HELP),
    **options,
) -> None:
    """The console in a web browser: the same screens, keys and runs as glo-tui, one console per tab.

    The run options (--sigma, --epochs, ...) set the settings form's initial values.

    Closing a tab quits its console as q does: a training run is stopped and saved as resumable.

    From another machine: ssh -L 8000:127.0.0.1:8000 user@host, then open http://127.0.0.1:8000 there.
    """
    from glo.store.runs import RunStore

    if not is_loopback(host) and not allow_remote:
        raise GloError(f"--host {host} is not a loopback address: anyone who can reach it could start runs "
                       f"and delete saved runs; add --allow-remote to do it anyway, or forward the port "
                       f"over SSH (see glo serve --help)")
    config = config_from_options(options).validate()  # the form's settings: refused here rather than in each tab
    runs = RunStore(runs_dir).check().root.resolve()
    check_port(host, port)

    from glo.cli.console import serve_console

    url = f"http://{url_host(host)}:{port}"
    user = _user()

    def ready() -> None:
        print(f"glo serve: open {url} in a browser (one console per tab; runs in {runs})", flush=True)
        if is_loopback(host):
            target = f"[{host}]" if ":" in host else host
            print(f"from another machine: ssh -L {port}:{target}:{port} {user}@{socket.gethostname()} "
                  f"then open http://127.0.0.1:{port} there", flush=True)
        else:
            print(f"glo: warning: {REMOTE_WARNING.format(port=port)}", file=sys.stderr, flush=True)
        print("Ctrl-C stops the server (each tab's training run is saved as stopped first)", flush=True)

    serve_console(runs, config, host, port, remote=not is_loopback(host), on_ready=ready)


def _user() -> str:
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name in this environment
        return "user"


def register(app: typer.Typer) -> None:
    app.command()(serve)
