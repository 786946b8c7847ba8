"""Research scale: uint8 images made floats per batch, the model's size as settings, what sigma
means (--noise), --init pca, --precision bf16, the memory-mapped decoded cache, and the refusals."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import synthetic_split
from glo.cli.app import main
from glo.config import FORM, OPTION_HELP, SWEEPABLE, RunConfig
from glo.data.sets import Split
from glo.imaging.shown import as_tensor
from glo.model import checkpoint
from glo.model.losses import evaluate
from glo.model.pca import pca_codes
from glo.train import trainer as trainer_mod
from glo.train.trainer import Trainer, model_args


def colour_split(n: int = 30, side: int = 16, seed: int = 0) -> Split:
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, side, side, 3), dtype=np.uint8)
    labels = np.arange(n, dtype=np.int64) % 3
    return Split("colour", images, labels, images[:0], labels[:0], ("a", "b", "c"))


@pytest.mark.parametrize("make", [synthetic_split, colour_split])
def test_per_batch_floats_equal_the_whole_set_converted_at_once_bit_for_bit(make):
    split = make()
    whole = as_tensor(split.images)  # what the trainer held before: the whole split as floats
    trainer = Trainer(RunConfig(n_images=len(split.labels), epochs=1, batch_size=7, device="cpu", threads=1,
                                n_show=3), split)
    assert trainer.images.dtype == torch.uint8  # the split's own bytes, never a float copy
    perm = torch.randperm(len(split.labels), generator=torch.Generator().manual_seed(0))
    for b in range(0, len(perm), 7):
        idx = perm[b:b + 7]
        batch = trainer.batch_images(idx)
        assert batch.dtype == torch.float32 and batch.shape == whole[idx].shape
        assert torch.equal(batch, whole[idx]) and batch.is_contiguous()
    model = trainer.model
    labels = torch.from_numpy(split.labels)
    assert evaluate(model, trainer.images, labels, chunk=4) == evaluate(model, whole, labels, chunk=4)


def test_cpu_images_share_the_splits_memory(split):
    trainer = Trainer(RunConfig(n_images=40, epochs=1, device="cpu", threads=1), split)
    assert trainer.images.data_ptr() == torch.from_numpy(split.images).data_ptr()


def test_model_size_settings_are_options_sweepable_and_in_the_form():
    for key in ("class_dim", "content_dim", "width", "noise", "init", "precision"):
        assert key in OPTION_HELP and key in SWEEPABLE
    labels = dict(FORM)
    assert labels["class_dim"] == "class dim" and labels["content_dim"] == "cont. dim" and labels["width"] == "width"


def test_old_configs_and_checkpoints_read_as_they_were(split, tmp_path):
    old = {k: v for k, v in RunConfig(n_images=40, epochs=1, device="cpu", threads=1).to_dict().items()
           if k not in ("width", "noise", "init", "precision")}
    cfg = RunConfig.from_dict(old)
    assert (cfg.width, cfg.noise, cfg.init, cfg.precision) == (64, "per-dim", "random", "fp32")
    assert cfg.noise_scale == 1.0 and model_args(cfg, 40)["width"] == 64
    trainer = Trainer(cfg, split)
    state = trainer.state_dict()
    state["config"] = old  # as an older glo saved it
    path = tmp_path / "checkpoint.pt"
    path.write_bytes(checkpoint.to_bytes(state))
    model, loaded = checkpoint.build_model(checkpoint.load(path))
    assert loaded.width == 64 and model.generator.fc.out_features == 64 * 7 * 7


def test_width_and_code_sizes_build_their_model_and_checkpoints_rebuild_it(split, tmp_path):
    cfg = RunConfig(n_images=40, epochs=1, batch_size=8, device="cpu", threads=1, width=16, class_dim=3,
                    content_dim=7)
    trainer = Trainer(cfg, split)
    trainer.train_batch(trainer.start_epoch(1)[0])
    gen = trainer.model.generator
    assert gen.fc.in_features == 10 and gen.fc.out_features == 16 * 7 * 7
    path = tmp_path / "checkpoint.pt"
    path.write_bytes(checkpoint.to_bytes(trainer.state_dict()))
    model, loaded = checkpoint.build_model(checkpoint.load(path))
    assert loaded.width == 16 and model.content_codes.weight.shape == (40, 7)


def test_relative_noise_means_the_same_noise_to_code_ratio_for_any_code_size():
    for dim in (5, 25, 100, 400):
        cfg = RunConfig(content_dim=dim, noise="relative", sigma=0.5)
        noise_length = cfg.sigma * cfg.noise_scale * math.sqrt(dim)  # expected length of the noise vector
        assert noise_length == pytest.approx(0.5 * cfg.content_radius)
    # per-dim (the default, and every old run): sigma is the std on each dimension, whatever the size
    assert RunConfig(content_dim=100).noise_scale == 1.0
    assert RunConfig(content_dim=25, noise="relative").noise_scale == pytest.approx(0.4)


def test_relative_noise_trains_and_per_dim_is_the_seeds_noise(split):
    def losses(**kw):
        t = Trainer(RunConfig(n_images=40, epochs=1, batch_size=8, device="cpu", threads=1, **kw), split)
        return [t.train_batch(b).loss for b in t.start_epoch(1)]
    seed = losses()
    assert losses(noise="per-dim") == seed
    # relative with sigma / 0.4 at 25 dimensions draws the same noise std (0.3) as per-dim 0.3
    assert losses(noise="relative", sigma=0.75) == pytest.approx(seed, rel=1e-5)
    assert losses(noise="relative", sigma=0.3) != seed


def test_pca_codes_follow_the_images_main_direction_inside_the_ball():
    rng = np.random.default_rng(0)
    t = np.linspace(0, 1, 50)
    base, direction = rng.random((8, 8)), rng.standard_normal((8, 8))
    images = np.clip((base + np.outer(t - 0.5, direction.ravel()).reshape(50, 8, 8) * 0.3) * 200, 0,
                     255).astype(np.uint8)
    codes = pca_codes(images, 3, 2.0)
    assert codes.shape == (50, 3) and codes.dtype == torch.float32
    assert float(codes.norm(dim=1).max()) <= 2.0 + 1e-5
    first = codes[:, 0].numpy()
    assert abs(np.corrcoef(first, t)[0, 1]) > 0.95  # the first axis is the images' direction of change
    with pytest.raises(ValueError):
        pca_codes(images, 51, 2.0)


def test_init_pca_starts_from_pca_codes_and_keeps_the_generator(split):
    cfg = RunConfig(n_images=40, epochs=1, device="cpu", threads=1, init="pca", content_dim=5)
    pca = Trainer(cfg, split)
    rand = Trainer(RunConfig(n_images=40, epochs=1, device="cpu", threads=1, content_dim=5), split)
    assert torch.allclose(pca.model.content_codes.weight, pca_codes(split.images, 5, 2.0))
    for a, b in zip(pca.model.generator.parameters(), rand.model.generator.parameters(), strict=True):
        assert torch.equal(a, b)


def test_bf16_trains_on_a_cpu_that_has_it(split):
    if not trainer_mod.bf16_supported(torch.device("cpu")):
        pytest.skip("this CPU has no bfloat16 support")
    t = Trainer(RunConfig(n_images=40, epochs=1, batch_size=8, device="cpu", threads=1, precision="bf16"), split)
    step = t.train_batch(t.start_epoch(1)[0])
    assert math.isfinite(step.loss) and t.model.generator.fc.weight.dtype == torch.float32


@pytest.mark.parametrize("args", [
    ["--class-dim", "0"], ["--content-dim", "1000000"], ["--width", "0"], ["--width", "-4"], ["--width", "x"],
    ["--init", "pca", "--content-dim", "30", "--n-images", "20"], ["--noise", "loud"], ["--precision", "fp8"],
])
def test_bad_sizes_are_one_line_exit_2_nothing_written(tmp_path, capsys, args):
    runs = tmp_path / "runs"
    assert main(["run", "--headless", "--epochs", "1", "--runs-dir", str(runs), *args]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("glo: error:")
    assert not runs.exists() or not any(runs.iterdir())


def test_bf16_without_support_is_refused_before_anything_is_written(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(trainer_mod, "bf16_supported", lambda device: False)
    runs = tmp_path / "runs"
    assert main(["run", "--headless", "--epochs", "1", "--device", "cpu", "--precision", "bf16",
                 "--runs-dir", str(runs)]) == 2
    err = capsys.readouterr().err.strip()
    assert "bf16" in err and len(err.splitlines()) == 1
    assert not runs.exists() or not any(runs.iterdir())


def test_pca_with_more_dimensions_than_a_whole_folder_is_refused(tmp_path, capsys):
    from test_folder import make_folder

    root = make_folder(tmp_path / "data", n=4)  # 12 images
    runs = tmp_path / "runs"
    assert main(["run", "--headless", "--epochs", "1", "--dataset", "folder", "--data-root", str(root),
                 "--n-images", "all", "--init", "pca", "--content-dim", "13", "--runs-dir", str(runs)]) == 2
    assert "init pca" in capsys.readouterr().err
    assert not runs.exists() or not any(runs.iterdir())


def test_the_decoded_cache_is_memory_mapped(tmp_path):
    from glo.data.folder import load_folder
    from test_folder import make_folder

    root = make_folder(tmp_path / "data", n=4)
    decoded, labels, _ = load_folder(root)
    cached, cached_labels, _ = load_folder(root)
    assert isinstance(cached, np.memmap) and np.array_equal(cached, decoded)
    assert np.array_equal(cached_labels, labels)
    # copy-on-write: torch may read it without a copy, and a write never reaches the file
    tensor = torch.from_numpy(cached)
    tensor[0] = 0
    assert np.array_equal(load_folder(root)[0], decoded)


def test_sweep_workers_map_a_folders_images_instead_of_receiving_a_copy(tmp_path):
    import pickle

    from glo.data.sets import load_split
    from glo.host.arrays import DamagedArray, mapped_source
    from glo.store.runs import RunStore
    from glo.sweep.driver import PointJob
    from glo.sweep.local import by_reference, in_place
    from test_folder import make_folder

    root = make_folder(tmp_path / "data", n=40, size=(32, 32))  # 120 colour images, 369 KB of pixels
    load_split("folder", "all", str(root))  # decodes them into the cache
    split = load_split("folder", "all", str(root))  # memory-mapped from it
    sent = pickle.dumps(by_reference(PointJob(0, "runs", "id", {}, False, split)))
    assert len(sent) < split.images.nbytes / 20  # where the images lie, not their bytes
    there = in_place(pickle.loads(sent))
    assert mapped_source(there.split.images) == mapped_source(split.images) is not None
    assert np.array_equal(there.split.images, split.images) and np.array_equal(there.split.labels, split.labels)
    # a real sweep on two workers trains on the mapped images: the numbers of one point after another
    common = ["--dataset", "folder", "--data-root", str(root), "--n-images", "all", "--epochs", "2", "--threads", "1",
              "--batch-size", "20", "--headless", "--param", "sigma", "--values", "0,0.5"]
    finals = []
    for workers in ("2", "1"):
        runs = tmp_path / f"runs{workers}"
        assert main(["sweep", *common, "--workers", workers, "--runs-dir", str(runs)]) == 0
        finals.append(sorted(run.read_summary()["final"]["recon_loss"] for run in RunStore(runs).runs()))
    assert finals[0] == finals[1]
    # a cache rewritten meanwhile is not mapped in its place
    src = mapped_source(split.images)
    assert src is not None
    data = Path(src.path).read_bytes()
    with open(src.path + ".new", "wb") as fh:
        fh.write(data)
    os.replace(src.path + ".new", src.path)
    with pytest.raises(DamagedArray, match="changed since it was mapped"):
        src.open()
    job = by_reference(PointJob(0, "runs", "id", {}, False, split))  # so the driver sends the bytes it holds
    assert not job.mapped and np.array_equal(job.split.images, split.images)
