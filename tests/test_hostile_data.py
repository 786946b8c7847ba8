"""Hostile and careless input, round two (continued): image folders, arrays read back, checkpoints,
damaged lines, a user who may not write, and the copies of killed Ray points (see test_hostile)."""

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
from PIL import Image

from glo.data import folder as image_folder
from glo.data import imagecache
from glo.data.sets import load_split
from glo.errors import DataError, RunStoreError
from glo.host import arrays, atomic
from glo.model import checkpoint
from glo.store.runs import RunStore
from glo.sweep import mirror
from test_hostile import _views, fake_run, glo, refused


@pytest.fixture
def three(tmp_path):
    store = RunStore(tmp_path / "runs")
    for i in range(3):
        fake_run(store, recon=0.1 * (i + 1), name=f"r{i}")
    return store


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
        with pytest.raises(DataError, match=r"big\.png is too large"):
            image_folder.decode(str(data / "a" / "big.png"))
    refused(capsys, "run", "--headless", "--epochs", "1", "--threads", "1", "--n-images", "20", "--dataset", "folder",
            "--data-root", str(data), "--runs-dir", str(tmp_path / "runs"), says="big.png is too large")
    assert not (tmp_path / "runs").exists() and not (data / imagecache.FOLDER).exists()


@pytest.mark.parametrize("make, says", [
    (lambda p: p.write_bytes((p.parent / "0.png").read_bytes()[:60]), "corrupt or truncated"),
    (lambda p: p.symlink_to(p.name), "Too many levels"),
    (lambda p: p.write_bytes(b"GIF89a not a png"), "not a readable"),
    (lambda p: p.write_bytes(b""), "not a readable"),
    (os.mkfifo, "not a plain file"),  # would block the decoder for ever
])
def test_every_decoding_failure_names_the_file(data, make, says):
    make(data / "a" / "bad.png")
    with pytest.raises(DataError, match=says) as info:
        image_folder.load_folder(data)
    assert "bad.png" in str(info.value) and "\n" not in str(info.value)


def test_any_file_name_is_decoded_and_cached(data):
    shutil.copy(data / "a" / "0.png", os.fsencode(data / "a") + b"/bad\xff\xfe.png")
    images, _labels, _ = image_folder.load_folder(data)
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
        code, _out, err = glo(capsys, *args, "--runs-dir", str(three.root))
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
        except BaseException:  # noqa: BLE001 - the forked child must exit, whatever happened
            os._exit(99)  # not allowed to become nobody here: skipped
        try:
            os._exit(fn())
        except BaseException:  # noqa: BLE001 - a failure inside FN fails the test, never skips it
            os._exit(98)
    code = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    if code == 99:
        pytest.skip("cannot run as nobody here")
    assert code != 98, "the check run as nobody raised"
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


# --- beyond the fifteen: FIFOs and links where glo reads a run's files ---

@pytest.mark.parametrize("name", ["metrics.jsonl", "summary.json", "config.json", "environment.jsonl", "images.npz"])
def test_a_fifo_in_a_run_folder_never_blocks_a_reader(three, capsys, name):
    run_id = three.ids()[0]
    path = three.root / run_id / name
    path.unlink(missing_ok=True)
    os.mkfifo(path)
    for args in (["runs", "show", run_id], ["runs", "list"], ["compare", run_id, "--no-analysis"]):
        code, _, err = glo(capsys, *args, "--runs-dir", str(three.root))  # a blocked open would hang here
        assert code == 0 and err == "", (args, err)
    with pytest.raises(OSError):
        atomic.read_text(path)


@pytest.mark.parametrize("make", [os.mkfifo, lambda p: os.symlink("/dev/zero", p)])
def test_a_checkpoint_that_is_no_plain_file_is_refused_unread(tmp_path, make):
    make(tmp_path / "checkpoint.pt")
    with pytest.raises(RunStoreError, match="not a plain file"):
        checkpoint.load(tmp_path / "checkpoint.pt")
    with pytest.raises(arrays.DamagedArray):
        arrays.read_npz(tmp_path / "checkpoint.pt", {})
