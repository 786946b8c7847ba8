"""Hostile and careless input, round two: each case of the issue, and the class it stands for.

README's promise: bad input is one line on stderr, exit 2, nothing written, nothing lost, no
traceback. Runs here are written directly (``fake_run``) unless a case needs a real one. The
filter language gets a property test (Hypothesis): any text parses or is refused in one line, and
a deletion never widens to every run without --all.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import warnings
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from conftest import small
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from glo.cli.app import main
from glo.data import folder as image_folder
from glo.data import imagecache
from glo.data.sets import load_split
from glo.errors import DataError, RunStoreError
from glo.host import arrays, atomic
from glo.model import checkpoint
from glo.store import query
from glo.store.index import RunIndex
from glo.store.runs import RunStore
from glo.sweep import mirror


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
    ["--where", "recon>0"], ["--last", "3"], ["--last", "99"], ["--where", "loss=l1+l2"], ["--sort", "recon", "--where", "done=1"],
])
def test_delete_never_takes_an_empty_or_everything_filter(three, capsys, args):
    refused(capsys, "runs", "delete", "--runs-dir", str(three.root), "-y", *args)
    assert len(three.ids()) == 3


def test_delete_all_is_said_with_all_and_alone(three, capsys):
    refused(capsys, "runs", "delete", "--runs-dir", str(three.root), "--all", "--where", "sigma=0.1", "-y", says="--all")
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
        assert len(query.select([v for v in _views(three)], query.parse(where))) == n, where


def _views(store):
    index = RunIndex(store)
    try:
        return index.views()
    finally:
        index.close()


WORDS = st.text(alphabet=st.sampled_from(list("sigmareconlsdtu_<>=!,*?-. 0123ab\u00e9\t")), max_size=24)
TERMS = st.builds(lambda k, op, v: f"{k}{op}{v}", st.sampled_from([*query.KEYS, "bogus", "recon_loss"]),
                  st.sampled_from(query.OPERATORS), st.sampled_from(["", "0.2", "abc", "-", "nan", "l1,l2", "0.1*", ",", "all", "x,"]))


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
        refused(capsys, "compare", run_id, "--runs-dir", str(three.root), "--no-analysis", "--csv", str(path), says=says)
    refused(capsys, "compare", run_id, "--runs-dir", str(three.root), "--no-analysis", "--png",
            str(three.root / run_id / "recon.png"), says="inside the runs folder")
    assert config.read_bytes() == before and not (tmp_path / "target").exists()
    code, _, _ = glo(capsys, "compare", run_id, "--runs-dir", str(three.root), "--no-analysis", "--csv", str(tmp_path / "ok.csv"))
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


# --- 6, 7, 11: image folders ---

def png_claiming(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\0" * 100)) + chunk(b"IEND", b""))


@pytest.fixture
def data(tmp_path):
    root = tmp_path / "d"
    rng = np.random.default_rng(0)
    for c in "ab":
        (root / c).mkdir(parents=True)
        for i in range(10):
            Image.fromarray(rng.integers(0, 255, (28, 28), dtype=np.uint8)).save(root / c / f"{i}.png")
    return root


@pytest.mark.parametrize("side", [100_000, 10_000])
def test_a_decompression_bomb_is_one_refusal_naming_the_file(data, side, capsys, tmp_path):
    (data / "a" / "big.png").write_bytes(png_claiming(side, side))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning of PIL's may escape
        with pytest.raises(DataError, match="big.png is too large"):
            image_folder.decode(str(data / "a" / "big.png"))
    refused(capsys, "run", "--headless", "--epochs", "1", "--threads", "1", "--n-images", "20", "--dataset", "folder",
            "--data-root", str(data), "--runs-dir", str(tmp_path / "runs"), says="big.png is too large")
    assert not (tmp_path / "runs").exists() and not (data / imagecache.FOLDER).exists()


@pytest.mark.parametrize("make, says", [
    (lambda p: p.write_bytes((p.parent / "0.png").read_bytes()[:60]), "corrupt or truncated"),
    (lambda p: p.symlink_to(p.name), "Too many levels"),
    (lambda p: p.write_bytes(b"GIF89a not a png"), "not a readable"),
])
def test_every_decoding_failure_names_the_file(data, make, says):
    make(data / "a" / "bad.png")
    with pytest.raises(DataError, match=says) as info:
        image_folder.load_folder(data)
    assert "bad.png" in str(info.value) and "\n" not in str(info.value)


def test_any_file_name_is_decoded_and_cached(data):
    shutil.copy(data / "a" / "0.png", os.fsencode(data / "a") + b"/bad\xff\xfe.png")
    images, labels, _ = image_folder.load_folder(data)
    assert images.shape == (21, 28, 28) and (data / imagecache.FOLDER).is_dir()
    again, _, _ = image_folder.load_folder(data)  # from the cache
    assert np.array_equal(images, again)


def test_too_many_images_is_refused_before_anything_is_decoded_or_cached(data):
    with pytest.raises(DataError, match="n_images 100000 is more than the 20 images"):
        load_split("folder", 100000, str(data))
    assert not (data / imagecache.FOLDER).exists()


# --- 8, 9: arrays read back are checked before they are allocated ---

def npy_claiming(shape, descr: str = "|u1") -> bytes:
    header = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}"
    header = header + " " * (118 - len(header) - 1) + "\n"
    return b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode() + b"\0" * 100


def npz_of(**members: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(f"{name}.npy", data)
    return buf.getvalue()


HUGE = npz_of(originals=npy_claiming((10**6, 10**6, 1000)), reconstructions=npy_claiming((10**6, 10**6, 1000)),
              labels=npy_claiming((10,), "<i8"))


def test_a_run_images_file_claiming_an_exabyte_is_a_warning(three, capsys):
    run_id = three.ids()[0]
    (three.root / run_id / "images.npz").write_bytes(HUGE)
    run = three.get(run_id)
    assert run.read_images() is None and any("images.npz is damaged" in w for w in run.warnings)
    for args in (["runs", "show", run_id], ["compare", run_id, "--no-analysis"]):
        code, out, err = glo(capsys, *args, "--runs-dir", str(three.root))
        assert code == 0 and err == ""
    assert "images.npz is damaged" in glo(capsys, "runs", "show", run_id, "--runs-dir", str(three.root))[1]


@pytest.mark.parametrize("members", [
    {"images": npy_claiming((3,))},  # wrong number of axes
    {"images": npy_claiming((4, 28, 28), "<f8")},  # wrong dtype
    {"images": npy_claiming((4, 28, 28), "|O")},  # objects
    {"images": npy_claiming((10**4, 28, 28))},  # more than the file holds
    {"other": npy_claiming((1,))},  # missing
])
def test_read_npz_refuses_before_allocating(members, tmp_path):
    (tmp_path / "x.npz").write_bytes(npz_of(**members))
    with pytest.raises(arrays.DamagedArray):
        arrays.read_npz(tmp_path / "x.npz", {"images": arrays.Spec(("uint8",), (3,))})


@pytest.mark.parametrize("tamper", [
    lambda p: p.write_bytes(npz_of(images=npy_claiming((10**6, 10**6, 1000)), labels=npy_claiming((20,), "<i8"))),
    lambda p: np.savez(p, images=np.zeros(3, np.uint8), labels=np.zeros(3, np.int64)),
    lambda p: np.savez(p, images=np.zeros((20, 28, 28), np.uint8), labels=np.zeros(20, np.int64)),  # wrong labels
    lambda p: np.savez(p, images=np.zeros((20, 27, 27), np.uint8), labels=np.repeat(np.arange(2), 10)),  # wrong size
    lambda p: p.write_bytes(b"junk"),
])
def test_a_tampered_cache_is_decoded_again(data, tamper):
    images, labels, _ = image_folder.load_folder(data)
    (entry,) = (data / imagecache.FOLDER).iterdir()
    tamper(entry.with_suffix(""))  # np.savez adds .npz
    again, labels2, _ = image_folder.load_folder(data)
    assert np.array_equal(again, images) and np.array_equal(labels2, labels)


# --- 12, 13: library warnings and damaged lines are one line each ---

def test_a_pickle_checkpoint_is_refused_in_one_line_without_running_it(tmp_path):
    import pickle

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {tmp_path / 'ran'}",))

    path = tmp_path / "checkpoint.pt"
    path.write_bytes(pickle.dumps({"a": Payload()}, protocol=4))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(RunStoreError, match="not a valid glo checkpoint") as info:
            checkpoint.load(path)
    assert caught == [] and "\n" not in str(info.value) and not (tmp_path / "ran").exists()


def test_damaged_lines_are_one_warning_with_a_count():
    text = '{"event": "epoch", "epoch": 1}\n' + "junk\n" * 200_000 + '{"broken": \n'
    started = time.perf_counter()
    records, warns = atomic.parse_jsonl(text, "metrics.jsonl")
    assert len(records) == 1 and warns == ["metrics.jsonl has 200,001 damaged lines (the first: line 2)"]
    assert time.perf_counter() - started < 2
    assert atomic.parse_jsonl('{"a": 1}\n{"b": \n', "m")[1] == ["m line 2 is damaged"]


# --- 10, 14: a user who may not write ---

def as_nobody(fn) -> int:
    """FN() in a forked child running as nobody (its return is the exit code); directly when this
    is not root. Skips where setuid is impossible."""
    if os.getuid() != 0:
        return fn()
    pid = os.fork()
    if pid == 0:
        try:
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            os._exit(fn())
        except BaseException:
            os._exit(99)
    code = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    if code == 99:
        pytest.skip("cannot run as nobody here")
    return code


@pytest.fixture
def shared():
    """A folder nobody can reach (pytest's tmp_path is private to root)."""
    path = Path(tempfile.mkdtemp(prefix="glo-hostile-", dir="/tmp"))
    path.chmod(0o755)
    yield path
    for folder, dirs, _ in os.walk(path):
        for d in dirs:
            os.chmod(os.path.join(folder, d), 0o755)
    shutil.rmtree(path)


def test_delete_in_a_read_only_runs_folder_loses_nothing(shared):
    store = RunStore(shared / "runs")
    run = fake_run(store)
    before = sorted(p.name for p in run.path.iterdir())
    if os.getuid() == 0:
        shutil.chown(shared / "runs", "nobody")
        for p in [run.path, *run.path.iterdir()]:
            shutil.chown(p, "nobody")
    (shared / "runs").chmod(0o555)

    def delete() -> int:
        try:
            store.delete(run.id)
        except RunStoreError as exc:
            return 2 if "nothing deleted" in str(exc) else 3
        return 0

    assert as_nobody(delete) == 2
    assert sorted(p.name for p in run.path.iterdir()) == before and store.get(run.id).status() == "completed"


def test_a_read_only_index_leaves_no_files_behind(shared):
    store = RunStore(shared / "runs")
    fake_run(store)
    _views(store)  # makes .index.sqlite
    if os.getuid() == 0:
        for p in [shared / "runs", *(shared / "runs").rglob("*")]:
            shutil.chown(p, "nobody")
    (shared / "runs" / ".index.sqlite").chmod(0o444)
    assert as_nobody(lambda: len(_views(store))) == 1
    assert sorted(p.name for p in (shared / "runs").iterdir() if p.name.startswith(".index")) == [".index.sqlite"]


# --- 15: copies of killed Ray points ---

def test_stale_point_copies_are_removed_by_the_next_point(tmp_path):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    alive = mirror.private_folder(tmp_path)
    for name, owner in (("dead", {"pid": gone.pid, "boot": mirror._boot_id()}),
                        ("other-boot", {"pid": os.getpid(), "boot": "another"}),
                        ("reused-pid", {"pid": os.getpid(), "boot": mirror._boot_id(), "started": "-1"})):
        (tmp_path / f"glo-point-{name}").mkdir()
        (tmp_path / f"glo-point-{name}" / mirror.OWNER).write_text(json.dumps(owner))
    (tmp_path / "glo-point-new").mkdir()  # unmarked, fresh: maybe being made
    (tmp_path / "glo-point-old").mkdir()
    os.utime(tmp_path / "glo-point-old", (0, 0))
    (tmp_path / "unrelated").mkdir()
    new = mirror.private_folder(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [Path(alive).name, Path(new).name, "glo-point-new", "unrelated"])
