"""--dataset folder: image folders in ImageFolder layout, checked, decoded, cached, and trained on
through the real CLI. Every folder here is a few tiny images made in tmp_path."""

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from glo.cli.app import main
from glo.data import folder, imagecache
from glo.data.sets import load_split
from glo.errors import DataError


def make_folder(root: Path, classes=("cat", "dog", "eel"), n: int = 6, size=(16, 16), colour: bool = True,
                ext: str = "png") -> Path:
    """N images per class, each class its own colour (or grey level) plus noise."""
    rng = np.random.default_rng(0)
    for c, name in enumerate(classes):
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            shape = (size[1], size[0], 3) if colour else (size[1], size[0])
            a = rng.integers(0, 60, shape).astype(np.uint8)
            if colour:
                a[..., c % 3] += 150
            else:
                a += 60 * c
            Image.fromarray(a).save(root / name / f"{i:03d}.{ext}")
    return root


def test_colour_folder_loads_in_imagefolder_order(tmp_path):
    root = make_folder(tmp_path / "data")
    (root / "dog" / "notes.txt").write_text("not an image")  # skipped, as ImageFolder skips it
    images, labels, classes = folder.load_folder(root)
    assert classes == ["cat", "dog", "eel"] and images.shape == (18, 16, 16, 3) and images.dtype == np.uint8
    assert labels.tolist() == [0] * 6 + [1] * 6 + [2] * 6
    assert images[labels == 0][..., 0].mean() > images[labels == 0][..., 1].mean() + 100  # cat is red
    assert folder.scan(root).skipped == ["dog/notes.txt"]


def test_images_at_any_depth_in_name_order_and_links_inside_kept(tmp_path):
    root = make_folder(tmp_path / "data", n=2)
    (root / "cat" / "more").mkdir()
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(root / "cat" / "more" / "x.png")
    (root / "dog" / "again.png").symlink_to(root / "dog" / "000.png")  # a link inside the folder: fine
    (root / ".hidden").mkdir()
    assert folder.scan(root).files == ["cat/000.png", "cat/001.png", "cat/more/x.png", "dog/000.png",
                                       "dog/001.png", "dog/again.png", "eel/000.png", "eel/001.png"]


def test_grey_jpegs_resize_and_balanced_or_all(tmp_path):
    root = make_folder(tmp_path / "data", n=5, size=(30, 30), colour=False, ext="jpg")
    split = load_split("folder", 6, str(root))  # 30x30 is not drawable: the largest size below, 28
    assert split.images.shape == (6, 28, 28) and np.bincount(split.labels).tolist() == [2, 2, 2]
    assert len(split.heldout_labels) == 9 and split.classes == ("cat", "dog", "eel")
    every = load_split("folder", "all", str(root), image_size=16)
    assert every.images.shape == (15, 16, 16) and len(every.heldout_labels) == 0


def test_cache_is_reused_and_rebuilt_when_the_folder_changes(tmp_path, monkeypatch):
    root = make_folder(tmp_path / "data")
    first, _, _ = folder.load_folder(root)
    assert len(list((root / imagecache.FOLDER).glob("*.npz"))) == 1

    def no_decoding(*a, **k):
        raise AssertionError("decoded again although the folder did not change")

    monkeypatch.setattr(folder, "decode_all", no_decoding)
    again, _, _ = folder.load_folder(root)
    assert np.array_equal(first, again)
    monkeypatch.undo()
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(root / "cat" / "000.png")
    os.utime(root / "cat" / "000.png", ns=(1, 1))  # a new mtime and size: a new key
    changed, _, _ = folder.load_folder(root)
    assert changed[0].max() == 0 and len(list((root / imagecache.FOLDER).glob("*.npz"))) == 1


def test_cache_goes_to_the_user_cache_when_the_data_cannot_be_written(tmp_path, monkeypatch):
    root = make_folder(tmp_path / "data")
    (root / imagecache.FOLDER).write_text("a file where the cache folder would go")  # mkdir fails
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    folder.load_folder(root)
    assert len(list((tmp_path / "cache" / "glo").glob("*/*.npz"))) == 1
    (root / imagecache.FOLDER).unlink()
    root.chmod(0o555)  # read-only (root's processes could still write: the mode bits are asked)
    try:
        folder.load_folder(root, image_size=14)
        assert not (root / imagecache.FOLDER).exists()
        assert len(list((tmp_path / "cache" / "glo").glob("*/*.npz"))) == 1  # the newer entry replaced the old
    finally:
        root.chmod(0o755)


def _corrupt(root):
    (root / "dog" / "003.png").write_bytes((root / "dog" / "003.png").read_bytes()[:60])


def _mixed(root):
    Image.fromarray(np.zeros((20, 20, 3), np.uint8)).save(root / "eel" / "big.png")


def _symlink(root):
    outside = root.parent / "outside.png"
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(outside)
    (root / "cat" / "link.png").symlink_to(outside)


def _one_class(root):
    for name in ("dog", "eel"):
        for f in (root / name).iterdir():
            f.unlink()
        (root / name).rmdir()


def _empty(root):
    for name in ("cat", "dog", "eel"):
        for f in (root / name).iterdir():
            f.unlink()
        (root / name).rmdir()


def _loose(root):
    _empty(root)
    Image.fromarray(np.zeros((16, 16), np.uint8)).save(root / "a.png")


def _empty_class(root):
    (root / "fox").mkdir()
    (root / "fox" / "readme.txt").write_text("no images yet")


def _not_an_image(root):
    (root / "cat" / "fake.jpg").write_text("this is text with an image's name")


BAD = [
    (_empty, "is empty"), (_one_class, "one class folder (cat)"), (_corrupt, "dog/003.png"),
    (_mixed, "images differ in size"), (_symlink, "symlink leading out of the data folder"),
    (_loose, "no class folders"), (_empty_class, "fox holds no PNG or JPEG images"),
    (_not_an_image, "fake.jpg is not a readable PNG or JPEG image"),
]


@pytest.mark.parametrize("spoil,message", BAD, ids=[f.__name__.strip("_") for f, _ in BAD])
def test_bad_data_is_one_line_exit_2_and_nothing_written(spoil, message, tmp_path, capsys):
    root = make_folder(tmp_path / "data")
    spoil(root)
    code = main(["run", "--headless", "--dataset", "folder", "--data-root", str(root), "--n-images", "all",
                 "--epochs", "1", "--runs-dir", str(tmp_path / "runs")])
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1 and "Traceback" not in err, err
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())
    assert not (root / imagecache.FOLDER).exists()


def test_missing_folder_and_too_few_images_for_the_classes(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        load_split("folder", "all", str(tmp_path / "nope"))
    with pytest.raises(DataError, match="fewer than the 3 classes"):
        load_split("folder", 2, str(make_folder(tmp_path / "data")))


def test_train_show_transfer_and_analyze_a_colour_folder(tmp_path, capsys):
    root, runs = make_folder(tmp_path / "data", n=8), str(tmp_path / "runs")
    assert main(["run", "--headless", "--dataset", "folder", "--data-root", str(root), "--n-images", "all",
                 "--epochs", "2", "--batch-size", "8", "--loss", "lap1", "--threads", "1", "--runs-dir", runs]) == 0
    assert "epoch 2/2" in capsys.readouterr().out
    png = tmp_path / "t.png"
    assert main(["transfer", "latest", "--rows", "3", "--png", str(png), "--runs-dir", runs]) == 0
    out = capsys.readouterr().out
    assert "a cat -> all 3 classes" in out or "a cat, drawn as all 3 classes" in out
    picture = Image.open(png)
    assert picture.mode == "RGB" and picture.size == (4 * 18 + 2, 3 * 18 + 2)
    assert main(["runs", "show", "latest", "--runs-dir", runs]) == 0
    assert main(["analyze", "latest", "--runs-dir", runs]) == 0
    out = capsys.readouterr().out
    assert "chance 33%" in out



def test_a_sweep_over_image_size_and_every_image_trains_each_point_on_its_own_images(tmp_path, capsys):
    """A sweep's points share one data split per data set, count and size: never another size's."""
    from glo.store.runs import RunStore

    root, runs = make_folder(tmp_path / "data", n=4), str(tmp_path / "runs")
    assert main(["sweep", "--param", "image-size", "--values", "14,16", "--param", "n-images", "--values", "6,all",
                 "--dataset", "folder", "--data-root", str(root), "--epochs", "1", "--batch-size", "6",
                 "--threads", "1", "--workers", "1", "--headless", "--runs-dir", runs]) == 0
    capsys.readouterr()
    shapes = {}
    for run in RunStore(runs).runs():
        cfg, images = run.read_config(), run.read_images()
        shapes[(cfg.image_size, cfg.n_images)] = images[0].shape[1:3] if images[0].ndim == 4 else images[0].shape[1:]
    assert shapes == {(14, 6): (14, 14), (14, "all"): (14, 14), (16, 6): (16, 16), (16, "all"): (16, 16)}
