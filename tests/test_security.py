"""Checkpoints never run code, run folders never lead outside, nothing touches the network,
and a full disk is reported, not crashed on."""

from __future__ import annotations

import json
import os
import socket

import pytest
import torch
from typer.testing import CliRunner

from conftest import stopped_run
from glo.cli.app import app, main
from glo.config import RunConfig
from glo.errors import RunStoreError
from glo.host import faults
from glo.model import checkpoint
from glo.store.runs import RunStore

runner = CliRunner()


class Payload:
    """Unpickling this would create a file: the proof that code from a checkpoint ran."""

    def __init__(self, target: str) -> None:
        self.target = target

    def __reduce__(self):
        return (open, (self.target, "w"))


def test_checkpoint_with_pickle_payload_is_refused_and_never_executed(tmp_path, capsys):
    run = stopped_run(tmp_path)
    marker = tmp_path / "pwned"
    torch.save({"format": checkpoint.FORMAT, "model": Payload(str(marker))}, run.file("checkpoint.pt"))
    with pytest.raises(RunStoreError, match="not a valid glo checkpoint"):
        checkpoint.load(run.file("checkpoint.pt"))
    assert main(["run", "--headless", "--resume", run.id, "--runs-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "not a valid glo checkpoint" in err and err.count("\n") == 1
    assert not marker.exists()


@pytest.mark.parametrize("content", [b"", b"not a checkpoint at all", b"PK\x03\x04garbage"])
def test_garbage_checkpoint_is_refused_clearly(tmp_path, content):
    path = tmp_path / "checkpoint.pt"
    path.write_bytes(content)
    with pytest.raises(RunStoreError, match=r"not a valid glo checkpoint|not a glo checkpoint"):
        checkpoint.load(path)


def test_foreign_torch_file_is_refused(tmp_path):
    path = tmp_path / "checkpoint.pt"
    torch.save({"weights": torch.zeros(3)}, path)
    with pytest.raises(RunStoreError, match="not a glo checkpoint"):
        checkpoint.load(path)


def test_symlinked_files_in_a_run_folder_are_not_followed(tmp_path):
    outside = tmp_path / "outside.jsonl"
    outside.write_text(json.dumps({"event": "epoch", "epoch": 1, "recon_loss": 0.5}) + "\n")
    store = RunStore(tmp_path / "runs")
    run = store.create(RunConfig())
    run.write_config(RunConfig())
    os.symlink(outside, run.file("metrics.jsonl"))
    assert run.read_metrics() == [] and run.warnings
    with pytest.raises(OSError):
        run.append_metrics({"event": "epoch", "epoch": 2})
    assert outside.read_text().count("\n") == 1  # untouched


def test_symlinked_run_folder_is_ignored(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    RunStore(elsewhere).create(RunConfig()).write_config(RunConfig())
    root = tmp_path / "runs"
    root.mkdir()
    os.symlink(next(elsewhere.iterdir()), root / "20260101-000000-link")
    assert RunStore(root).runs() == []
    with pytest.raises(RunStoreError):
        RunStore(root).get("20260101-000000-link")


def test_nothing_touches_the_network(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("glo opened a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    root = str(tmp_path)
    args = ["run", "--headless", "--epochs", "1", "--n-images", "20", "--runs-dir", root]
    assert runner.invoke(app, args).exit_code == 0
    for argv in (["runs", "list"], ["runs", "show", "latest"], ["compare", "latest", "latest"]):
        result = runner.invoke(app, [*argv, "--runs-dir", root])
        assert result.exit_code == 0, result.output


def test_disk_full_is_a_clear_failure_with_no_half_written_file(tmp_path, monkeypatch):
    monkeypatch.setattr(faults, "_SPEC", "write-checkpoint.pt:2:enospc")
    monkeypatch.setattr(faults, "enabled", True)
    monkeypatch.setattr(faults, "_counts", {})
    result = runner.invoke(app, ["run", "--headless", "--epochs", "3", "--n-images", "20", "--runs-dir",
                                 str(tmp_path)])
    assert result.exit_code == 1
    assert "No space left on device" in result.output and "Traceback" not in result.output
    run = RunStore(tmp_path).runs()[0]
    assert run.status() == "failed"
    assert not [p for p in run.path.iterdir() if p.name.endswith(".tmp")]
    assert len(run.epochs()) == 2  # the epoch whose checkpoint failed is on record, nothing after it
