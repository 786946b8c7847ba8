"""Image folders as a data set: torchvision's ImageFolder layout, checked, decoded and cached.

``DIR/<class>/<any depth>/<image>.png|jpg|jpeg``: one sub-folder per class (2 to 1000 of them, in
name order, as ImageFolder numbers them), grey or colour images of any size. Checks before any
decoding, each a DataError with one line: the folder is missing or empty, fewer than two classes, a
class without images, an unreadable or corrupt image (named), mixed sizes without ``image_size``, a
symlink leading out of the folder. Files that are not PNG or JPEG by their name (notes, .DS_Store)
are skipped and counted, as ImageFolder skips them; hidden files and folders (``.glo-cache``) are
not looked at.

Images come back as uint8 N x S x S (all grey) or N x S x S x 3 (any colour: every image as RGB),
decoded in worker processes and kept in a decoded cache (``glo.data.imagecache``) keyed by the folder's
file names, sizes and modification times, so a second load reads one file.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from glo.config import IMAGE_SIZES
from glo.errors import DataError

EXTENSIONS = (".png", ".jpg", ".jpeg")
MAX_CLASSES = 1000
GREY_MODES = ("1", "L", "LA", "I", "I;16", "F")
PARALLEL_FROM = 2000  # images: fewer decode faster in this process than a pool starts


@dataclass
class Listing:
    """The images of a folder, in ImageFolder order (class, then path), before decoding."""

    root: Path
    classes: list[str]
    files: list[str]  # paths relative to root
    labels: np.ndarray  # int64, one per file
    stats: list[tuple[int, int]] = field(default_factory=list)  # (size, mtime_ns) per file
    skipped: list[str] = field(default_factory=list)  # non-image files, relative to root


def _inside(path: Path, real_root: Path, root: Path) -> None:
    """Refuse PATH when it (a symlink, or a folder above it) leads out of the data folder."""
    real = Path(os.path.realpath(path))
    if real != real_root and real_root not in real.parents:
        raise DataError(f"{path} is a symlink leading out of the data folder {root} (to {real}); "
                        f"copy the file in or remove the link")


def _class_files(root: Path, real_root: Path, folder: Path) -> tuple[list[str], list[tuple[int, int]], list[str]]:
    """Image files under one class folder (any depth, in name order), their stats, and skipped
    files. One scandir per folder and one stat per file; only symlinks are resolved."""
    files, stats, skipped = [], [], []
    _inside(folder, real_root, root)
    prefix = len(os.path.join(str(root), ""))  # paths below ROOT: their text after it is the relative path
    stack = [folder]
    while stack:
        current = stack.pop()
        try:
            entries = sorted(os.scandir(current), key=lambda e: e.name)
        except OSError as exc:
            raise DataError(f"cannot read {current}: {exc.strerror or exc}") from exc
        subdirs = []
        for entry in entries:
            if entry.name.startswith("."):
                continue
            if entry.is_symlink():
                _inside(Path(entry.path), real_root, root)
                try:
                    if entry.is_dir():
                        continue  # a link to a folder inside the data: not followed (ImageFolder's walk doesn't)
                except OSError as exc:  # a link loop
                    raise DataError(f"cannot read {entry.path}: {exc.strerror or exc}") from exc
            if entry.is_dir(follow_symlinks=False):
                subdirs.append(Path(entry.path))
                continue
            rel = entry.path[prefix:].replace(os.sep, "/")
            if os.path.splitext(entry.name)[1].lower() not in EXTENSIONS:
                skipped.append(rel)
                continue
            try:
                st = entry.stat()
            except OSError as exc:
                raise DataError(f"cannot read {entry.path}: {exc.strerror or exc}") from exc
            if not stat.S_ISREG(st.st_mode):  # a FIFO would block the decoder for ever, a device never end
                raise DataError(f"{entry.path} is not a plain file (a FIFO, device or socket); remove it")
            files.append(rel)
            stats.append((st.st_size, st.st_mtime_ns))
        stack.extend(reversed(subdirs))
    return files, stats, skipped


def scan(root: str | os.PathLike) -> Listing:
    """The class folders and image files of ROOT, checked (see the module docstring)."""
    root = Path(root).expanduser()
    if not root.is_dir():
        raise DataError(f"data folder {root} does not exist (expected one sub-folder per class of PNG or JPEG images)")
    real_root = Path(os.path.realpath(root))
    entries = sorted(p for p in root.iterdir() if not p.name.startswith("."))
    classes = [p.name for p in entries if p.is_dir()]
    if not classes:
        loose = [p.name for p in entries if p.suffix.lower() in EXTENSIONS]
        if loose:
            raise DataError(f"{root} holds images but no class folders: put them in one sub-folder per class "
                            f"(e.g. {root}/cats/{loose[0]})")
        raise DataError(f"data folder {root} is empty: expected one sub-folder per class of PNG or JPEG images")
    if len(classes) < 2:
        raise DataError(f"{root} has one class folder ({classes[0]}); glo needs at least 2 classes "
                        f"(one sub-folder per class)")
    if len(classes) > MAX_CLASSES:
        raise DataError(f"{root} has {len(classes)} class folders; glo takes at most {MAX_CLASSES}")
    listing = Listing(root, classes, [], np.zeros(0, dtype=np.int64))
    labels: list[int] = []
    for c, name in enumerate(classes):
        files, stats, skipped = _class_files(root, real_root, root / name)
        if not files:
            raise DataError(f"class folder {root / name} holds no PNG or JPEG images")
        listing.files += files
        listing.stats += stats
        listing.skipped += skipped
        labels += [c] * len(files)
    listing.labels = np.asarray(labels, dtype=np.int64)
    return listing


def default_size(width: int, height: int) -> int:
    """The image side used when none is given: the images' own when the generator draws it, else
    the largest size it draws below the shorter side (at least the smallest)."""
    if width == height and width in IMAGE_SIZES:
        return width
    below = [s for s in IMAGE_SIZES if s <= min(width, height)]
    return below[-1] if below else IMAGE_SIZES[0]


MAX_PIXELS = 50_000_000  # PIL's decompression-bomb limit, set on purpose: about 7000 x 7000


def decode(path: str, size: int = 0) -> np.ndarray:
    """One image as uint8 H x W (grey) or H x W x 3 (any colour mode, as RGB); centre-cropped and
    resized to SIZE x SIZE when SIZE is given. Any failure (not an image, truncated, corrupt, more
    than MAX_PIXELS pixels, a name or link that cannot be opened) raises DataError naming the file;
    PIL's warnings print nothing (the bomb warning is that error)."""
    import warnings

    from PIL import Image, ImageOps, UnidentifiedImageError

    Image.MAX_IMAGE_PIXELS = MAX_PIXELS  # PIL warns above it and refuses above twice it: refuse above it
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # PIL's other warnings (palette transparency...): not glo's to print
            warnings.simplefilter("error", Image.DecompressionBombWarning)  # above MAX_PIXELS: this file's refusal
            with Image.open(path) as img:
                img = img.convert("L" if img.mode in GREY_MODES else "RGB")
                if size and img.size != (size, size):
                    img = ImageOps.fit(img, (size, size), Image.Resampling.BICUBIC)
                return np.asarray(img, dtype=np.uint8)
    except UnidentifiedImageError as exc:
        raise DataError(f"{path} is not a readable PNG or JPEG image") from exc
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise DataError(f"{path} is too large to decode (more than {MAX_PIXELS:,} pixels)") from exc
    except MemoryError as exc:
        raise DataError(f"{path} is too large to decode (out of memory)") from exc
    except Exception as exc:  # OSError, ValueError, SyntaxError, struct.error, warnings: the file is bad
        first = (str(exc).splitlines() or [type(exc).__name__])[0][:120]
        raise DataError(f"{path} is corrupt or truncated ({first})") from exc


def _decode_chunk(args: tuple[list[str], int]) -> list[np.ndarray]:
    paths, size = args
    return [decode(p, size) for p in paths]


def decode_all(listing: Listing, size: int = 0, workers: int | None = None) -> list[np.ndarray]:
    """Every listed image decoded (at SIZE, or its own size), in order; in worker processes when
    there are many."""
    paths = [str(listing.root / rel) for rel in listing.files]
    if workers is None:
        from glo.host.threads import allowed_cpus

        workers = min(8, allowed_cpus())
    if workers <= 1 or len(paths) < PARALLEL_FROM:
        return _decode_chunk((paths, size))
    step = -(-len(paths) // (workers * 4))
    chunks = [(paths[i:i + step], size) for i in range(0, len(paths), step)]
    with ProcessPoolExecutor(workers) as pool:
        return [image for chunk in pool.map(_decode_chunk, chunks) for image in chunk]


def stack(listing: Listing, decoded: list[np.ndarray], image_size: int = 0) -> np.ndarray:
    """The decoded images as one uint8 array: N x S x S if all are grey, else N x S x S x 3 (grey
    images repeated into RGB). Without IMAGE_SIZE the images must share one size (DataError naming
    two files that differ), resized to ``default_size`` when the generator cannot draw it."""
    shapes: dict[tuple[int, int], str] = {}
    for rel, image in zip(listing.files, decoded, strict=False):
        shapes.setdefault(image.shape[:2], rel)
    if len(shapes) > 1 and not image_size:
        (a, fa), (b, fb) = list(shapes.items())[:2]
        raise DataError(f"images differ in size ({fa} is {a[1]}x{a[0]}, {fb} is {b[1]}x{b[0]}): "
                        f"pass --image-size N (one of {', '.join(map(str, IMAGE_SIZES))}) to resize them")
    (h, w), = shapes
    side = image_size or default_size(w, h)
    if (h, w) != (side, side):
        from PIL import Image, ImageOps

        decoded = [np.asarray(ImageOps.fit(Image.fromarray(x), (side, side), Image.Resampling.BICUBIC))
                   for x in decoded]
    if any(x.ndim == 3 for x in decoded):
        decoded = [x if x.ndim == 3 else np.repeat(x[..., None], 3, axis=2) for x in decoded]
    return np.stack(decoded)


def load_folder(root: str | os.PathLike, image_size: int = 0, cache: bool = True,
                check: Callable[[np.ndarray, int], object] | None = None
                ) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(images, labels, class names) of an image folder: from the decoded cache when the folder
    has not changed since it was written, else decoded (and the cache rewritten). CHECK (given the
    labels and the number of classes) may refuse the listing before anything is decoded or written."""
    from glo.data import imagecache

    listing = scan(root)
    if check is not None:
        check(listing.labels, len(listing.classes))
    key = imagecache.key(listing, image_size)
    if cache:
        hit = imagecache.read(listing.root, key, listing.labels, image_size)
        if hit is not None:
            return hit[0], hit[1], listing.classes
    images = stack(listing, decode_all(listing, image_size), image_size)
    if cache:
        imagecache.write(listing.root, key, images, listing.labels)
    return images, listing.labels, listing.classes
