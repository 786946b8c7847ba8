"""Reading .npz files glo wrote (a run's images.npz, an image folder's decoded cache) without
trusting them: each array's header is read and checked (dtype, number of axes, size) before any
memory is allocated for it.

``np.load`` allocates what a .npy header claims: a header tampered to say (1e6, 1e6, 1e3) asks for
an exabyte (numpy's ``_ArrayMemoryError``), and a smaller claim could really be allocated. Here an
array must fit in the bytes its zip member really holds and under MAX_BYTES, or the file is
refused with a ``DamagedArray`` (a ValueError) saying what is wrong.
"""

from __future__ import annotations

import errno
import os
import zipfile
from dataclasses import dataclass
from typing import IO

import numpy as np

from glo.host import atomic

MAX_BYTES = 1 << 33  # 8 GiB: no array glo writes comes near it


class DamagedArray(ValueError):
    """An .npz file that is not what glo wrote (its message says what is wrong)."""


@dataclass(frozen=True)
class Spec:
    """What one array must be: a dtype among DTYPES and a number of axes among NDIMS."""

    dtypes: tuple[str, ...]
    ndims: tuple[int, ...]


def _header(fh: IO[bytes], name: str) -> tuple[tuple[int, ...], bool, np.dtype]:
    """(shape, Fortran order, dtype) of the .npy header FH starts with."""
    fmt = np.lib.format
    try:
        version = fmt.read_magic(fh)
        if version == (1, 0):
            shape, fortran, dtype = fmt.read_array_header_1_0(fh)
        elif version == (2, 0):
            shape, fortran, dtype = fmt.read_array_header_2_0(fh)
        else:
            raise DamagedArray(f"{name} has .npy format {version}, not 1.0 or 2.0")
    except DamagedArray:
        raise
    except Exception as exc:  # numpy raises ValueError, SyntaxError, TypeError... on bad headers
        raise DamagedArray(f"{name} has a damaged header") from exc
    return shape, fortran, dtype


def _check(name: str, spec: Spec, shape: tuple[int, ...], dtype: np.dtype, room: int, max_bytes: int) -> None:
    if dtype.hasobject or dtype.name not in spec.dtypes:
        raise DamagedArray(f"{name} is {dtype}, not {' or '.join(spec.dtypes)}")
    if len(shape) not in spec.ndims or any(not isinstance(n, int) or n < 0 for n in shape):
        raise DamagedArray(f"{name} has shape {shape}")
    size = dtype.itemsize
    for n in shape:
        size *= n
    if size > room or size > max_bytes:
        raise DamagedArray(f"{name} claims shape {shape} ({size:,} bytes), more than the file holds")


def open_plain(path: str | os.PathLike[str]) -> IO[bytes]:
    """PATH opened for reading if it is a plain file; a symbolic link, FIFO or device there (which
    could block a reader for ever, or never end) raises DamagedArray without being read."""
    try:
        fd = atomic.open_plain_fd(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise DamagedArray("it is a symbolic link, not a plain file") from exc
        if exc.errno == errno.EINVAL:
            raise DamagedArray("it is not a plain file") from exc
        raise
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


@dataclass(frozen=True)
class MappedFile:
    """Where a memory-mapped array's bytes lie, so that another process of this machine maps the
    same pages instead of receiving a copy (a sweep's workers share one image folder's cache)."""

    path: str
    offset: int
    shape: tuple[int, ...]
    dtype: str
    identity: tuple[int, ...]  # the file's device, inode, size and mtime: the same file, not a rewritten one

    def unchanged(self) -> bool:
        """The file is still there, as it was when it was mapped."""
        try:
            return _identity(os.stat(self.path)) == self.identity
        except OSError:
            return False

    def open(self) -> np.ndarray:
        """The array, mapped copy-on-write; DamagedArray when the file is no longer the one mapped."""
        with open_plain(self.path) as fh:
            if _identity(os.fstat(fh.fileno())) != self.identity:
                raise DamagedArray(f"{self.path} changed since it was mapped")
            return _map(fh, self.offset, self.shape, np.dtype(self.dtype), self)


def _identity(st: os.stat_result) -> tuple[int, ...]:
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


class MappedArray(np.memmap):
    """A memory-mapped array that knows its file (``source``, the whole mapping only: a view or a
    copy made from it has none)."""

    source: MappedFile | None = None


def mapped_source(array: np.ndarray) -> MappedFile | None:
    """Where ARRAY's bytes lie when it is a whole memory-mapped array read by ``read_npz``, else None."""
    return array.source if isinstance(array, MappedArray) else None


def _map(fh: IO[bytes], offset: int, shape: tuple[int, ...], dtype: np.dtype, source: MappedFile | None) -> np.ndarray:
    view = MappedArray(fh, dtype=dtype, mode="c", offset=offset, shape=shape, order="C")
    view.source = source
    return view


def _mapped(fh: IO[bytes], info: zipfile.ZipInfo, array_offset: int, shape: tuple[int, ...],
            dtype: np.dtype, path: str | None) -> np.ndarray | None:
    """The array of a stored (uncompressed) zip member, mapped from FH copy-on-write (pages are read
    when touched, and shared with the page cache, not copied); None when it cannot be mapped. PATH
    (FH's file) lets another process map it too (``MappedFile``)."""
    if info.compress_type != zipfile.ZIP_STORED or not shape or 0 in shape:
        return None
    fh.seek(info.header_offset)
    local = fh.read(30)
    if len(local) != 30 or local[:4] != b"PK\x03\x04":
        return None
    start = info.header_offset + 30 + int.from_bytes(local[26:28], "little") + int.from_bytes(local[28:30], "little")
    source = None
    if path is not None:
        source = MappedFile(path, start + array_offset, shape, dtype.str, _identity(os.fstat(fh.fileno())))
    return _map(fh, start + array_offset, shape, dtype, source)


def read_npz(source: str | os.PathLike[str] | IO[bytes], specs: dict[str, Spec],
             max_bytes: int = MAX_BYTES, mapped: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
    """The arrays SPECS names, each checked against its Spec and against the bytes its zip member
    holds before it is read; raises DamagedArray (or OSError when the file cannot be read). A path
    must be a plain file (``open_plain``). The arrays MAPPED names are memory-mapped (copy-on-write)
    instead of read when they are stored uncompressed in C order, as ``np.savez`` writes them."""
    if isinstance(source, (str, os.PathLike)):
        with open_plain(source) as fh:
            return _read_npz(fh, specs, max_bytes, mapped, os.path.abspath(source))
    return _read_npz(source, specs, max_bytes, mapped, None)


def _read_npz(source: IO[bytes], specs: dict[str, Spec], max_bytes: int, mapped: tuple[str, ...],
              path: str | None) -> dict[str, np.ndarray]:
    out = {}
    try:
        with zipfile.ZipFile(source) as zf:
            for name, spec in specs.items():
                try:
                    info = zf.getinfo(f"{name}.npy")
                except KeyError:
                    raise DamagedArray(f"no array {name!r}") from None
                with zf.open(info) as fh:
                    shape, fortran, dtype = _header(fh, name)
                    _check(name, spec, shape, dtype, info.file_size, max_bytes)
                    array_offset = fh.tell()
                view = None
                if not fortran and name in mapped:
                    view = _mapped(source, info, array_offset, shape, dtype, path)
                if view is not None:
                    out[name] = view
                    continue
                with zf.open(info) as fh:
                    out[name] = np.lib.format.read_array(fh, allow_pickle=False)
    except (zipfile.BadZipFile, EOFError, zipfile.LargeZipFile, NotImplementedError, RuntimeError) as exc:
        raise DamagedArray(f"not a readable .npz file ({str(exc)[:80]})") from exc
    except ValueError as exc:
        if isinstance(exc, DamagedArray):
            raise
        raise DamagedArray(f"damaged array data ({str(exc)[:80]})") from exc
    return out
