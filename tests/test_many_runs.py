"""Many runs: the runs folder's index (glo.store.index), finding runs (glo.store.query) from the CLI and the
console, shell completion, and the saved-runs view keeping up with runs that come, go or break.

Runs here are written directly (config, metrics, summary: what a finished run leaves for a listing),
so a test makes dozens of them in a fraction of a second; `make_runs` trains real ones where a
comparison needs checkpoints and images."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

from conftest import make_runs, small, sync, wait_for
from glo.cli.app import app, main
from glo.cli.select import complete_runs, complete_sort, complete_where
from glo.store.index import INDEX, IndexedView, RunIndex, stamp_of
from glo.store.runs import RunStore
from glo.store.runview import RunView

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[1]


def fake_run(store: RunStore, status: str | None = "completed", epochs: int = 3, recon: float = 0.1,
             elapsed: float = 10.0, **cfg):
    """A run folder as a finished (or, with STATUS None, interrupted) run leaves it, without training."""
    run = store.create(small(**cfg))
    for e in range(1, epochs + 1):
        run.append_metrics({"event": "epoch", "epoch": e, "step": 5 * e, "elapsed_s": elapsed * e / epochs,
                            "train_loss": recon + 0.01, "recon_loss": recon, "psnr": 20.0})
    if status is not None:
        run.write_summary({"status": status, "epochs_done": epochs})
    return run


def listing(root, *args: str, columns: int = 200) -> str:
    result = runner.invoke(app, ["runs", "list", "--runs-dir", str(root), *args], env={"COLUMNS": str(columns)})
    assert result.exit_code == 0, result.output
    return result.output


def listed_ids(output: str) -> list[str]:
    return [line.split()[0] for line in output.splitlines() if line.strip()[:8].isdigit()]


@pytest.fixture
def runs(tmp_path):
    """Eight runs: sigma 0.1, 0.3, 0.9, 2; statuses completed, failed, stopped, interrupted; two names."""
    store = RunStore(tmp_path)
    made = {
        "a": fake_run(store, sigma=0.1, recon=0.30, elapsed=50),
        "b": fake_run(store, sigma=0.3, recon=0.10, elapsed=20),
        "c": fake_run(store, sigma=0.3, recon=0.20, elapsed=90, loss="l1"),
        "d": fake_run(store, status="failed", sigma=2.0, recon=0.50, elapsed=5),
        "e": fake_run(store, status="stopped", sigma=0.3, epochs=1, recon=0.40, elapsed=7),
        "f": fake_run(store, status=None, sigma=2.0, epochs=2, recon=0.05, elapsed=30),
        "g": fake_run(store, name="baseline", sigma=0.9, recon=0.15, elapsed=40),
        "h": fake_run(store, name="baseline-hi", sigma=2.0, recon=0.25, elapsed=60),
    }
    return SimpleNamespace(root=tmp_path, store=store, **{k: r.id for k, r in made.items()})


# --- finding runs from the command line ---

def test_filters_pick_runs_by_settings_status_and_name(runs):
    assert set(listed_ids(listing(runs.root))) == {getattr(runs, k) for k in "abcdefgh"}
    assert listed_ids(listing(runs.root, "--where", "sigma=0.3")) == sorted([runs.b, runs.c, runs.e])
    assert listed_ids(listing(runs.root, "--where", "sigma=0.30", "--status", "completed")) == sorted([runs.b, runs.c])
    assert listed_ids(listing(runs.root, "--status", "failed,interrupted")) == sorted([runs.d, runs.f])
    assert listed_ids(listing(runs.root, "-w", "sigma>0.2 loss=l1")) == [runs.c]
    assert listed_ids(listing(runs.root, "--where", "name=baseline*")) == sorted([runs.g, runs.h])
    assert listed_ids(listing(runs.root, "--where", "name=baseline")) == [runs.g]
    assert listed_ids(listing(runs.root, "--where", "recon<0.12", "--where", "status!=interrupted")) == [runs.b]
    assert listed_ids(listing(runs.root, "--where", "-hi")) == [runs.h]  # a bare word: part of the id
    assert "no runs" in listing(runs.root, "--where", "sigma=5")


def test_sort_and_last(runs):
    by_recon = listed_ids(listing(runs.root, "--sort", "recon"))
    assert by_recon == [runs.f, runs.b, runs.g, runs.c, runs.h, runs.a, runs.e, runs.d]
    assert listed_ids(listing(runs.root, "--sort", "-time"))[:3] == [runs.c, runs.h, runs.a]
    newest = sorted(getattr(runs, k) for k in "abcdefgh")[-3:]  # ids begin with the time: the newest last
    assert listed_ids(listing(runs.root, "--last", "3")) == newest
    recon = {runs.a: 0.3, runs.b: 0.1, runs.c: 0.2, runs.d: 0.5, runs.e: 0.4, runs.f: 0.05, runs.g: 0.15, runs.h: 0.25}
    assert listed_ids(listing(runs.root, "--last", "3", "--sort", "-recon")) == sorted(newest, key=lambda i: -recon[i])
    assert listed_ids(listing(runs.root, "--where", "sigma=2", "--sort", "status"))[0] == runs.h  # completed < failed


def test_sweep_filter(runs):
    from glo.sweep.manifest import SweepStore

    sweep = SweepStore(runs.store).create(small(), [("sigma", [0.1, 0.2])])
    ids = [fake_run(runs.store, sweep=sweep.id, sigma=s).id for s in (0.1, 0.2)]
    assert listed_ids(listing(runs.root, "--sweep", sweep.id)) == ids
    assert listed_ids(listing(runs.root, "--sweep", "latest", "--where", "sigma=0.2")) == ids[1:]


@pytest.mark.parametrize("args, message", [
    (["--where", "sigmaa=1"], "unknown key 'sigmaa'"),
    (["--where", "sigma="], "has no value"),
    (["--sort", "speed"], "unknown key 'speed'"),
    (["--last", "0"], "--last"),
    (["--sweep", "nope"], "no sweeps"),
])
def test_bad_filters_are_one_line_exit_2(runs, args, message, capsys):
    assert main(["runs", "list", "--runs-dir", str(runs.root), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_listing_fits_80_columns(runs):
    out = listing(runs.root, columns=80)
    assert max(len(line) for line in out.splitlines()) <= 80 and "baseline-hi" in out
    narrow = listing(runs.root, columns=50)
    assert "id / settings" in narrow and "sigma=2" in narrow


def test_delete_by_filter_says_how_many_and_how_much(runs):
    out = runner.invoke(app, ["runs", "delete", "--runs-dir", str(runs.root), "--status", "failed,interrupted"],
                        input="n\n").output
    assert "these 2 runs (" in out and "B) for good? [y/N]" in out and runs.d in out and "nothing deleted" in out
    result = runner.invoke(app, ["runs", "delete", "--runs-dir", str(runs.root), "--status", "failed", "--yes"])
    assert result.exit_code == 0 and f"deleted {runs.d}" in result.output
    assert not (runs.root / runs.d).exists() and (runs.root / runs.f).exists()
    assert main(["runs", "delete", "--runs-dir", str(runs.root)]) == 2  # neither ids nor a filter
    assert "nothing deleted" in runner.invoke(app, ["runs", "delete", "--runs-dir", str(runs.root), "--where",
                                                    "sigma=9", "--yes"]).output


def test_compare_takes_the_runs_a_filter_chooses(tmp_path, split):
    make_runs(tmp_path, split)
    result = runner.invoke(app, ["compare", "--runs-dir", str(tmp_path), "--status", "completed", "--no-analysis",
                                 "--width", "80"])
    assert result.exit_code == 0, result.output
    assert "recon_loss per epoch" in result.output and "tostop" not in result.output
    assert main(["compare", "--runs-dir", str(tmp_path), "--where", "sigma=7"]) == 2


# --- shell completion ---

def test_completion_callbacks(runs):
    ctx = SimpleNamespace(params={"runs_dir": str(runs.root)})
    assert complete_runs(ctx, "") == [("latest", "the newest run")] + [
        (i, "") for i in sorted(getattr(runs, k) for k in "abcdefgh")]  # no index yet: no statuses
    listing(runs.root)
    found = dict(complete_runs(ctx, runs.d[:-2]))
    assert found[runs.d] == "failed" and "latest" not in found
    assert complete_sort("-rec") == ["-recon", "-recon_l1", "-recon_l2"]
    assert "sigma=" in complete_where("sig") and complete_where("status=f") == ["status=failed"]


def test_shell_completion_end_to_end(runs, tmp_path):
    """What bash runs on TAB, and glo --install-completion for bash and zsh."""
    env = {**os.environ, "_GLO_COMPLETE": "complete_bash",
           "COMP_WORDS": f"glo runs show --runs-dir {runs.root} {runs.h[:-4]}", "COMP_CWORD": "5"}
    out = subprocess.run([sys.executable, "-m", "glo", "runs"], env=env, capture_output=True, text=True).stdout
    assert out.split() == [runs.h] or runs.h in out.split()
    home = tmp_path / "home"
    home.mkdir()
    for shell, where in (("bash", ".bash_completions/glo.sh"), ("zsh", ".zfunc/_glo")):
        env = {**os.environ, "HOME": str(home), "_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"}
        done = subprocess.run([sys.executable, "-m", "glo", "--install-completion", shell],
                              capture_output=True, text=True, env=env)
        assert done.returncode == 0, done.stderr
        assert "_GLO_COMPLETE" in (home / where).read_text()


# --- the index: derived, rebuilt, never trusted over the folders ---

def test_index_is_rebuilt_when_deleted_or_damaged(runs):
    first = listing(runs.root)
    index = runs.root / INDEX
    assert index.is_file()
    index.unlink()
    assert listing(runs.root) == first and index.is_file()
    index.write_bytes(b"this is not a database" * 100)
    assert listing(runs.root) == first
    with sqlite3.connect(index) as conn:  # rebuilt: a whole database again, a row per run
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT count(*) FROM runs").fetchone()[0] == 8
        conn.execute("UPDATE runs SET settings = 'garbage', done = 'x'")  # rows that make no sense
        conn.execute(f"DELETE FROM runs WHERE id = '{runs.a}'")
        conn.execute("INSERT INTO runs (id, stamp) VALUES ('20990101-000000-ghost', '1')")  # a run that is not there
    assert listing(runs.root) == first
    with sqlite3.connect(index) as conn:
        conn.execute("DROP TABLE runs")
        conn.execute("CREATE TABLE runs (id TEXT)")  # another version's table
    assert listing(runs.root) == first


def test_a_finished_run_is_listed_from_its_summary_as_its_metrics_say(tmp_path, split):
    """A finished run untouched since (no running.json, metrics.jsonl older than summary.json) is
    indexed from summary.json alone: the same epochs and last record as its metrics.jsonl gives."""
    store = RunStore(tmp_path)
    ids = make_runs(tmp_path, split)
    for run in store.get_many(ids):
        time.sleep(0.02)  # past the clock tick of the last writes: the summary is newer than the metrics
        os.utime(run.file("summary.json"))
        fast, full = IndexedView.read(run, stamp_of(str(run.path))), IndexedView.read(run)
        assert (fast.recorded, fast.done, fast.last) == (full.recorded, full.done, full.last)
        assert fast.done in (2, 1) and fast.last["epoch"] == fast.done
    run = store.get(ids[-1])  # resumed and killed: its summary still says stopped, its metrics go on
    time.sleep(0.02)
    run.append_metrics({"event": "epoch", **IndexedView.read(run).last, "epoch": 2, "recon_loss": 0.123})
    again = IndexedView.read(run, stamp_of(str(run.path)))
    assert again.done == 2 and again.last["recon_loss"] == 0.123


def test_index_sees_what_changed_in_a_run_folder(runs):
    listing(runs.root)
    metrics = runs.root / runs.b / "metrics.jsonl"
    metrics.write_text(metrics.read_text() + '{"event": "epoch", "ep')  # torn in place: same folder, same inode
    summary = runs.root / runs.c / "summary.json"
    summary.write_text(json.dumps({"status": "failed"}))  # rewritten in place
    (runs.root / runs.g / "config.json").unlink()
    shutil.rmtree(runs.root / runs.a)
    fake_run(runs.store, name="newcomer")
    out = listing(runs.root)
    rows = {line.split()[0]: line for line in out.splitlines() if line.strip()[:8].isdigit()}
    assert "completed (damaged)" in rows[runs.b] and "failed" in rows[runs.c] and "damaged" in rows[runs.g]
    assert runs.a not in rows and any("newcomer" in r for r in rows)
    assert out == listing(runs.root)  # and the next listing, from the index, says the same


def test_index_views_match_the_run_folders(tmp_path):
    """What a listing shows of a run is the same from the index as read from its folder."""
    store = RunStore(tmp_path)
    fake_run(store, sigma=0.9)
    torn = fake_run(store, status=None)
    torn.file("metrics.jsonl").write_text(torn.file("metrics.jsonl").read_text() + "{oops\n")
    gone = fake_run(store)
    gone.file("config.json").unlink()
    live = fake_run(store, status=None)
    live.mark_running()  # this test process trains it
    dead = fake_run(store, status="stopped")
    dead.file("running.json").write_text(json.dumps({"pid": 2 ** 22 + 7, "host": os.uname().nodename}))
    index = RunIndex(store)
    index.views()
    for view in RunIndex(store).views():  # the second index reads every row from the file
        truth = RunView(view.run, with_analysis=False)
        assert isinstance(view, IndexedView)
        for attr in ("status", "status_label", "settings", "settings_label", "epochs_done", "epochs_label",
                     "elapsed_s", "warnings"):
            assert getattr(view, attr) == getattr(truth, attr), (view.run.id, attr)
        assert view.last == {k: v for k, v in truth.last.items() if k in view.last}
        assert view.changes == truth.changes and view.config == truth.config  # read from the folder when asked
    statuses = {v.run.id: v.status for v in RunIndex(store).views()}
    assert statuses[live.id] == "running" and statuses[dead.id] == "stopped"
    live.clear_running()
    assert {v.run.id: v.status for v in RunIndex(store).views()}[live.id] == "interrupted"


def test_unwritable_index_is_done_without(runs, monkeypatch):
    from glo.store import indexdb

    first = listing(runs.root)
    monkeypatch.setattr(indexdb, "INDEX", "no-such-folder/.index.sqlite")
    monkeypatch.setattr(indexdb.IndexFile, "__init__", lambda self, root: (
        setattr(self, "path", root / "no-such-folder" / ".index.sqlite"), setattr(self, "conn", None),
        setattr(self, "broken", False))[0])
    assert listing(runs.root) == first


@pytest.mark.slow
def test_two_writers_and_a_reader_at_once(tmp_path):
    """Two processes make runs while a third lists them over and over: every listing works, the
    last one has every run, and the index file is whole."""
    make = ("import sys, time\nfrom conftest import small\nfrom test_many_runs import fake_run\n"
            "from glo.store.runs import RunStore\nstore = RunStore(sys.argv[1])\n"
            "for i in range(40):\n    fake_run(store, name=f'{sys.argv[2]}{i}')\n    time.sleep(0.01)\n")
    lister = ("import sys\nfrom glo.store.index import RunIndex\nfrom glo.store.runs import RunStore\n"
              "for _ in range(15):\n    index = RunIndex(RunStore(sys.argv[1]))\n"
              "    index.views()\n    index.close()\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "tests"), str(ROOT)])}
    procs = [subprocess.Popen([sys.executable, "-c", make, str(tmp_path), name], env=env) for name in ("x", "y")]
    procs.append(subprocess.Popen([sys.executable, "-c", lister, str(tmp_path)], env=env))
    assert [p.wait(timeout=240) for p in procs] == [0, 0, 0]
    assert len(listed_ids(listing(tmp_path))) == 80
    with sqlite3.connect(tmp_path / INDEX) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT count(*) FROM runs").fetchone()[0] == 80


# --- the console's saved runs ---

async def open_runs(app, pilot, rows: int = 8):
    """Press r in APP and wait for the saved-runs screen with ROWS rows; its table."""
    from tui.screens.runs import RunsScreen

    await pilot.press("r")
    await wait_for(pilot, lambda: isinstance(app.screen, RunsScreen), what="runs screen")
    table = app.screen.table
    await wait_for(pilot, lambda: table.row_count == rows, what="the runs")
    return table


def _rows(table) -> dict[str, str]:
    return {table.get_row_at(i)[1]: str(table.get_row_at(i)[2]) for i in range(table.row_count)}


@sync
async def test_console_view_follows_runs_that_come_go_or_break(runs, split):
    from tui.app import create_app

    app = create_app(runs.root, config=small(), load=lambda cfg: split, analyzer=None)
    async with app.run_test(size=(120, 40)) as pilot:
        table = await open_runs(app, pilot)
        newcomer = fake_run(runs.store, name="newcomer")
        shutil.rmtree(runs.root / runs.a)
        metrics = runs.root / runs.b / "metrics.jsonl"
        metrics.write_text(metrics.read_text() + '{"event": "epoch", "ep')
        await wait_for(pilot, lambda: newcomer.id in _rows(table) and runs.a not in _rows(table)
                       and _rows(table).get(runs.b) == "completed (damaged)", timeout=15, what="the next refresh")
        assert table.row_count == 8 and table.get_row_at(0)[1] == max(_rows(table))  # newest (greatest id) first


@sync
async def test_console_filter_and_sort(runs, split):
    from tui.app import create_app

    app = create_app(runs.root, config=small(), load=lambda cfg: split, analyzer=None)
    async with app.run_test(size=(100, 30)) as pilot:
        table = await open_runs(app, pilot)
        screen = app.screen
        await pilot.press("slash", *"sigma=0.3 status=completed", "enter")
        await wait_for(pilot, lambda: table.row_count == 2, what="the filter")
        assert set(_rows(table)) == {runs.b, runs.c} and table.has_focus
        await pilot.press("s")  # sorted by recon, best first
        await wait_for(pilot, lambda: table.get_row_at(0)[1] == runs.b, what="sorted")
        await pilot.press("S")
        await wait_for(pilot, lambda: table.get_row_at(0)[1] == runs.c, what="the other way round")
        assert "sorted by recon" in str(screen.query_one("#runs-info").render())
        await pilot.press("slash", *"sigmaa=1", "enter")  # cannot be read: said, and the filter stays
        await pilot.pause(0.3)
        assert "unknown key" in str(screen.query_one("#runs-info").render()) and table.row_count == 2
        await pilot.press("escape")  # closes the field, not the screen
        assert app.screen is screen and table.has_focus
        await pilot.press("slash", *["backspace"] * 40, "enter")
        await wait_for(pilot, lambda: table.row_count == 8, what="no filter")


@sync
async def test_console_deletes_a_filtered_set(runs, split):
    from tui.app import create_app
    from tui.screens.confirm import ConfirmScreen

    app = create_app(runs.root, config=small(), load=lambda cfg: split, analyzer=None)
    async with app.run_test(size=(100, 30)) as pilot:
        table = await open_runs(app, pilot)
        await pilot.press("slash", *"sigma=2", "enter")
        await wait_for(pilot, lambda: table.row_count == 3, what="the filter")
        await pilot.press("a", "d")  # mark every run shown, then delete the marked ones
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the question")
        await pilot.press("y")
        await wait_for(pilot, lambda: table.row_count == 0, what="the deletion")
        assert sorted(p.name for p in runs.root.iterdir() if p.is_dir()) == sorted(
            [runs.a, runs.b, runs.c, runs.e, runs.g])  # d, f and h (sigma 2) are gone


@sync
async def test_console_shows_a_big_folder_as_it_reads_it(tmp_path, split):
    """More runs than one read takes: rows come in reads of READ_LIMIT, keys answered meanwhile."""
    from tui.app import create_app
    from tui.runsfolder import READ_LIMIT
    from tui.screens.runs import RunsScreen

    store = RunStore(tmp_path)
    src = fake_run(store, name="src")
    for i in range(2 * READ_LIMIT + 50):
        shutil.copytree(src.path, tmp_path / f"20200101-000000-copy{i:04d}")
    total = 2 * READ_LIMIT + 51
    app = create_app(tmp_path, config=small(), load=lambda cfg: split, analyzer=None)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, RunsScreen), what="runs screen")
        table = app.screen.table
        await wait_for(pilot, lambda: 0 < table.row_count < total, timeout=30, what="the first rows")
        await pilot.press("down", "down")
        assert table.cursor_row == 2
        await wait_for(pilot, lambda: table.row_count == total, timeout=60, what="every run")
        started = time.monotonic()
        await pilot.press("q")
    assert time.monotonic() - started < 5
