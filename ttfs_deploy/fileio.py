"""File input and output for every stage: bounded reads and atomic writes.

Reads: regular files only, sizes checked before reading (:func:`read_regular`), gzip capped at what
the header allows (:func:`gunzip_capped`), ``.npz`` members checked against their zip and ``.npy``
headers before loading (:func:`read_npz`). Writes: output locations checked before the job
(:func:`check_output_file`, :func:`check_output_dir`), files and report sets written atomically
(:func:`atomic_write`, :func:`atomic_dir`): nothing half-written is ever left at the output path.
"""

from __future__ import annotations

import io
import math
import os
import pathlib
import shutil
import stat
import tempfile
import zipfile
import zlib
from collections.abc import Callable
from typing import BinaryIO

import numpy as np

from ttfs_deploy.errors import TtfsError, short
from ttfs_deploy.limits import MAX_ARCHIVE_BYTES, MAX_ARRAY_BYTES

__all__ = [
    "atomic_write",
    "atomic_dir",
    "regular_file",
    "read_regular",
    "gunzip_capped",
    "read_npz",
    "check_output_file",
    "check_output_dir",
]


def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], None]) -> pathlib.Path:
    """Call ``write(stream)`` on a temporary file beside ``path``, then rename it over ``path``.

    The file gets the usual permissions (0666 minus the umask; ``mkstemp`` alone would give 0600).
    On any error the temporary file is removed and the error propagates.
    """
    path = pathlib.Path(path)
    handle, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            write(stream)
            stream.flush()
            os.fsync(stream.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        pathlib.Path(tmp).unlink(missing_ok=True)
        raise
    return path


# --- bounded reads: regular files only, sizes checked before anything is read or allocated ----------


def regular_file(path: str | os.PathLike, max_bytes: int, error: type[TtfsError], what: str = "file") -> int:
    """Check that ``path`` is a regular file (after symlinks) of at most ``max_bytes``; return its size.

    A FIFO, socket, device (``/dev/zero``), directory, symlink loop or oversized (sparse) file is
    refused with ``error`` before it is opened, so nothing blocks or reads without end.
    """
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise error(
            f"{path}: no such file ({what})" if what in ("file", "checkpoint") else f"{path}: no such {what}"
        ) from None
    except OSError as exc:
        raise error(f"{path}: cannot read {what} ({exc.strerror or type(exc).__name__})") from None
    if not stat.S_ISREG(info.st_mode):
        kind = "a directory" if stat.S_ISDIR(info.st_mode) else "not a regular file (FIFO, socket or device)"
        raise error(f"{path}: cannot read {what}: it is {kind}")
    if info.st_size > max_bytes:
        raise error(f"{path}: {what} is {info.st_size} bytes, more than the limit of {max_bytes}")
    return info.st_size


def read_regular(path: str | os.PathLike, max_bytes: int, error: type[TtfsError], what: str = "file") -> bytes:
    """The content of a regular file of at most ``max_bytes`` (:func:`regular_file`), read without blocking."""
    regular_file(path, max_bytes, error, what)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
        with os.fdopen(fd, "rb") as stream:
            if not stat.S_ISREG(os.fstat(stream.fileno()).st_mode):  # swapped since the check
                raise error(f"{path}: {what} is not a regular file")
            data = stream.read(max_bytes + 1)
    except OSError as exc:
        raise error(f"{path}: cannot read {what} ({exc.strerror or type(exc).__name__})") from None
    if len(data) > max_bytes:
        raise error(f"{path}: {what} is larger than the limit of {max_bytes} bytes")
    return data


def gunzip_capped(data: bytes, max_bytes: int, error: type[TtfsError], where: str, head: bool = False) -> bytes:
    """Decompress (possibly multi-member) gzip ``data``, refusing output beyond ``max_bytes``.

    ``head``: return only the first ``max_bytes`` of the output (to read a header) instead.
    """
    out, total = [], 0
    try:
        while data:
            inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
            chunk = inflater.decompress(data, max_bytes - total + 1)
            while True:
                out.append(chunk)
                total += len(chunk)
                if total > max_bytes:
                    if head:
                        return b"".join(out)[:max_bytes]
                    raise error(
                        f"{where}: decompresses to more than the {max_bytes} bytes its header allows (trailing data)"
                    )
                if inflater.eof or not inflater.unconsumed_tail:
                    break
                chunk = inflater.decompress(inflater.unconsumed_tail, max_bytes - total + 1)
            if not inflater.eof:
                raise error(f"{where}: corrupt gzip data (truncated)")
            data = inflater.unused_data
    except zlib.error as exc:
        raise error(f"{where}: corrupt gzip data ({exc})") from None
    return b"".join(out)


def _npy_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, max_bytes: int, error, where: str) -> np.ndarray:
    with archive.open(info) as stream:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(stream, max_header_size=4096)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(stream, max_header_size=4096)
        else:
            raise error(f"{where}: unsupported .npy version {version}")
        if dtype.hasobject or dtype.itemsize == 0:
            raise error(f"{where}: holds {dtype} values (objects or empty types are not data)")
        declared = math.prod(shape) * dtype.itemsize
        if declared > max_bytes:
            raise error(f"{where}: claims shape {short(shape)} ({declared} bytes; the limit is {max_bytes})")
        header = stream.tell()
        if header + declared != info.file_size:
            raise error(f"{where}: header claims shape {short(shape)} but the member holds other data")
        raw = stream.read(declared)
    if len(raw) != declared:
        raise error(f"{where}: truncated array data")
    flat = np.frombuffer(raw, dtype=dtype)
    array = flat.reshape(shape[::-1]).T if fortran else flat.reshape(shape)
    return array.copy()


def read_npz(
    path: str | os.PathLike,
    error: type[TtfsError],
    allowed: Callable[[str], bool],
    what: str = "archive",
    max_array: int = MAX_ARRAY_BYTES,
    max_total: int = MAX_ARCHIVE_BYTES,
) -> dict[str, np.ndarray]:
    """The arrays of an ``.npz`` archive, each checked against its zip and ``.npy`` headers before loading.

    Every member must be named by ``allowed`` (without ``.npy``), declare at most ``max_array``
    bytes (all together at most ``max_total``), hold plain data (no pickles), and contain exactly
    what its header says; decompression stops at the declared size.
    """
    data = read_regular(path, max_total, error, what)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
            names = [info.filename for info in infos]
            if len(set(names)) != len(names):
                raise error(f"{path}: {what} names a member twice")
            if sum(info.file_size for info in infos) > max_total:
                raise error(f"{path}: {what} members claim more than {max_total} bytes together")
            arrays = {}
            for info in infos:
                key = info.filename.removesuffix(".npy")
                if not info.filename.endswith(".npy") or not allowed(key):
                    raise error(f"{path}: unexpected member {short(info.filename)} in the {what}")
                if info.file_size > max_array:
                    raise error(f"{path}: member {short(key)} claims {info.file_size} bytes (limit {max_array})")
                arrays[key] = _npy_member(archive, info, max_array, error, f"{path}: member {short(key)}")
    except TtfsError:
        raise
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        ValueError,
        EOFError,
        OSError,
        zlib.error,
        NotImplementedError,
        RuntimeError,
        SyntaxError,
    ) as exc:
        raise error(f"{path}: not a valid {what} ({type(exc).__name__})") from None
    return arrays


# --- outputs: checked before the job starts, report sets written as a whole --------------------------


def check_output_file(path: str | os.PathLike, error: type[TtfsError], inputs=()) -> pathlib.Path:
    """Refuse an output path that cannot be written, before any work: its folder missing, not a
    folder or not writable; the name too long; a directory in the way; or one of ``inputs``."""
    out = pathlib.Path(path)
    _check_name(out, error)
    if out.is_dir():
        raise error(f"output {out} is a directory; give a file name such as {out / 'output'}")
    for source in inputs:
        if source is not None and _same_file(out, source):
            raise error(f"output {out} is also an input; write to another file")
    _check_folder(out.parent, error)
    return out


def check_output_dir(path: str | os.PathLike, error: type[TtfsError], names=()) -> pathlib.Path:
    """Refuse a report folder that cannot receive ``names``: a file, under a file, unwritable, or
    holding a non-file where one of ``names`` goes. Creates nothing."""
    out = pathlib.Path(path)
    _check_name(out, error)
    if out.exists() and not out.is_dir():
        raise error(f"output folder {out} is an existing file")
    if out.is_dir():
        for name in names:
            target = out / name
            if target.exists() and not target.is_file():
                raise error(f"cannot write {target}: something other than a file is in the way")
        _check_folder(out, error)
    else:  # created with its missing parents: the nearest existing ancestor must take it
        ancestor = out.parent
        while str(ancestor) not in ("", ".", "/") and not ancestor.exists() and not ancestor.is_symlink():
            ancestor = ancestor.parent
        _check_folder(ancestor, error)
    return out


def _same_file(a: pathlib.Path, b) -> bool:
    try:
        return a.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def _check_name(out: pathlib.Path, error) -> None:
    try:
        limit = os.pathconf(out.parent if out.parent.is_dir() else ".", "PC_NAME_MAX")
    except (OSError, ValueError):
        limit = 255
    if len(os.fsencode(out.name)) + 24 > limit:  # atomic writes add a prefix and suffix to the name
        raise error(f"output name {short(out.name)} is too long for the file system ({limit} bytes at most)")


def _check_folder(folder: pathlib.Path, error) -> None:
    folder = folder if str(folder) else pathlib.Path(".")
    if not folder.exists():
        raise error(f"output folder {folder} does not exist")
    if not folder.is_dir():
        raise error(f"output folder {folder} is not a folder")
    try:  # the real test: permissions do not bind root, read-only mounts and sysfs do
        handle, probe = tempfile.mkstemp(prefix=".ttfs-write-test.", dir=folder)
    except OSError as exc:
        raise error(f"cannot write into {folder} ({exc.strerror or type(exc).__name__})") from None
    os.close(handle)
    os.unlink(probe)


def atomic_dir(path: str | os.PathLike, write: Callable[[pathlib.Path], list[pathlib.Path]]) -> list[pathlib.Path]:
    """Call ``write(folder)`` on a temporary folder beside ``path``, then move the set into ``path``.

    A new ``path`` appears whole (one rename); into an existing folder each file is renamed over
    its old version only after every file was written. On any error nothing changes at ``path``.
    Returns the written paths as they are under ``path``.
    """
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = pathlib.Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        written = write(tmp)
        umask = os.umask(0)
        os.umask(umask)
        for item in tmp.iterdir():
            os.chmod(item, 0o666 & ~umask)
        if path.exists():
            for item in sorted(tmp.iterdir()):
                os.replace(item, path / item.name)
            tmp.rmdir()
        else:
            os.chmod(tmp, 0o777 & ~umask)
            os.rename(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return [path / p.relative_to(tmp) for p in written]
