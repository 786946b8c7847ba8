"""Every CLI command through typer's CliRunner, and user mistakes through the real entry point."""

import json

import pytest
from typer.testing import CliRunner

from glo.cli.app import app, main

runner = CliRunner()


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory):
    """Two tiny real runs on the bundled data, shared by the read-only tests below."""
    root = tmp_path_factory.mktemp("runs")
    for sigma in ("0.3", "2"):
        result = runner.invoke(app, ["run", "--headless", "--epochs", "2", "--n-images", "60", "--batch-size", "16",
                                     "--sigma", sigma, "--runs-dir", str(root), "--device", "cpu"])
        assert result.exit_code == 0, result.output
        assert "run folder:" in result.output and "epoch 2/2" in result.output
    return root


def test_run_leaves_complete_folder(runs_dir):
    folders = sorted(p for p in runs_dir.iterdir() if p.is_dir())
    assert len(folders) == 2
    names = {p.name for p in folders[0].iterdir()}
    assert {"config.json", "metrics.jsonl", "checkpoint.pt", "summary.json", "recon.png", "images.npz"} <= names
    assert "running.json" not in names
    summary = json.loads((folders[0] / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["epochs_done"] == 2
    epochs = [json.loads(x) for x in (folders[0] / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in epochs] == [1, 2]


def test_runs_list(runs_dir):
    result = runner.invoke(app, ["runs", "list", "--runs-dir", str(runs_dir)], env={"COLUMNS": "160"})
    assert result.exit_code == 0
    assert result.output.count("completed") == 2 and "sigma=2" in result.output


def test_runs_show_renders_images(runs_dir):
    run_id = sorted(p.name for p in runs_dir.iterdir() if p.is_dir())[0]  # not the index (runs list made it)
    result = runner.invoke(app, ["runs", "show", run_id, "--runs-dir", str(runs_dir)])
    assert result.exit_code == 0, result.output
    assert "reconstructions" in result.output and "recon_loss" in result.output
    assert "\u2580" in result.output or "@" in result.output or "#" in result.output
    ascii_out = runner.invoke(app, ["runs", "show", "latest", "--ascii", "--runs-dir", str(runs_dir)]).output
    assert "\u2580" not in ascii_out and any(ch in ascii_out for ch in "@%#*+=")


def test_compare(runs_dir):
    ids = sorted(p.name for p in runs_dir.iterdir() if p.is_dir())
    result = runner.invoke(app, ["compare", *ids, "--runs-dir", str(runs_dir), "--width", "80", "--log"])
    assert result.exit_code == 0, result.output
    assert "sigma" in result.output and "recon_loss per epoch" in result.output
    twice = runner.invoke(app, ["compare", ids[0], ids[0], "--runs-dir", str(runs_dir), "--no-analysis"])
    assert twice.exit_code == 0 and twice.output.split("recon_loss per epoch")[0].count(ids[0][16:]) == 1


def test_delete(tmp_path):
    assert runner.invoke(app, ["run", "--headless", "--epochs", "1", "--n-images", "20", "--runs-dir",
                               str(tmp_path), "--name", "gone"]).exit_code == 0
    run_id = next(tmp_path.iterdir()).name
    kept = runner.invoke(app, ["runs", "delete", run_id, "--runs-dir", str(tmp_path)], input="n\n")
    assert kept.exit_code == 0 and "for good? [y/N]" in kept.output and (tmp_path / run_id).exists()
    result = runner.invoke(app, ["runs", "delete", run_id, "--runs-dir", str(tmp_path)], input="y\n")
    assert result.exit_code == 0 and not (tmp_path / run_id).exists()
    assert runner.invoke(app, ["run", "--headless", "--epochs", "1", "--n-images", "20", "--runs-dir",
                               str(tmp_path)]).exit_code == 0
    assert main(["runs", "delete", "latest", "--runs-dir", str(tmp_path)]) == 2  # no answer: nothing deleted
    assert len(list(tmp_path.iterdir())) == 1
    assert main(["runs", "delete", "latest", "--yes", "--runs-dir", str(tmp_path)]) == 0
    assert list(tmp_path.iterdir()) == []


def test_resume_a_stopped_run(tmp_path):
    from conftest import stopped_run

    run = stopped_run(tmp_path, epochs=2)
    result = runner.invoke(app, ["run", "--headless", "--resume", run.id, "--runs-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "resuming" in result.output
    assert json.loads(run.file("summary.json").read_text())["status"] == "completed"
    assert main(["run", "--headless", "--resume", run.id, "--runs-dir", str(tmp_path)]) == 2  # completed now


BAD = [
    (["run", "--headless", "--sigma", "-1"], "sigma must be >= 0"),
    (["run", "--headless", "--sigma", "abc"], "--sigma"),
    (["run", "--headless", "--decay", "-0.1"], "decay must be >= 0"),
    (["run", "--headless", "--epochs", "0"], "epochs must be >= 1"),
    (["run", "--headless", "--batch-size", "0"], "batch_size must be >= 1"),
    (["run", "--headless", "--resume", "x", "--sigma", "2"], "drop --sigma"),
    (["run", "--headless", "--n-images", "999999"], "n_images must be at most"),
    (["run", "--headless", "--loss", "l3"], "loss must be one of"),
    (["run", "--headless", "--dataset", "cifar"], "dataset must be one of"),
    (["run", "--headless", "--dataset", "mnist", "--data-root", "/nonexistent/x"], "does not exist"),
    (["run", "--headless", "--dataset", "mnist"], "needs --data-root"),
    (["run", "--headless", "--name", "../evil"], "name must be"),
    (["run", "--headless", "--device", "tpu"], "device must be one of"),
    (["run", "--headless", "--resume", "no-such-run"], "no run"),
    (["runs", "show", "../../etc"], "invalid run id"),
    (["compare", "a", "--metric", "bogus"], "metric must be one of"),
    (["compare", "a", "--csv", "/nonexistent/dir/t.csv"], "folder /nonexistent/dir does not exist"),
    (["compare", "a", "--png", "."], "it is a folder"),
    (["compare", "a", "--csv", "."], "e.g. compare.csv"),
    (["compare", "a", "--png", "out.jpg"], "ending in .png"),
    (["nonsense"], "No such command"),
    (["serve", "--host", "0.0.0.0"], "add --allow-remote"),
    (["serve", "--host", "192.0.2.1"], "add --allow-remote"),
    (["serve", "--port", "0"], "--port"),
    (["serve", "--n-images", "5"], "n_images must be at least 10"),
]


@pytest.mark.parametrize("argv,message", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_input_is_one_line_exit_2(argv, message, tmp_path, capsys):
    code = main([*argv, "--runs-dir", str(tmp_path / "runs")] if argv[0] != "nonsense" else argv)
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_help_is_fast_to_import():
    assert main(["--help"]) == 0


def test_live_changes_are_shown(tmp_path):
    from glo.config import RunConfig
    from glo.store.runs import RunStore

    run = RunStore(tmp_path).create(RunConfig())
    run.write_config(RunConfig())
    run.append_metrics({"event": "change", "step": 5, "epoch": 2, "param": "sigma", "old": 0.3, "new": 0.9})
    run.append_metrics({"event": "epoch", "epoch": 2, "step": 6, "recon_loss": 0.1, "train_loss": 0.2})
    out = runner.invoke(app, ["runs", "show", run.id, "--runs-dir", str(tmp_path)]).output
    assert "sigma 0.3->0.9 @2" in out
    out = runner.invoke(app, ["compare", run.id, run.id, "--runs-dir", str(tmp_path)], env={"COLUMNS": "200"}).output
    assert "live changes" in out


def test_unwritable_runs_folder_is_refused(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    code = main(["run", "--headless", "--epochs", "1", "--runs-dir", str(blocker / "runs")])
    err = capsys.readouterr().err
    assert code == 2 and "cannot create runs folder" in err and err.count("\n") == 1
    for argv in (["runs", "list"], ["compare", "x"], ["sweeps", "list"], ["run", "--headless"]):
        code = main([*argv, "--runs-dir", str(blocker)])
        err = capsys.readouterr().err
        assert code == 2 and f"runs folder {blocker} is a file, not a folder" in err and err.count("\n") == 1


@pytest.mark.parametrize("argv,message", [(["--sigma", "-1"], "sigma must be >= 0"),
                                          (["--sigma", "abc"], "'abc' is not a valid float"),
                                          (["--runs-dir", "/dev/null"], "is a file, not a folder"),
                                          (["--workers", "-1"], "--workers must be 0 (one per CPU) or more"),
                                          (["--gpus-per-run", "1"], "only with --ray"),
                                          (["--seed", str(2**64)], "seed must be <= 9223372036854775807")])
def test_console_bad_input_is_one_line_exit_2(argv, message, capsys):
    from glo.cli.tui_cmd import main as console_main

    code = console_main(argv)
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("glo-tui: error: ") and message in err and err.count("\n") == 1
    assert "usage" not in err.lower()


@pytest.mark.parametrize("main_of", ["glo.cli.app", "glo.cli.tui_cmd"])
def test_version(main_of, capsys):
    import importlib

    from glo import __version__

    assert importlib.import_module(main_of).main(["--version"]) == 0
    assert capsys.readouterr().out == f"glo {__version__}\n"


@pytest.mark.parametrize("device", ["cuda", "mps"])
def test_unavailable_device_is_refused(device, tmp_path, capsys):
    import torch

    available = torch.cuda.is_available() if device == "cuda" else torch.backends.mps.is_available()
    if available:
        pytest.skip(f"{device} is available here")
    code = main(["run", "--headless", "--device", device, "--runs-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and f"device {device} is not available" in err
    assert not any(tmp_path.iterdir())


def test_run_without_a_terminal_trains_headless(tmp_path):
    result = runner.invoke(app, ["run", "--epochs", "1", "--n-images", "20", "--runs-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "training headless" in result.output and "epoch 1/1" in result.output


def test_a_run_can_be_named_by_its_name(tmp_path):
    assert runner.invoke(app, ["run", "--headless", "--epochs", "1", "--n-images", "20", "--name", "baseline",
                               "--runs-dir", str(tmp_path)]).exit_code == 0
    result = runner.invoke(app, ["runs", "show", "baseline", "--runs-dir", str(tmp_path)])
    assert result.exit_code == 0 and "-baseline" in result.output


def _busy_port(host: str):
    import socket

    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.bind((host, 0))
    sock.listen()
    return sock


@pytest.mark.parametrize("argv", [[], ["--host", "0.0.0.0", "--allow-remote"]], ids=["loopback", "allow-remote"])
def test_serve_refuses_a_port_in_use(argv, capsys):
    with _busy_port(argv[1] if argv else "127.0.0.1") as sock:
        code = main(["serve", *argv, "--port", str(sock.getsockname()[1])])
    err = capsys.readouterr().err
    assert code == 2 and "is already in use" in err and err.count("\n") == 1


def test_serve_warns_before_listening_beyond_loopback(tmp_path, monkeypatch, capsys):
    """The URL, SSH line and console command are checked against the real server in
    tests/test_browser.py; listening on every interface is not something a test should do, so here
    the server is replaced once the checks and messages are done."""
    import tui.serve

    served = {}
    monkeypatch.setattr(tui.serve, "serve_console", lambda command, host, port, remote, on_ready: (
        served.update(host=host, remote=remote), on_ready()))
    with _busy_port("127.0.0.1") as sock:
        port = sock.getsockname()[1]
    assert main(["serve", "--host", "0.0.0.0", "--allow-remote", "--port", str(port), "--runs-dir", str(tmp_path)]) == 0
    out = capsys.readouterr()
    assert served == {"host": "0.0.0.0", "remote": True}
    assert "warning: anyone who can reach port" in out.err and "delete saved runs" in out.err
