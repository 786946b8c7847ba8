"""Imported first by the sweep's fork server (``glo.sweep.local``), before torch: the server and the
workers forked from it ignore Ctrl-C and a closed terminal (the sweep's driver stops them cleanly),
and their output goes nowhere (a library's warning would scribble over the console's screen).

Importing it acts only in a process started with GLO_FORK_SERVER=1 (``glo.sweep.local.warm_up`` sets
it for the server alone): imported anywhere else, it does nothing. A worker started without a fork
server (spawn) calls ``prepare`` itself.
"""

from __future__ import annotations

import os
import signal


def prepare() -> None:
    for sig in (signal.SIGINT, getattr(signal, "SIGHUP", None)):
        if sig is not None:
            signal.signal(sig, signal.SIG_IGN)
    devnull = os.open(os.devnull, os.O_WRONLY)
    for fd in (1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)


if os.environ.pop("GLO_FORK_SERVER", "") == "1":
    os.environ.pop("PYTHONSAFEPATH", None)  # the server's own path is set; the workers' children start as usual
    prepare()
