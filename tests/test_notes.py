"""Tags and notes: glo runs tag / note, notes.json written atomically, indexed, filtered with
--where tag= / note=, shown by runs list, runs show and comparisons, kept by --resume and sweeps."""

from __future__ import annotations

import json
import os

import pytest

from conftest import make_runs, small, stopped_run
from glo.cli.app import main
from glo.store import notes, query
from glo.store.index import RunIndex
from glo.store.runs import RunStore
from glo.train.loop import train


@pytest.fixture
def runs(tmp_path, split):
    return tmp_path, make_runs(tmp_path, split)


def cli(root, *argv) -> int:
    return main([*argv, "--runs-dir", str(root)])


def test_tag_note_list_show_and_filter(runs, capsys):
    root, (a, b, c) = runs
    assert cli(root, "runs", "tag", a, "best", "fig2") == 0
    assert cli(root, "runs", "tag", b, "fig2") == 0
    assert cli(root, "runs", "note", b, "lr too high? a typo in the loss") == 0
    assert json.loads((root / a / "notes.json").read_text()) == {"tags": ["best", "fig2"], "note": ""}
    capsys.readouterr()
    assert cli(root, "runs", "list", "--where", "tag=best") == 0
    out = capsys.readouterr().out
    assert a in out and b not in out and "#best" in out
    assert cli(root, "runs", "list", "--where", "note=*typo*") == 0
    out = capsys.readouterr().out
    assert b in out and a not in out
    assert cli(root, "runs", "list", "--where", "tag=-") == 0  # runs without tags
    out = capsys.readouterr().out
    assert c in out and a not in out and b not in out
    assert cli(root, "runs", "show", b) == 0
    out = capsys.readouterr().out
    assert "fig2" in out and "lr too high?" in out
    assert cli(root, "compare", a, b, "--no-analysis") == 0
    out = capsys.readouterr().out
    assert "#best" in out and "lr too high?" in out
    assert cli(root, "runs", "tag", a, "best", "--remove") == 0
    assert notes.read(str(root / a)) == (("fig2",), "")
    assert cli(root, "runs", "note", b, "") == 0  # clears
    assert notes.read(str(root / b)) == (("fig2",), "")


def test_index_holds_tags_and_sees_changes(runs):
    root, (a, b, _) = runs
    store = RunStore(root)
    index = RunIndex(store)
    assert [v.tags for v in index.views()] == [(), (), ()]
    index.close()
    notes.tag(str(root / a), ["best"])
    notes.set_note(str(root / b), "odd")
    index = RunIndex(store)
    views = {v.run.id: v for v in index.views()}
    index.close()
    assert views[a].tags == ("best",) and views[b].note == "odd"
    index = RunIndex(store)  # from the index file alone: the rows hold them
    rows = {v.run.id: v for v in index.views()}
    index.close()
    assert rows[a].tags == ("best",) and rows[b].note == "odd"
    chosen = query.select(list(rows.values()), query.parse("tag=best"))
    assert [v.run.id for v in chosen] == [a]
    assert [v.run.id for v in query.select(list(rows.values()), query.parse("tag!=best"))] != []


@pytest.mark.parametrize("argv, message", [
    (["tag", "RUN", "a b"], "bad tag"),
    (["tag", "RUN", ""], "cannot be empty"),
    (["tag", "RUN", "ok", "-bad"], None),  # typer reads -bad as an option: still exit 2
])
def test_bad_tags_are_refused_and_nothing_is_written(runs, capsys, argv, message):
    root, (a, _, _) = runs
    argv = [x.replace("RUN", a) for x in argv]
    assert cli(root, "runs", *argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and (message is None or message in err)
    assert not (root / a / "notes.json").exists()


def test_a_megabyte_note_is_refused(runs, capsys, monkeypatch):
    import io

    root, (a, _, _) = runs
    monkeypatch.setattr("sys.stdin", io.StringIO("x" * 1_000_000))
    assert cli(root, "runs", "note", a, "-") == 2
    err = capsys.readouterr().err
    assert "at most" in err and err.count("\n") == 1
    assert not (root / a / "notes.json").exists()
    assert not [p for p in os.listdir(root / a) if p.endswith(".tmp")]


def test_resume_keeps_tags_and_notes(tmp_path):
    run = stopped_run(tmp_path)
    notes.tag(str(run.path), ["keep"])
    notes.set_note(str(run.path), "resumed later")
    cfg = run.read_config()
    for _ in train(cfg, run, resume=True):
        pass
    assert run.status() == "completed"
    assert notes.read(str(run.path)) == (("keep",), "resumed later")


def test_a_sweep_driver_never_writes_notes(tmp_path, split):
    """A cluster point's files come back through glo.sweep.mirror, which never names notes.json."""
    from glo.sweep import mirror

    store = RunStore(tmp_path / "driver")
    run = store.create(small(epochs=1))
    notes.tag(str(run.path), ["cluster"])
    copy = mirror.seed(tmp_path / "worker", run.id, mirror.files_of(run))
    shipper = mirror.Shipper(copy)
    for _ in train(small(epochs=1), copy, split=split):
        mirror.apply(run, shipper.changes())
    assert "notes.json" not in mirror.files_of(run)
    assert notes.read(str(run.path)) == (("cluster",), "")
    assert run.status() == "completed"
