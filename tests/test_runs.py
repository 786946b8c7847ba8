import json
import threading

import pytest

from glo.config import RunConfig
from glo.errors import RunStoreError
from glo.store.runs import RunStore


def test_create_write_read_list(tmp_path):
    store = RunStore(tmp_path / "runs")
    cfg = RunConfig(sigma=0.5, name="my-run")
    run = store.create(cfg)
    assert run.path.parent == tmp_path / "runs" and "my-run" in run.id
    run.write_config(cfg)
    run.append_metrics({"event": "epoch", "epoch": 1, "recon_loss": 0.2, "step": 3})
    run.append_metrics({"event": "change", "step": 4, "param": "sigma", "old": 0.5, "new": 1.0})
    run.append_metrics({"event": "epoch", "epoch": 2, "recon_loss": 0.1, "step": 6})
    assert run.read_config().sigma == 0.5
    assert [r["epoch"] for r in run.epochs()] == [1, 2]
    assert [r.id for r in store.runs()] == [run.id]
    assert run.status() == "interrupted"  # no summary and nobody training it
    run.mark_running()
    assert run.status() == "running"
    run.write_summary({"status": "completed"})
    run.clear_running()
    assert run.status() == "completed"


def test_ids_unique_under_concurrent_creation(tmp_path):
    store = RunStore(tmp_path)
    ids, errors = [], []

    def make():
        try:
            ids.append(store.create(RunConfig()).id)
        except Exception as exc:  # noqa: BLE001  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=make) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(set(ids)) == 8


def test_truncated_last_line_is_tolerated(tmp_path):
    store = RunStore(tmp_path)
    run = store.create(RunConfig())
    run.write_config(RunConfig())
    run.append_metrics({"event": "epoch", "epoch": 1, "recon_loss": 0.2})
    with open(run.file("metrics.jsonl"), "a") as fh:
        fh.write('{"event": "epoch", "epo')
    assert [r["epoch"] for r in run.epochs()] == [1]
    assert run.warnings


def test_truncate_metrics_for_resume(tmp_path):
    run = RunStore(tmp_path).create(RunConfig())
    for e in (1, 2, 3):
        run.append_metrics({"event": "epoch", "epoch": e, "step": e * 10})
    run.append_metrics({"event": "change", "step": 15, "param": "sigma", "old": 0.3, "new": 1})
    run.append_metrics({"event": "change", "step": 25, "param": "sigma", "old": 1, "new": 2})
    run.truncate_metrics(epoch=2, step=20)
    recs = run.read_metrics()
    assert [r.get("epoch") for r in recs if r["event"] == "epoch"] == [1, 2]
    assert [r["step"] for r in recs if r["event"] == "change"] == [15]


def test_get_by_prefix_latest_and_bad_ids(tmp_path):
    store = RunStore(tmp_path)
    a = store.create(RunConfig(name="alpha"))
    a.write_config(RunConfig(name="alpha"))
    assert store.get(a.id).id == a.id
    assert store.get(a.id[:-2]).id == a.id
    assert store.get("latest").id == a.id
    for bad in ("../etc", "a/b", "..", "", "x/../../y"):
        with pytest.raises(RunStoreError):
            store.get(bad)
    with pytest.raises(RunStoreError, match="no run"):
        store.get("nope")


def test_foreign_folders_and_damaged_runs_do_not_break_listing(tmp_path):
    store = RunStore(tmp_path)
    (tmp_path / "not-a-run").mkdir()
    (tmp_path / "stray.txt").write_text("hello")
    damaged = store.create(RunConfig())
    damaged.file("config.json").write_text("{not json")
    damaged.append_metrics({"event": "epoch", "epoch": 1})
    runs = store.runs()
    assert [r.id for r in runs] == [damaged.id]
    with pytest.raises(RunStoreError, match="damaged"):
        runs[0].read_config()


def test_delete(tmp_path):
    store = RunStore(tmp_path)
    run = store.create(RunConfig())
    run.write_config(RunConfig())
    store.delete(run.id)
    assert not run.path.exists()


def test_unwritable_runs_folder(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(RunStoreError, match="cannot create runs folder"):
        RunStore(blocker / "runs").create(RunConfig())


def test_atomic_json_leaves_no_temp_files(tmp_path):
    run = RunStore(tmp_path).create(RunConfig())
    run.write_summary({"status": "completed"})
    assert json.loads(run.file("summary.json").read_text()) == {"status": "completed"}
    assert sorted(p.name for p in run.path.iterdir()) == ["config.json", "summary.json"]


def test_a_new_run_folder_holds_its_settings_from_the_start(tmp_path):
    """A run killed at any moment after its folder exists can be started over with its settings."""
    cfg = RunConfig(sigma=0.7, epochs=3, name="early")
    run = RunStore(tmp_path).create(cfg)
    assert run.read_config() == cfg and run.status() == "interrupted"
