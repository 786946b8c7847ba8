"""Typed, validated run configuration (no torch import: the CLI validates before any heavy work)."""

from __future__ import annotations

import functools
import math
import re
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from glo.errors import ConfigError

LOSSES = ("l1", "l2", "l1+l2", "lap1")
DATASETS = ("bundled", "mnist", "fashionmnist", "kmnist", "folder")
# image sizes the generator draws: 7 or 8 pixels doubled 1 to 5 times (one up-convolution per doubling)
IMAGE_SIZES = tuple(sorted(b << k for b in (7, 8) for k in range(1, 6)))
ALL = "all"  # n_images: every image of the data set
DEVICES = ("auto", "cpu", "cuda", "mps")
COMBINES = ("concat", "adain")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
SWEEP_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$")
BUNDLED_SIZE = 5000


def option(default: Any, help: str) -> Any:
    """A setting a user sets on the command line (glo run, glo sweep, glo serve, glo-tui): HELP is
    its --help text, here once for the typer CLI and glo-tui alike (``OPTION_HELP``)."""
    return field(default=default, metadata={"help": help})


@dataclass
class RunConfig:
    """Every setting of one GLO run. Saved as config.json in the run folder. A command-line setting
    says what it does in its help text; the others in a comment."""

    # --- data ---
    dataset: str = option("bundled", "bundled (real MNIST shipped with glo), mnist, fashionmnist, kmnist, or "
                                     "folder (your images: one sub-folder per class under --data-root).")
    data_root: str | None = option(None, "torchvision data folder for mnist, fashionmnist, kmnist; the image "
                                         "folder for --dataset folder.")
    download: bool = option(False, "Let torchvision download the data set into --data-root (needs internet).")
    n_images: int | str = option(2000, "Training images, class-balanced (n_images / classes per class), or "
                                       "'all': every image of the data set.")
    image_size: int = option(0, "Image side in pixels for --dataset folder (images are resized and centre-"
                                "cropped to it): 14, 16, 28, 32, 56, 64, 112, 128, 224 or 256; 0: the "
                                "images' own size when it is one of these, else the largest one below it.")
    # --- latent codes and regularisation ---
    class_dim: int = 25  # size of the per-class code
    content_dim: int = 25  # size of the per-image content code
    sigma: float = option(0.3, "Std of the Gaussian noise on content codes while training.")
    decay: float = option(0.001, "Activation decay on content codes: decay * mean_batch(sum(code**2)).")
    content_radius: float = 2.0  # content codes are kept inside an L2 ball of this radius (0 = no limit)
    combine: str = option("concat", "How class and content codes meet: concat (into the generator) or adain "
                                    "(the class code modulates its feature maps).")
    # --- optimisation ---
    loss: str = option("l1+l2", "Training loss: l1, l2, l1+l2, or lap1 (the GLO paper's Laplacian-pyramid L1).")
    epochs: int = option(50, "Passes over the training images.")
    batch_size: int = option(32, "Images per step.")
    lr_generator: float = option(3e-3, "Adam learning rate of the generator.")
    lr_latent: float = option(1e-2, "Adam learning rate of the class and content codes.")
    seed: int = option(0, "Random seed: data order, code init and noise (runs repeat exactly on the CPU).")
    device: str = option("auto", "auto (cuda, then mps, then cpu), cpu, cuda or mps.")
    threads: int = option(0, "CPU threads: 0 picks them from the CPUs this process may use and the load it "
                             "meets, again as the load changes; N fixes them (a run then repeats bit for bit).")
    # --- bookkeeping ---
    name: str | None = None  # optional human label, part of the run id
    sweep: str | None = None  # id of the sweep this run belongs to (None for a single run)
    n_show: int = 10  # images shown as originals vs reconstructions (one per class first)

    def __post_init__(self) -> None:
        """The command line gives --n-images as text: a whole number becomes an int, 'all' stays."""
        if isinstance(self.n_images, str):
            text = self.n_images.strip()
            if text.lower() == ALL:
                self.n_images = ALL
            elif text.lstrip("+-").isdigit():
                self.n_images = int(text)

    @property
    def all_images(self) -> bool:
        return self.n_images == ALL

    def validate(self) -> "RunConfig":
        """Raise ConfigError naming the first bad setting; return self when all are valid."""
        check_choice("dataset", self.dataset, DATASETS)
        check_choice("loss", self.loss, LOSSES)
        check_choice("device", self.device, DEVICES)
        check_choice("combine", self.combine, COMBINES)
        check_number("sigma", self.sigma, minimum=0.0)
        check_number("decay", self.decay, minimum=0.0)
        check_number("content_radius", self.content_radius, minimum=0.0)
        check_number("lr_generator", self.lr_generator, minimum=0.0, strict=True)
        check_number("lr_latent", self.lr_latent, minimum=0.0, strict=True)
        for key in ("epochs", "batch_size", "class_dim", "content_dim"):
            check_int(key, getattr(self, key), minimum=1)
        check_int("seed", self.seed, minimum=0)
        check_int("threads", self.threads, minimum=0)
        check_int("n_show", self.n_show, minimum=1)
        self._check_data()
        if self.name is not None:
            check_name(self.name)
        if self.sweep is not None and not (isinstance(self.sweep, str) and SWEEP_RE.match(self.sweep)):
            raise ConfigError(f"sweep must be a sweep id; got {self.sweep!r}")
        return self

    def _check_data(self) -> None:
        """n_images, image_size and data_root against the data set (its contents are checked when it
        is read, by glo.data.sets: classes, sizes, files)."""
        folder = self.dataset == "folder"
        if not self.all_images:
            if isinstance(self.n_images, bool) or not isinstance(self.n_images, int):
                raise ConfigError(f"n_images must be a whole number or 'all'; got {self.n_images!r}")
            least = 2 if folder else 10
            if self.n_images < least:
                what = "two classes" if folder else "one per class"
                raise ConfigError(f"n_images must be at least {least} ({what}), got {self.n_images}")
            if self.dataset == "bundled" and self.n_images > BUNDLED_SIZE:
                raise ConfigError(
                    f"n_images must be at most {BUNDLED_SIZE} for the bundled data set, got {self.n_images}"
                )
        check_int("image_size", self.image_size, minimum=0)
        if self.image_size and self.image_size not in IMAGE_SIZES:
            raise ConfigError(f"image_size must be 0 (the images' own) or one of "
                              f"{', '.join(map(str, IMAGE_SIZES))}; got {self.image_size}")
        if self.image_size and not folder:
            raise ConfigError(f"image_size is for --dataset folder; {self.dataset} images are 28x28")
        if self.dataset != "bundled" and not self.data_root:
            what = "an image folder, one sub-folder per class" if folder else "a torchvision data folder"
            raise ConfigError(
                f"dataset {self.dataset!r} needs --data-root ({what}; for the console: glo-tui --data-root DIR)"
            )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "RunConfig":
        """Build from a saved config, ignoring unknown keys and defaulting missing ones."""
        known = _names(cls)
        return cls(**{k: v for k, v in data.items() if k in known})

    def differences(self) -> dict[str, Any]:
        """The settings that differ from the defaults (for compact listings)."""
        default = _defaults(type(self))
        skip = {"name", "download", "data_root", "sweep"}
        return {
            name: getattr(self, name)
            for name in _names(type(self))
            if name not in skip and getattr(self, name) != default[name]
        }


def parse_n_images(text: str) -> int | str:
    """--n-images as typed (a sweep's value, the console's field): 'all' in any case, or a whole
    number; ValueError otherwise."""
    text = text.strip()
    return ALL if text.lower() == ALL else int(text, 10)


@functools.cache
def _names(cls: type) -> dict[str, None]:
    """The field names of a config class, in order (listings build thousands of configs)."""
    return dict.fromkeys(f.name for f in fields(cls))


@functools.cache
def _defaults(cls: type) -> dict[str, Any]:
    """The default value of every field of a config class."""
    default = cls()
    return {name: getattr(default, name) for name in _names(cls)}


# The settings a user sets on the command line (glo run, glo sweep, glo serve and glo-tui), in the
# order --help lists them, with their help text: read from RunConfig's fields, by typer and glo-tui.
OPTION_HELP: dict[str, str] = {f.name: f.metadata["help"] for f in fields(RunConfig) if "help" in f.metadata}


def option_type(name: str) -> type:
    """The Python type of the command-line setting NAME: int, float, str or bool (data_root: str)."""
    kind = {f.name: f.type for f in fields(RunConfig)}[name]
    return {"int": int, "float": float, "bool": bool}.get(str(kind), str)


def check_choice(key: str, value: object, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ConfigError(f"{key} must be one of {', '.join(allowed)}; got {value!r}")


def check_number(key: str, value: object, minimum: float, strict: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(f"{key} must be a finite number; got {value!r}")
    if value < minimum or (strict and value == minimum):
        relation = ">" if strict else ">="
        raise ConfigError(f"{key} must be {relation} {minimum:g}; got {value:g}")


def check_int(key: str, value: object, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{key} must be a whole number; got {value!r}")
    if value < minimum:
        raise ConfigError(f"{key} must be >= {minimum}; got {value}")


def check_name(name: str) -> None:
    """Run names become part of folder names: letters, digits, '.', '_' and '-' only."""
    if not NAME_RE.match(name) or ".." in name:
        raise ConfigError(
            f"name must be 1-64 characters of letters, digits, '.', '_' or '-' "
            f"(not starting with '.' or '-', no '..'); got {name!r}"
        )
