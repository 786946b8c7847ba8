"""Hostile and careless input, round two: each case of the issue, and the class it stands for.

README's promise: bad input is one line on stderr, exit 2, nothing written, nothing lost, no
traceback. Runs here are written directly (``fake_run``) unless a case needs a real one. The
filter language gets a property test (Hypothesis): any text parses or is refused in one line, and
a deletion never widens to every run without --all.
"""

from __future__ import annotations

import os
import shutil

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import small
from glo.cli.app import main
from glo.host import atomic
from glo.store import query
from glo.store.index import RunIndex
from glo.store.runs import RunStore


def fake_run(store: RunStore, recon: float = 0.1, **cfg):
    run = store.create(small(**cfg))
    run.append_metrics({"event": "epoch", "epoch": 1, "step": 5, "elapsed_s": 1.0, "train_loss": recon,
                        "recon_loss": recon, "psnr": 20.0})
    run.write_summary({"status": "completed", "epochs_done": 1})
    return run


@pytest.fixture
def three(tmp_path):
    store = RunStore(tmp_path / "runs")
    for i, sigma in enumerate((0.1, 0.3, 0.9)):
        fake_run(store, recon=0.1 * (i + 1), sigma=sigma, name=f"r{i}")
    return store


def glo(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def refused(capsys, *args: str, says: str = "") -> str:
    code, _, err = glo(capsys, *args)
    assert code == 2 and err.count("\n") == 1 and err.startswith("glo: error: "), (code, err)
    assert says in err, err
    return err


# --- 1, 2: filters, and deletes that never take "everything" by accident ---

@pytest.mark.parametrize("args", [
    ["--where", ""], ["--where", " "], ["--status", ""], ["--sweep", ""], ["--where", "recon<abc"],
    ["--where", "recon>0"], ["--last", "3"], ["--last", "99"], ["--where", "loss=l1+l2"],
    ["--sort", "recon", "--where", "done=1"],
])
def test_delete_never_takes_an_empty_or_everything_filter(three, capsys, args):
    refused(capsys, "runs", "delete", "--runs-dir", str(three.root), "-y", *args)
    assert len(three.ids()) == 3


def test_delete_all_is_said_with_all_and_alone(three, capsys):
    refused(capsys, "runs", "delete", "--runs-dir", str(three.root), "--all", "--where", "sigma=0.1", "-y",
            says="--all")
    assert len(three.ids()) == 3
    code, _, _ = glo(capsys, "runs", "delete", "--runs-dir", str(three.root), "--where", "sigma<0.5", "-y")
    assert code == 0 and len(three.ids()) == 1  # a filter choosing some runs still deletes them
    code, _, _ = glo(capsys, "runs", "delete", "--runs-dir", str(three.root), "--all", "-y")
    assert code == 0 and three.ids() == []


@pytest.mark.parametrize("args, says", [
    (["--where", "recon<abc"], "needs a number"), (["--where", "loss<l2"], "cannot be ordered"),
    (["--where", "sigma=abc"], "is a number"), (["--where", "loss=l1,"], "empty"),
    (["--where", "status=complete"], "status is one of"), (["--where", "sigma<nan"], "needs a number"),
    (["--where", "download=maybe"], "true or false"), (["--where", "n_images=lots"], "'all'"),
    (["--sort", "-"], "names no column"), (["--sort", ""], "--sort is empty"), (["--status", ""], "--status is empty"),
    (["--sweep", ""], "--sweep is empty"), (["--where", ""], "--where is empty"),
])
def test_list_refuses_filters_it_cannot_compare(three, capsys, args, says):
    refused(capsys, "runs", "list", "--runs-dir", str(three.root), *args, says=says)


def test_comparable_filters_still_choose(three, capsys):
    for where, n in (("recon<0.25", 2), ("sigma>=0.3", 2), ("n_images<=100000", 3), ("loss=l1*", 3), ("recon!=-", 3)):
        assert len(query.select(list(_views(three)), query.parse(where))) == n, where


def _views(store):
    index = RunIndex(store)
    try:
        return index.views()
    finally:
        index.close()


WORDS = st.text(alphabet=st.sampled_from(list("sigmareconlsdtu_<>=!,*?-. 0123ab\u00e9\t")), max_size=24)
TERMS = st.builds(lambda k, op, v: f"{k}{op}{v}", st.sampled_from([*query.KEYS, "bogus", "recon_loss"]),
                  st.sampled_from(query.OPERATORS),
                  st.sampled_from(["", "0.2", "abc", "-", "nan", "l1,l2", "0.1*", ",", "all", "x,"]))


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(max_size=30), WORDS, TERMS))
def test_property_any_text_parses_or_is_refused(text):
    try:
        q = query.parse(text)
    except query.QueryError as exc:
        assert "\n" not in str(exc) and str(exc)
        return
    for term in q.terms:  # what parses can be compared: ordering only numbers with numbers
        if term.op in ("<", "<=", ">", ">="):
            assert query.KINDS.get(term.key) in ("number", "count")
            assert all(query._is_number(v) for v in term.values)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(WORDS, TERMS))
def test_property_a_delete_never_widens_to_every_run(three, capsys, text):
    before = three.ids()
    code, _, err = glo(capsys, "runs", "delete", "--runs-dir", str(three.root), "--where", text, "-y")
    after = three.ids()
    assert code in (0, 2) and "Traceback" not in err
    assert after, f"--where {text!r} deleted every run"
    if code == 2:
        assert after == before and err.count("\n") == 1
    for run_id in set(before) - set(after):  # put back what a narrow filter deleted, for the next example
        fake_run(three, name=run_id[16:] or "x")
    while len(three.ids()) > 3:
        shutil.rmtree(three.root / three.ids()[-1])


# --- 3: export paths ---

def test_export_never_overwrites_a_run_file_a_device_a_fifo_or_a_link(three, capsys, tmp_path):
    run_id = three.ids()[0]
    config = three.root / run_id / "config.json"
    before = config.read_bytes()
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "link").symlink_to(tmp_path / "target")
    for path, says in ((config, "inside the runs folder"), ("/dev/null", "a device"), (tmp_path / "fifo", "a FIFO"),
                       (tmp_path / "link", "a symbolic link")):
        refused(capsys, "compare", run_id, "--runs-dir", str(three.root), "--no-analysis", "--csv", str(path),
                says=says)
    refused(capsys, "compare", run_id, "--runs-dir", str(three.root), "--no-analysis", "--png",
            str(three.root / run_id / "recon.png"), says="inside the runs folder")
    assert config.read_bytes() == before and not (tmp_path / "target").exists()
    code, _, _ = glo(capsys, "compare", run_id, "--runs-dir", str(three.root), "--no-analysis",
                     "--csv", str(tmp_path / "ok.csv"))
    assert code == 0 and (tmp_path / "ok.csv").read_text().startswith("run,")


def test_atomic_write_replaces_only_plain_files(tmp_path):
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "link").symlink_to(tmp_path / "target")
    for name in ("fifo", "link"):
        with pytest.raises(FileExistsError):
            atomic.write_bytes(tmp_path / name, b"x")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fifo", "link"]  # no temp file left
    atomic.write_bytes(tmp_path / "plain", b"1")
    atomic.write_bytes(tmp_path / "plain", b"2")
    assert (tmp_path / "plain").read_bytes() == b"2"
