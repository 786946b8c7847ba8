import struct

import numpy as np
import pytest

from glo.data.sets import balanced_indices, load_bundled, load_split
from glo.errors import DataError


def test_bundled_is_real_balanced_mnist():
    images, labels = load_bundled()
    assert images.shape == (5000, 28, 28) and images.dtype == np.uint8
    assert np.bincount(labels).tolist() == [500] * 10
    assert 20 < images.mean() < 60  # MNIST's mean pixel is about 33


def test_default_split_is_deterministic_and_disjoint():
    a, b = load_split("bundled", 2000), load_split("bundled", 2000)
    assert np.array_equal(a.images, b.images)
    assert np.bincount(a.labels).tolist() == [200] * 10
    assert len(a.heldout_images) == 3000
    train_keys = {img.tobytes() for img in a.images}
    assert not any(img.tobytes() in train_keys for img in a.heldout_images[:500])


def test_uneven_counts_stay_balanced():
    labels = np.repeat(np.arange(10), 5)
    idx = balanced_indices(labels, 23)
    assert len(idx) == 23 and max(np.bincount(labels[idx])) - min(np.bincount(labels[idx])) <= 1


def test_too_many_images():
    with pytest.raises(DataError, match="more than"):
        load_split("bundled", 6000)


def test_missing_torchvision_folder_is_one_clear_line(tmp_path):
    with pytest.raises(DataError) as err:
        load_split("mnist", 100, str(tmp_path / "nowhere"))
    assert "MNIST/raw" in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(DataError, match="expected"):
        load_split("kmnist", 100, str(tmp_path))  # exists, but holds no KMNIST


def _write_idx(path, array, magic):
    with open(path, "wb") as fh:
        fh.write(struct.pack(">I", magic))
        for dim in array.shape:
            fh.write(struct.pack(">I", dim))
        fh.write(array.astype(np.uint8).tobytes())


def test_torchvision_layout_is_read(tmp_path):
    raw = tmp_path / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(60, 28, 28))
    labels = np.arange(60) % 10
    for prefix in ("train", "t10k"):
        _write_idx(raw / f"{prefix}-images-idx3-ubyte", images, 0x803)
        _write_idx(raw / f"{prefix}-labels-idx1-ubyte", labels, 0x801)
    split = load_split("fashionmnist", 30, str(tmp_path))
    assert split.images.shape == (30, 28, 28)
    assert np.bincount(split.labels).tolist() == [3] * 10
    assert len(split.heldout_images) == 30
