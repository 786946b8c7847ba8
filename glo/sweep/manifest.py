"""Sweeps: one run per value of a setting (or per point of a grid over two), grouped in the run store.

A sweep is a manifest, ``RUNS/sweeps/ID.json``: the base settings, the swept settings and their
values, and for every point the id of its run once the run folder exists. The runs themselves are
ordinary run folders (their config names the sweep). Running a sweep iterates the same ``train``
generator as a single run, point after point; running it again skips completed points, resumes
stopped or interrupted ones and starts the rest, so an interrupted sweep is resumed by running it
again. No torch import here until a point trains.
"""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from glo.config import SETTINGS, SWEEPABLE, RunConfig, parse_setting
from glo.errors import ConfigError, RunStoreError
from glo.host import atomic
from glo.store.runs import ID_RE, SWEEPS_DIR, Run, RunStore, check_run_id

MAX_POINTS = 200


def setting_name(param: str) -> str:
    """A sweep's setting as RunConfig names it: the CLI's spelling ``n-images`` is ``n_images``."""
    return param.strip().replace("-", "_")


def parse_values(param: str, text: str) -> list[Any]:
    """'0,0.3,2' for a numeric setting, 'l1,l2' for a choice; refused clearly when malformed. Which
    settings may be swept and how their values read is their RunConfig field's (glo.config.SETTINGS);
    their bounds are checked with the other settings (``plan``)."""
    param = setting_name(param)
    if param not in SWEEPABLE:
        raise ConfigError(f"cannot sweep {param!r}; sweepable settings: {', '.join(SWEEPABLE)}", key=param)
    values = []
    for item in (v.strip() for v in str(text).split(",")):
        if not item:
            raise ConfigError(f"--values for {param} has an empty item: {text!r}", key=param)
        try:
            values.append(parse_setting(param, item))
        except ConfigError:
            what = {"int": "whole numbers", "images": "whole numbers or all"}.get(SETTINGS[param].kind, "numbers")
            raise ConfigError(f"{param} values must be {what}; got {item!r}", key=param) from None
    if len(set(values)) != len(values):
        raise ConfigError(f"--values for {param} repeats a value: {text!r}", key=param)
    return values


def point_label(values: dict[str, Any]) -> str:
    """A run name for one point, e.g. 'sigma0.3' or 'sigma2-lossl1l2' (valid as a run name)."""
    parts = []
    for key, value in values.items():
        text = f"{value:g}" if isinstance(value, float) else str(value)
        parts.append(key.replace("_", "") + text.replace("+", ""))
    return "-".join(parts)[:64]


@dataclass
class Point:
    values: dict[str, Any]  # the swept settings of this point
    run: str | None = None  # its run id, once the run folder exists


@dataclass
class Sweep:
    """One sweep's manifest (saved as JSON, written atomically after every change)."""

    root: Path  # the runs folder
    id: str
    base: dict[str, Any]  # RunConfig of every point before its swept values
    params: list[tuple[str, list[Any]]]  # (setting, values) in grid order
    points: list[Point] = field(default_factory=list)
    created: str = ""

    @property
    def path(self) -> Path:
        return self.root / SWEEPS_DIR / f"{self.id}.json"

    @property
    def label(self) -> str:
        return " x ".join(f"{k} {', '.join(_fmt(v) for v in vals)}" for k, vals in self.params)

    def point_label(self, i: int) -> str:
        """Point I's settings as a short name, e.g. 'sigma0.3'."""
        return point_label(self.points[i].values)

    def point_run(self, i: int, store: RunStore, existing: set[str]) -> tuple[Run | None, str]:
        """Point I's run (None before it started) and its status ('pending' before it started);
        EXISTING: the store's run ids, read once for all points."""
        point = self.points[i]
        run = Run(store.root, point.run) if point.run in existing else None
        return run, run.status() if run else "pending"

    def open_point(self, i: int, store: RunStore, run: Run | None, cfg: RunConfig) -> tuple[Run, RunConfig, bool]:
        """Point I's run folder ready to train with CFG: created (and saved in the manifest), or
        reopened to resume from its checkpoint (with its saved settings), or started over when it
        was killed before its first checkpoint. Returns (run, the settings to train, resume)."""
        resume = run is not None and run.has_checkpoint()
        if run is None:
            run = store.create(cfg)
            self.points[i].run = run.id
            self.save()
        elif not resume:
            run.start_over()
        return run, run.read_config() if resume else cfg, resume

    def point_config(self, i: int) -> RunConfig:
        point = self.points[i]
        cfg = RunConfig.from_dict({**self.base, **point.values})
        cfg.name = point_label(point.values)
        cfg.sweep = self.id
        return cfg

    def save(self) -> None:
        data = {
            "id": self.id, "created": self.created, "base": self.base,
            "params": [[k, v] for k, v in self.params],
            "points": [{"values": p.values, "run": p.run} for p in self.points],
        }
        atomic.write_json(self.path, data)

    def run_ids(self) -> list[str]:
        return [p.run for p in self.points if p.run]

    def runs(self, store: RunStore) -> list[Run]:
        """The sweep's run folders that still exist, in point order."""
        ids = set(store.ids())
        return [Run(store.root, r) for r in self.run_ids() if r in ids]

    def statuses(self, store: RunStore) -> list[str]:
        """Each point's status: its run's status, or 'pending' before its run exists."""
        ids = set(store.ids())
        return [Run(store.root, p.run).status() if p.run in ids else "pending" for p in self.points]

    def status(self, store: RunStore) -> str:
        states = self.statuses(store)
        if all(s == "completed" for s in states):
            return "completed"
        if "running" in states:
            return "running"
        if "interrupted" in states:  # a run was killed (as that run's own status says); resumable too
            return "interrupted"
        if "stopped" in states:
            return "stopped"  # resumable: glo sweep --resume ID
        return "partial" if any(s in ("completed", "failed") for s in states) else "pending"


def _fmt(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def plan(base: RunConfig, params: list[tuple[str, list[Any]]]) -> list[dict[str, Any]]:
    """Every point of the grid over ``params`` (in order), each validated over ``base``; writes nothing.

    Raises ConfigError naming the first bad setting, a repeated setting, or a grid too large.
    """
    if not params:
        raise ConfigError("a sweep needs at least one --param with --values")
    names = [k for k, _ in params]
    if len(set(names)) != len(names):
        raise ConfigError(f"each setting may be swept once; got {', '.join(names)}")
    count = 1
    for _, values in params:
        count *= len(values)
    if count > MAX_POINTS:
        raise ConfigError(f"a sweep of {count} runs is too large (at most {MAX_POINTS})")
    base.validate()
    grid = [dict(zip(names, combo, strict=False)) for combo in itertools.product(*(v for _, v in params))]
    for point in grid:
        RunConfig.from_dict({**base.to_dict(), **point}).validate()
    return grid


class SweepStore:
    """The sweeps of one runs folder."""

    def __init__(self, store: RunStore) -> None:
        self.store = store
        self.dir = store.root / SWEEPS_DIR

    def create(self, base: RunConfig, params: list[tuple[str, list[Any]]], name: str | None = None) -> Sweep:
        """Validate every point's settings, then write the manifest (no run folder yet)."""
        base = replace(base, name=None, sweep=None)
        grid = plan(base, params)
        names = [k for k, _ in params]
        if name is not None:
            RunConfig(name=name).validate()
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RunStoreError(f"cannot create sweeps folder {self.dir}: {exc.strerror or exc}") from exc
        stem = f"{time.strftime('%Y%m%d-%H%M%S')}-{name or 'sweep-' + '-'.join(names)}"
        for n in range(1, 1000):
            sweep_id = stem if n == 1 else f"{stem}-{n}"
            sweep = Sweep(self.store.root, sweep_id, base.to_dict(), [(k, list(v)) for k, v in params],
                          [Point(v) for v in grid], time.strftime("%Y-%m-%dT%H:%M:%S%z"))
            try:  # claim the id exclusively, then fill it atomically
                with open(sweep.path, "x"):
                    pass
            except FileExistsError:
                continue
            except OSError as exc:
                raise RunStoreError(f"cannot create a sweep in {self.dir}: {exc.strerror or exc}") from exc
            sweep.save()
            return sweep
        raise RunStoreError(f"too many sweeps named {stem} in {self.dir}")

    def ids(self) -> list[str]:
        if not self.dir.is_dir():
            return []
        return sorted(p.stem for p in self.dir.glob("*.json") if ID_RE.match(p.stem) and not p.is_symlink())

    def load(self, sweep_id: str) -> Sweep:
        check_run_id(sweep_id)
        path = self.dir / f"{sweep_id}.json"
        try:
            data = json.loads(atomic.read_text(path))
            known = {f.name for f in fields(RunConfig)}
            sweep = Sweep(
                self.store.root, sweep_id, {k: v for k, v in data["base"].items() if k in known},
                [(str(k), list(v)) for k, v in data["params"]],
                [Point(dict(p["values"]), p.get("run")) for p in data["points"]], data.get("created", ""),
            )
            for p in sweep.points:
                if p.run is not None:
                    check_run_id(p.run)
        except FileNotFoundError:
            raise RunStoreError(f"no sweep {sweep_id!r} in {self.dir}") from None
        except (OSError, ValueError, KeyError, TypeError, AttributeError, RunStoreError) as exc:
            raise RunStoreError(f"sweep {sweep_id}: {path.name} is damaged ({exc})") from exc
        return sweep

    def get(self, sweep_id: str) -> Sweep:
        """A sweep by id, unique prefix, the name given at creation, or 'latest'."""
        if sweep_id != "latest":
            check_run_id(sweep_id)
        ids = self.ids()
        if not ids:
            raise RunStoreError(f"no sweeps in {self.store.root}")
        if sweep_id == "latest":
            return self.load(ids[-1])
        matches = [sweep_id] if sweep_id in ids else [i for i in ids if i.startswith(sweep_id)]
        if not matches:
            matches = [i for i in ids if i[len("YYYYmmdd-HHMMSS-"):] == sweep_id]
        if len(matches) == 1:
            return self.load(matches[0])
        if not matches:
            raise RunStoreError(f"no sweep {sweep_id!r} in {self.dir}")
        raise RunStoreError(f"{sweep_id!r} matches {len(matches)} sweeps: give more of the id")

    def sweeps(self) -> list[Sweep]:
        """Every readable sweep, oldest first (damaged manifests are left out)."""
        out = []
        for sweep_id in self.ids():
            try:
                out.append(self.load(sweep_id))
            except RunStoreError:
                continue
        return out
