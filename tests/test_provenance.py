"""Every run records what it ran with and where (environment.jsonl, ``glo.store.provenance``): each start
and resume appends a record; a resume on another machine says so; ``glo runs show`` shows the
record and ``glo compare`` flags what differs between runs; runs without the file read as before."""

from __future__ import annotations

import hashlib
import json
import re

import pytest
import torch

from conftest import stopped_run, sync, synthetic_split, wait_for
from glo.cli.app import main
from glo.errors import RunStoreError
from glo.events import Step
from glo.store import provenance
from glo.store.runs import RunStore
from glo.store.runview import RunView
from glo.train.controls import Controls
from glo.train.loop import train
from glo.train.prepare import prepare

FIELDS = {"event", "time", "epoch", "step", "glo", "git_commit", "python", "torch", "torchvision", "numpy",
          "platform", "cpu", "device", "gpu", "threads", "host", "data"}


def records(run) -> list[dict]:
    return [json.loads(line) for line in (run.path / provenance.ENVIRONMENT).read_text().splitlines()]


def trained(root, cfg, split, stop_at: int | None = None):
    """A run of CFG on SPLIT, trained by the core (stopped after step STOP_AT when given)."""
    run = RunStore(root).create(cfg)
    controls = Controls()
    for ev in train(cfg, run, controls, split):
        if stop_at is not None and isinstance(ev, Step) and ev.step == stop_at:
            controls.stop()
    return run


def elsewhere(monkeypatch, **fields):
    """Fake another machine: the collection function reports FIELDS over what this one has."""
    real = provenance.environment
    monkeypatch.setattr(provenance, "environment", lambda device=None: {**real(device), **fields})


def plain(text: str) -> str:
    return " ".join(text.split())


def test_a_run_records_every_field(tmp_path, tiny_cfg, split):
    run = trained(tmp_path, tiny_cfg, split)
    (rec,) = records(run)
    assert set(rec) == FIELDS
    assert (rec["event"], rec["epoch"], rec["step"]) == ("start", 0, 0) and re.match(r"\d{4}-\d\d-\d\dT", rec["time"])
    assert rec["torch"] == torch.__version__ and rec["numpy"] and rec["python"] and rec["platform"] and rec["host"]
    assert rec["device"] == "cpu" and rec["gpu"] is None and rec["threads"] == torch.get_num_threads()
    assert rec["glo"] and (rec["git_commit"] is None or re.fullmatch(r"[0-9a-f]{40}", rec["git_commit"]))
    sha = hashlib.sha256(split.images.tobytes() + split.labels.tobytes()).hexdigest()
    assert rec["data"] == {"sha256": sha, "name": "synthetic", "n_images": 40, "images_shape": [40, 28, 28],
                           "images_dtype": "uint8", "labels_shape": [40], "labels_dtype": "int64"}
    view = RunView(run)
    assert view.environment == [rec] and not view.warnings


def test_a_resume_on_another_machine_appends_a_record_and_says_so(tmp_path, tiny_cfg, split, monkeypatch):
    run = trained(tmp_path, tiny_cfg, split, stop_at=3)
    here = records(run)[0]
    store = RunStore(tmp_path)
    assert prepare(None, store, run.id, load=lambda cfg: split).note is None  # same machine: nothing to say
    elsewhere(monkeypatch, torch="2.4.1", host="far-away", threads=7)
    prepared = prepare(None, store, run.id, load=lambda cfg: split)
    assert prepared.note == (f"note: run {run.id} last ran with torch {here['torch']} on host {here['host']}; "
                             f"now torch 2.4.1 on host far-away")  # never the time, nor threads
    list(train(prepared.cfg, prepared.run, Controls(), prepared.split, resume=prepared.resume))
    first, second = records(run)
    assert first == here
    assert second["event"] == "resume" and second["step"] == 3 and second["epoch"] == 0
    assert (second["torch"], second["host"], second["threads"]) == ("2.4.1", "far-away", 7)
    shown = RunView(run)
    assert "1 start, 1 resume" in provenance.history_label(shown.environment)
    assert "far-away" in provenance.places_label(shown.environment)


def test_glo_run_resume_elsewhere_prints_one_line_before_training(tmp_path, monkeypatch, capsys):
    run = stopped_run(tmp_path)
    elsewhere(monkeypatch, torchvision="0.1.0", host="other-box")
    code = main(["run", "--headless", "--resume", run.id, "--runs-dir", str(tmp_path)])
    out = plain(capsys.readouterr().out)
    assert code == 0
    assert f"note: run {run.id} last ran with torchvision" in out and "on host other-box" in out
    assert out.index("note: run") < out.index("epoch 3/3")
    assert [r["event"] for r in records(run)] == ["start", "resume"]
    code = main(["runs", "show", run.id, "--runs-dir", str(tmp_path), "--ascii"])
    shown = plain(capsys.readouterr().out)
    assert "1 start, 1 resume" in shown and "where each ran" in shown and "other-box" in shown


def test_compare_flags_a_data_fingerprint_that_differs(tmp_path, capsys):
    for n in ("40", "60"):
        assert main(["run", "--headless", "--epochs", "1", "--n-images", n, "--batch-size", "20", "--device", "cpu",
                     "--runs-dir", str(tmp_path)]) == 0
    ids = RunStore(tmp_path).ids()
    capsys.readouterr()
    assert main(["compare", *ids, "--no-analysis", "--runs-dir", str(tmp_path)]) == 0
    out = plain(capsys.readouterr().out)
    assert "differs between runs: data (2 fingerprints: n_images differs)" in out
    assert "torch" not in out.split("differs between runs:")[1].split("recon_loss per epoch")[0]


def test_runs_without_a_record_read_as_before(tmp_path, tiny_cfg, split, capsys):
    old = trained(tmp_path, tiny_cfg, split)
    (old.path / provenance.ENVIRONMENT).unlink()  # a run made before glo recorded its environment
    new = trained(tmp_path, tiny_cfg, synthetic_split(6))
    view = RunView(old)
    assert view.environment == [] and not view.warnings and view.status == "completed"
    assert main(["runs", "show", old.id, "--runs-dir", str(tmp_path), "--ascii"]) == 0
    assert "not recorded" in plain(capsys.readouterr().out)
    assert main(["compare", old.id, new.id, "--no-analysis", "--runs-dir", str(tmp_path)]) == 0
    out = plain(capsys.readouterr().out)
    assert "(1 run has no environment record)" in out and "differs between runs" not in out
    # a torn line (a writer killed mid-append) is skipped and noted, never a crash
    with open(new.path / provenance.ENVIRONMENT, "a") as fh:
        fh.write('{"event": "resu')
    damaged = RunView(new)
    assert len(damaged.environment) == 1 and damaged.warnings == [f"{provenance.ENVIRONMENT} line 2 is damaged"]


def test_a_record_that_cannot_be_written_stops_the_run_before_training(tmp_path, tiny_cfg, split):
    run = RunStore(tmp_path).create(tiny_cfg)
    (run.path / provenance.ENVIRONMENT).mkdir()  # cannot be appended to
    events = train(tiny_cfg, run, Controls(), split)
    with pytest.raises(RunStoreError, match="cannot record the environment"):
        next(events)
    assert not run.has_checkpoint() and not (run.path / "metrics.jsonl").exists()


def test_runs_show_lists_thread_changes(tmp_path, tiny_cfg, split, capsys):
    run = trained(tmp_path, tiny_cfg, split)
    run.append_metrics({"event": "threads", "step": 5, "epoch": 1, "old": 2, "new": 4})  # the thread policy's
    assert main(["runs", "show", run.id, "--runs-dir", str(tmp_path), "--ascii"]) == 0
    assert "thread changes 2->4 @1 (step 5)" in plain(capsys.readouterr().out)


@sync
async def test_the_console_comparison_flags_what_differs(tmp_path, tiny_cfg, split):
    from tui.app import create_app
    from tui.screens.compare import CompareScreen

    runs = [trained(tmp_path, tiny_cfg, split), trained(tmp_path, tiny_cfg, synthetic_split(6))]
    app = create_app(tmp_path, config=tiny_cfg, load=lambda cfg: split, analyzer=None)
    async with app.run_test(size=(120, 40)) as pilot:
        app.push_screen(CompareScreen(runs))
        await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen) and app.screen.read is not None,
                       what="comparison read")
        await pilot.pause()
        shot = app.export_screenshot().replace("&#160;", " ")
        assert "differs between runs: data (2 fingerprints: n_images differs)" in shot


@pytest.mark.parametrize("text", [
    '{"event": "start", "epoch": 0}\n{"event": "resume", "epoch": 3}\n',
    '{"event": "start", "epoch": 0}\n{"event": "resu',  # killed mid-line
    '{"event": "start", "ep{"event": "resume", "epoch": 3}\n',  # torn, then a resume appended to it
    '{"ev{"event": "resume", "epoch": 3}\n',
    '\n{"event": "start", "note": "{\\"event\\": 1}"}\n\n',  # the head inside a string is escaped
    '{"event": "start"}\n["not", "a", "record"]\n{"host": "x"}\n',
])
def test_listing_warnings_of_environment_records_are_those_a_full_read_gives(tmp_path, text):
    (tmp_path / provenance.ENVIRONMENT).write_text(text)
    assert provenance.record_warnings(tmp_path) == provenance.read_records(tmp_path)[1]
