"""Choosing runs on the command line, and completing their names in the shell.

``with_filters`` adds the options that choose runs (``--where``, ``--status``, ``--sweep``,
``--sort``, ``--last``) to ``glo runs list``, ``glo compare`` and ``glo runs delete``; ``choose``
reads the runs folder through its index (``glo.store.index``) and chooses with ``glo.store.query``, as the
console's filter does. The ``complete_*`` functions are typer's ``autocompletion`` callbacks: they
read folder names and the index file only (no run folder, nothing written), so a TAB stays quick.
"""

from __future__ import annotations

import inspect
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer

WHERE_HELP = ("Only runs matching KEY=VALUE (also !=, <, <=, >, >=): a setting (sigma, loss, epochs...) or id, name, "
              "status, sweep, done, recon, train, time, psnr, tag, note; a,b for either; * wildcards. Repeatable.")
STATUS_HELP = "Only runs with this status: completed, running, stopped, interrupted, failed, damaged (a,b for either)."
SORT_HELP = "Sort by a column or setting (recon, time, done, status, sigma...); -KEY for descending."


def _runs_root(ctx: typer.Context) -> Path:
    from glo.store.runs import default_runs_dir

    value = (ctx.params or {}).get("runs_dir")
    return Path(value) if value else default_runs_dir()


def complete_runs(ctx: typer.Context, incomplete: str) -> list[tuple[str, str]]:
    """Run ids starting with INCOMPLETE (and 'latest'), each with its status where the index has it."""
    from glo.store.indexdb import read_statuses
    from glo.store.runs import RunStore

    root = _runs_root(ctx)
    try:
        ids = [i for i in RunStore(root).ids() if i.startswith(incomplete)]
    except OSError:
        return []
    statuses = read_statuses(root)
    out = [(i, statuses.get(i, "")) for i in ids]
    return ([("latest", "the newest run")] if "latest".startswith(incomplete) else []) + out


def complete_sweeps(ctx: typer.Context, incomplete: str) -> list[str]:
    from glo.store.runs import SWEEPS_DIR

    try:
        with os.scandir(_runs_root(ctx) / SWEEPS_DIR) as entries:
            names = sorted(e.name[:-5] for e in entries if e.name.endswith(".json") and not e.name.startswith("."))
    except OSError:
        names = []
    return [n for n in ["latest", *names] if n.startswith(incomplete)]


def complete_sort(incomplete: str) -> list[str]:
    from glo.store.query import KEYS

    sign = incomplete[:1] if incomplete[:1] in "+-" else ""
    return [sign + k for k in KEYS if (sign + k).startswith(incomplete)]


def complete_where(incomplete: str) -> list[str]:
    from glo.store.query import KEYS, STATUSES

    if incomplete.startswith("status="):
        return [f"status={s}" for s in STATUSES if f"status={s}".startswith(incomplete)]
    return [f"{k}=" for k in KEYS if f"{k}=".startswith(incomplete)]


def complete_status(incomplete: str) -> list[str]:
    from glo.store.query import STATUSES

    return [s for s in STATUSES if s.startswith(incomplete)]


FILTERS: list[tuple[str, Any, Any]] = [
    ("where", list[str] | None, typer.Option(None, "--where", "-w", metavar="KEY=VALUE", help=WHERE_HELP,
                                             autocompletion=complete_where)),
    ("status", str | None, typer.Option(None, metavar="STATUS", help=STATUS_HELP, autocompletion=complete_status)),
    ("sweep", str | None, typer.Option(None, metavar="SWEEP",
                                       help="Only the runs of this sweep (id, unique prefix, name or latest).",
                                          autocompletion=complete_sweeps)),
    ("sort", str | None, typer.Option(None, metavar="KEY", help=SORT_HELP, autocompletion=complete_sort)),
    ("last", int | None, typer.Option(None, "--last", min=1, metavar="N",
                                      help="Only the N newest of the runs chosen.")),
]
FILTER_NAMES = [name for name, _, _ in FILTERS]


def with_filters(fn: Callable) -> Callable:
    """Add the options that choose runs to ``fn``'s signature (``fn`` takes them as keywords)."""
    sig = inspect.signature(fn)
    params = list(sig.parameters.values())
    extra = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=opt, annotation=kind)
             for name, kind, opt in FILTERS]
    # read by typer through inspect.signature; setattr: a Callable's type declares no __signature__
    setattr(fn, "__signature__", sig.replace(parameters=[p for p in params if p.kind != p.VAR_KEYWORD] + extra))  # noqa: B010
    fn.__annotations__ = {**fn.__annotations__, **{name: kind for name, kind, _ in FILTERS}}
    return fn


def filtering(values: dict[str, Any]) -> bool:
    """True if any option that chooses runs was given (``--sort`` alone orders, it does not choose)."""
    return any(values.get(k) for k in ("where", "status", "sweep", "last"))


def check_empty(values: dict[str, Any]) -> None:
    """Refuse an empty --where, --status, --sweep or --sort: it would otherwise mean "no filter"
    (for a delete: every run)."""
    from glo.store.query import QueryError

    for name in ("where", "status", "sweep", "sort"):
        given = values.get(name)
        for text in given if isinstance(given, list) else [given]:
            if text is not None and not str(text).strip():
                example = {"where": "sigma=0.3", "status": "failed", "sweep": "latest", "sort": "recon"}[name]
                raise QueryError(f"--{name} is empty: give a value (e.g. --{name} {example}), or leave the option out")


def query_of(store, values: dict[str, Any]):
    """The ``glo.store.query.Query`` the options say (checked before any run is read); raises GloError."""
    from glo.store import query

    check_empty(values)
    texts = list(values.get("where") or [])
    if values.get("status"):
        texts.append(f"status={values['status']}")
    if values.get("sweep"):
        from glo.sweep.manifest import SweepStore

        texts.append(f"sweep={SweepStore(store).get(values['sweep']).id}")
    if values.get("sort"):
        query.check_sort(values["sort"])
    return query.parse(texts)


def choose(store, values: dict[str, Any]) -> list:
    """The runs the options choose, in their order (``IndexedView``s; by id where no --sort)."""
    from glo.store import query

    q = query_of(store, values)  # checked before any run is read
    return query.select(every_view(store), q, values.get("last"), values.get("sort"))


def every_view(store) -> list:
    """Every run of STORE, read through its index (``IndexedView``s)."""
    from glo.store.index import RunIndex

    # a cold index is read by worker processes, from the main thread only (forking with other threads
    # running is not safe), and with 4 cores or more: on 2 (measured: this VM's two), two processes
    # read no faster than one
    cores = os.cpu_count() or 1
    main = threading.current_thread() is threading.main_thread()
    index = RunIndex(store, workers=cores if main and cores >= 4 else 1)
    try:
        return index.views()
    finally:
        index.close()


def chosen_runs(store, run_ids: list[str] | None, values: dict[str, Any], verb: str) -> list:
    """The runs RUN_IDS name (``RunStore.get_many``), then those the options choose (in --sort's
    order), each once; raises GloError when neither says which."""
    return each_once(*named_and_chosen(store, run_ids, values, verb))


def named_and_chosen(store, run_ids: list[str] | None, values: dict[str, Any], verb: str) -> tuple[list, list]:
    """(the runs RUN_IDS name, those the options choose), as ``chosen_runs`` merges them."""
    from glo.errors import GloError

    check_empty(values)
    if not run_ids and not filtering(values):
        raise GloError(f"name the runs to {verb}, or choose them with --where, --status, --sweep or --last")
    named = store.get_many(run_ids) if run_ids else []
    return named, [v.run for v in choose(store, values)] if filtering(values) else []


def each_once(*groups: list) -> list:
    """The runs of GROUPS in order, each once."""
    return list({r.id: r for group in groups for r in group}.values())


def runs_to_delete(store, run_ids: list[str] | None, values: dict[str, Any], every: bool) -> list:
    """The runs ``glo runs delete`` deletes: every run only when EVERY (--all) says so, alone; runs
    named or chosen otherwise, refusing a filter that chooses every run (it must say --all)."""
    from glo.errors import GloError

    check_empty(values)
    if every:
        if run_ids or filtering(values):
            raise GloError("--all deletes every run: drop the run names and filters, or drop --all")
        return [v.run for v in choose(store, {})]
    if not filtering(values):
        return chosen_runs(store, run_ids, values, "delete")
    from glo.store import query

    q = query_of(store, values)
    named = store.get_many(run_ids) if run_ids else []
    views = every_view(store)  # read once: what the filter chooses, and every run to compare it with
    picked = query.select(views, q, values.get("last"), values.get("sort"))
    if picked and len(picked) == len(views):  # the filter alone (names aside) chooses every run
        raise GloError(f"the filter chooses every run ({len(views)}): to delete them all say --all (nothing deleted)")
    return each_once(named, [v.run for v in picked])


def folder_bytes(paths: list[Path]) -> int:
    """The bytes of the files in these folders (what deleting them frees; hard links aside)."""
    total = 0
    for path in paths:
        for folder, _, files in os.walk(path):
            for name in files:
                try:
                    total += os.lstat(os.path.join(folder, name)).st_size
                except OSError:
                    pass
    return total


def human_bytes(n: float) -> str:
    """'512 B', '2.3 MB', '23.4 GB'."""
    for unit in ("B", "kB", "MB"):
        if n < 1000:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"
