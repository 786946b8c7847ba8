"""Typed, validated run configuration (no torch import: the CLI validates before any heavy work).

Each setting is described once, on its ``RunConfig`` field (``setting(...)``: a ``Setting``): its
command-line help, its bounds or choices, whether it can change while training (and its mark on
the loss chart), whether a sweep may vary it, and its place in the console's form. Validation,
live changes, sweep values, the console's form and the command-line options (``glo run``,
``glo sweep``, ``glo serve``, ``glo-tui``) all read ``SETTINGS``.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, cast

from glo.errors import ConfigError

LOSSES = ("l1", "l2", "l1+l2", "lap1")
DATASETS = ("bundled", "mnist", "fashionmnist", "kmnist", "folder")
# image sizes the generator draws: 7 or 8 pixels doubled 1 to 5 times (one up-convolution per doubling)
IMAGE_SIZES = tuple(sorted(b << k for b in (7, 8) for k in range(1, 6)))
ALL = "all"  # n_images: every image of the data set
DEVICES = ("auto", "cpu", "cuda", "mps")
COMBINES = ("concat", "adain")
NOISES = ("per-dim", "relative")  # how sigma is read (noise_std)
INITS = ("random", "pca")
PRECISIONS = ("fp32", "bf16")
CODE_DIM_MAX = 65536
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
SWEEP_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$")
BUNDLED_SIZE = 5000
# the largest whole number any integer setting may be: a run's settings are sqlite INTEGERs in the runs
# folder's index and torch int64s (torch.manual_seed takes up to 2**64 - 1, sqlite up to 2**63 - 1)
INT_MAX = 2**63 - 1
COUNT_MAX = 2**31 - 1  # epochs, images, batch size: their products (steps, images seen) stay within INT_MAX


@dataclass(frozen=True)
class Setting:
    """What one setting is, beside its type and default: filled in by ``setting()`` on a field."""

    help: str | None = None  # its --help text; None: not a command-line option
    minimum: float | None = None  # numbers: the least value allowed
    strict: bool = False  # the minimum itself is refused (learning rates: > 0)
    maximum: float | None = None  # numbers: the largest value allowed (whole numbers: INT_MAX at most)
    choices: tuple[str, ...] = ()  # text: the values allowed (the console's form: a Select of them)
    live: str | None = None  # can change while training: its mark on the loss chart (sigma: σ)
    sweep: bool = False  # a sweep may vary it (glo sweep --param, the console's sweep field)
    form: tuple[int, str] | None = None  # in the console's settings form: (position, label)
    roomy: bool = False  # the form shows it only on a screen with rows to spare (not at 80x24)
    # set from the field itself (SETTINGS): its name, and its kind: int, float, bool, str, or images
    # (a whole number or 'all'), which says how its text is read (parse_setting)
    name: str = ""
    kind: str = "str"

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


def setting(default: Any, help: str | None = None, **described: Any) -> Any:
    """A RunConfig field described once: HELP makes it a command-line option (glo run, glo sweep,
    glo serve, glo-tui); the rest are ``Setting``'s fields."""
    return field(default=default, metadata={"setting": Setting(help=help, **described)})


@dataclass
class RunConfig:
    """Every setting of one GLO run. Saved as config.json in the run folder. A command-line setting
    says what it does in its help text; the others in a comment."""

    # --- data ---
    dataset: str = setting("bundled", "bundled (real MNIST shipped with glo), mnist, fashionmnist, kmnist, or "
                                      "folder (your images: one sub-folder per class under --data-root).",
                           choices=DATASETS, sweep=True, form=(0, "data set"))
    data_root: str | None = setting(None, "torchvision data folder for mnist, fashionmnist, kmnist; the image "
                                          "folder for --dataset folder.")
    download: bool = setting(False, "Let torchvision download the data set into --data-root (needs internet).")
    n_images: int | str = setting(2000, "Training images, class-balanced (n_images / classes per class), or "
                                        "'all': every image of the data set.",
                                  maximum=COUNT_MAX, sweep=True, form=(7, "images"))
    image_size: int = setting(0, "Image side in pixels for --dataset folder (images are resized and centre-"
                                 "cropped to it): 14, 16, 28, 32, 56, 64, 112, 128, 224 or 256; 0: the "
                                 "images' own size when it is one of these, else the largest one below it.",
                              minimum=0, sweep=True)
    # --- latent codes and regularisation ---
    class_dim: int = setting(25, "Size of the class code (one code per class, shared by its images).",
                             minimum=1, maximum=CODE_DIM_MAX, sweep=True, form=(9, "class dim"),
                             roomy=True)
    content_dim: int = setting(25, "Size of each image's own content code.",
                               minimum=1, maximum=CODE_DIM_MAX, sweep=True, form=(10, "cont. dim"),
                               roomy=True)
    sigma: float = setting(0.3, "Gaussian noise on content codes while training: its std per code dimension "
                                "(--noise per-dim), or its expected length over the code ball's radius "
                                "(--noise relative).",
                           minimum=0.0, live="σ", sweep=True, form=(1, "sigma"))
    noise: str = setting("per-dim", "How --sigma is read: per-dim (the noise's std on each dimension, as glo "
                                    "always did: the same sigma drowns a long code more) or relative (std "
                                    "sigma * radius / sqrt(content_dim) per dimension: a sigma means the same "
                                    "noise-to-code ratio for any --content-dim).",
                         choices=NOISES, sweep=True)
    decay: float = setting(0.001, "Activation decay on content codes: decay * mean_batch(sum(code**2)).",
                           minimum=0.0, live="λ", sweep=True, form=(2, "decay"))
    # content codes are kept inside an L2 ball of this radius (0 = no limit)
    content_radius: float = setting(2.0, minimum=0.0, sweep=True)
    combine: str = setting("concat", "How class and content codes meet: concat (into the generator) or adain "
                                     "(the class code modulates its feature maps).",
                           choices=COMBINES, sweep=True, form=(4, "combine"))
    width: int = setting(64, "The generator's base width: the feature maps its Linear layer draws at 28x28 and "
                             "32x32 (64: 64 x 7 x 7, then 32, as glo always had); each larger image size doubles "
                             "them once per extra level.",
                         minimum=2, maximum=4096, sweep=True, form=(11, "width"),
                         roomy=True)
    init: str = setting("random", "How content codes start: random (Gaussian, scaled to the code ball) or pca "
                                  "(the training images' leading principal components, scaled into the code "
                                  "ball; needs --content-dim at most the images and their pixels).",
                        choices=INITS, sweep=True)
    # --- optimisation ---
    loss: str = setting("l1+l2", "Training loss: l1, l2, l1+l2, or lap1 (the GLO paper's Laplacian-pyramid L1).",
                        choices=LOSSES, live="loss ", sweep=True, form=(3, "loss"))
    epochs: int = setting(50, "Passes over the training images.", minimum=1, maximum=COUNT_MAX, sweep=True,
                          form=(5, "epochs"))
    batch_size: int = setting(32, "Images per step.", minimum=1, maximum=COUNT_MAX, sweep=True,
                              form=(6, "batch size"))
    lr_generator: float = setting(3e-3, "Adam learning rate of the generator.", minimum=0.0, strict=True,
                                  sweep=True)
    lr_latent: float = setting(1e-2, "Adam learning rate of the class and content codes.", minimum=0.0,
                               strict=True, sweep=True)
    seed: int = setting(0, "Random seed: data order, code init and noise (runs repeat exactly on the CPU).",
                        minimum=0, maximum=INT_MAX, sweep=True, form=(8, "seed"))
    device: str = setting("auto", "auto (cuda, then mps, then cpu), cpu, cuda or mps.", choices=DEVICES)
    precision: str = setting("fp32", "fp32, or bf16: mixed precision (the generator's passes in bfloat16, the "
                                     "codes, weights and optimiser in float32); needs a GPU or CPU with "
                                     "bfloat16 support.", choices=PRECISIONS, sweep=True)
    threads: int = setting(0, "CPU threads: 0 picks them from the CPUs this process may use and the load it "
                              "meets, again as the load changes; N fixes them (a run then repeats bit for bit).",
                           minimum=0, maximum=4096)
    # --- bookkeeping ---
    name: str | None = None  # optional human label, part of the run id
    sweep: str | None = None  # id of the sweep this run belongs to (None for a single run)
    n_show: int = setting(10, minimum=1, maximum=COUNT_MAX)  # images shown as originals vs reconstructions

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

    @property
    def code_std(self) -> float:
        """A content code's scale per dimension: radius / sqrt(content_dim), the random init's std (radius
        2 where content_radius is 0, no limit), so that codes of any size start at the same length."""
        return (self.content_radius or 2.0) / math.sqrt(self.content_dim)

    @property
    def noise_scale(self) -> float:
        """What sigma is multiplied by to give the noise's std per code dimension: 1 for --noise per-dim;
        for relative, ``code_std``, so the noise's expected length is sigma x radius whatever the code's size."""
        return 1.0 if self.noise == "per-dim" else self.code_std

    def validate(self) -> RunConfig:
        """Raise ConfigError naming the first bad setting; return self when all are valid: every
        described setting against its choices or bounds (``check``), then the data's settings together."""
        for key in CHECKED:
            check(key, getattr(self, key))
        self._check_data()
        if self.init == "pca" and not self.all_images and self.content_dim > cast(int, self.n_images):
            raise ConfigError(f"init pca needs content_dim at most n_images (its principal components come from "
                              f"the training images); got content_dim {self.content_dim} for {self.n_images} "
                              f"images", key="content_dim")
        if self.name is not None:
            check_name(self.name)
        if self.sweep is not None and not (isinstance(self.sweep, str) and SWEEP_RE.match(self.sweep)):
            raise ConfigError(f"sweep must be a sweep id; got {self.sweep!r}", key="sweep")
        return self

    def _check_data(self) -> None:
        """n_images, image_size and data_root against the data set (its contents are checked when it
        is read, by glo.data.sets: classes, sizes, files)."""
        folder = self.dataset == "folder"
        if not self.all_images:
            check("n_images", self.n_images)
            count = cast(int, self.n_images)  # check() let only a whole number through ('all' aside)
            least = 2 if folder else 10
            if count < least:
                what = "two classes" if folder else "one per class"
                raise ConfigError(f"n_images must be at least {least} ({what}), got {self.n_images}", key="n_images")
            if self.dataset == "bundled" and count > BUNDLED_SIZE:
                raise ConfigError(f"n_images must be at most {BUNDLED_SIZE} for the bundled data set, "
                                  f"got {self.n_images}", key="n_images")
        if self.image_size and self.image_size not in IMAGE_SIZES:
            raise ConfigError(f"image_size must be 0 (the images' own) or one of "
                              f"{', '.join(map(str, IMAGE_SIZES))}; got {self.image_size}", key="image_size")
        if self.image_size and not folder:
            raise ConfigError(f"image_size is for --dataset folder; {self.dataset} images are 28x28", key="image_size")
        if self.dataset != "bundled" and not self.data_root:
            what = "an image folder, one sub-folder per class" if folder else "a torchvision data folder"
            raise ConfigError(f"dataset {self.dataset!r} needs --data-root ({what}; for the console: "
                              f"glo-tui --data-root DIR)", key="dataset")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunConfig:
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


def _field_names(cls: type) -> dict[str, None]:
    """The field names of a config class, in order (listings build thousands of configs)."""
    return dict.fromkeys(f.name for f in fields(cls))


def _default_values(cls: type) -> dict[str, Any]:
    """The default value of every field of a config class."""
    default = cls()
    return {name: getattr(default, name) for name in _names(cls)}


# both cached per class. Typed as functions of a class: mypy takes a class given as ``cls`` or
# ``type(self)`` for unhashable (it checks the instances' __hash__ against Hashable), wrongly
_names: Callable[[type], dict[str, None]] = functools.cache(_field_names)
_defaults: Callable[[type], dict[str, Any]] = functools.cache(_default_values)


def _kind(annotation: Any) -> str:
    """A field's kind from its annotation: int, float, bool, str, or images (int | str: n_images)."""
    text = str(annotation).replace(" ", "")
    return {"int": "int", "float": "float", "bool": "bool", "int|str": "images"}.get(text, "str")


# every described setting of RunConfig, in field order: its Setting with its name and kind filled in
SETTINGS: dict[str, Setting] = {
    f.name: replace(f.metadata["setting"], name=f.name, kind=_kind(f.type))
    for f in fields(RunConfig) if "setting" in f.metadata
}
# the settings validate() checks one by one, in the order it reports them: choices, numbers, whole numbers
CHECKED: tuple[str, ...] = tuple(
    [n for n, s in SETTINGS.items() if s.choices] + [n for n, s in SETTINGS.items() if s.kind == "float"]
    + [n for n, s in SETTINGS.items() if s.kind == "int" and not s.choices]
)
# the settings a user sets on the command line (glo run, glo sweep, glo serve and glo-tui), in the
# order --help lists them, with their help text
OPTION_HELP: dict[str, str] = {name: s.help for name, s in SETTINGS.items() if s.help is not None}
LIVE_PARAMS: tuple[str, ...] = tuple(name for name, s in SETTINGS.items() if s.live)  # sigma, decay, loss
SWEEPABLE: tuple[str, ...] = tuple(name for name, s in SETTINGS.items() if s.sweep)
# the console's settings form: (setting, label) in the form's order
FORM: tuple[tuple[str, str], ...] = tuple(
    (name, s.form[1]) for name, s in sorted(SETTINGS.items(), key=lambda i: i[1].form or (0, ""))
    if s.form is not None
)


def option_type(name: str) -> type:
    """The Python type of the command-line setting NAME: int, float, str or bool (data_root: str)."""
    return {"int": int, "float": float, "bool": bool}.get(SETTINGS[name].kind, str)


def parse_setting(key: str, text: str) -> Any:
    """A setting's value as typed (the console's form, a sweep's value): the number, 'all' or text;
    a ConfigError naming KEY when it is not one. Its bounds are ``check``'s (RunConfig.validate)."""
    s, text = SETTINGS[key], str(text).strip()
    try:
        if s.kind == "float":
            return float(text)
        if s.kind == "int":
            return int(text, 10)
        if s.kind == "images":
            return parse_n_images(text)
    except ValueError:
        what = "a whole number or 'all'" if s.kind == "images" else "a whole number" if s.kind == "int" \
            else "a finite number"
        raise ConfigError(f"{key} must be {what}; got {text!r}", key=key) from None
    return text


def parse_n_images(text: str) -> int | str:
    """--n-images as typed (a sweep's value, the console's field): 'all' in any case, or a whole
    number; ValueError otherwise."""
    text = text.strip()
    return ALL if text.lower() == ALL else int(text, 10)


def check(key: str, value: Any) -> None:
    """One setting's value against its description (choices, kind, bounds); ConfigError naming KEY."""
    s = SETTINGS[key]
    if s.choices:
        check_choice(key, value, s.choices)
    elif s.kind == "float":
        check_number(key, value, s.minimum if s.minimum is not None else -math.inf, s.strict, s.maximum)
    elif s.kind in ("int", "images"):
        if s.kind == "images" and value == ALL:
            return
        if s.kind == "images" and (isinstance(value, bool) or not isinstance(value, int)):
            raise ConfigError(f"{key} must be a whole number or 'all'; got {value!r}", key=key)
        check_int(key, value, s.minimum, s.maximum)


def check_live(key: str, value: Any) -> Any:
    """One change while training: the value to apply; ConfigError naming KEY when it is not allowed,
    ValueError when KEY cannot change while training."""
    if key not in LIVE_PARAMS:
        raise ValueError(f"{key!r} cannot be changed while training; only {', '.join(LIVE_PARAMS)}")
    check(key, value)
    return float(value) if SETTINGS[key].kind == "float" else value


def check_choice(key: str, value: object, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ConfigError(f"{key} must be one of {', '.join(allowed)}; got {value!r}", key=key)


def check_number(key: str, value: object, minimum: float, strict: bool = False,
                 maximum: float | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(f"{key} must be a finite number; got {value!r}", key=key)
    if value < minimum or (strict and value == minimum):
        relation = ">" if strict else ">="
        raise ConfigError(f"{key} must be {relation} {minimum:g}; got {value:g}", key=key)
    if maximum is not None and value > maximum:
        raise ConfigError(f"{key} must be <= {maximum:g}; got {value:g}", key=key)


def check_int(key: str, value: object, minimum: float | None, maximum: float | None = None) -> None:
    """A whole number within [MINIMUM, MAXIMUM] (MAXIMUM: at most INT_MAX, what sqlite and torch hold)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{key} must be a whole number; got {value!r}", key=key)
    if minimum is not None and value < minimum:
        raise ConfigError(f"{key} must be >= {minimum}; got {value}", key=key)
    most = INT_MAX if maximum is None else min(maximum, INT_MAX)
    if value > most:
        raise ConfigError(f"{key} must be <= {most}; got {value}", key=key)


def check_name(name: str) -> None:
    """Run names become part of folder names: letters, digits, '.', '_' and '-' only."""
    if not NAME_RE.match(name) or ".." in name:
        raise ConfigError(
            f"name must be 1-64 characters of letters, digits, '.', '_' or '-' "
            f"(not starting with '.' or '-', no '..'); got {name!r}", key="name"
        )
