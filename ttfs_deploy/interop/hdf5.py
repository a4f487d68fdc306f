"""A bounded HDF5 reader for foreign model files (netx ``.net``, NIR ``.nir``).

``read_tree`` walks the file's groups into nested dicts of NumPy arrays (bytes decoded to str) and
checks, before any dataset is read: a regular file of at most :data:`MAX_CHECKPOINT_BYTES`; at most
:data:`MAX_NODES` groups and datasets, nested at most :data:`MAX_DEPTH` deep; every dataset's
*declared* shape times its item size within :data:`~ttfs_deploy.limits.MAX_ARRAY_BYTES`, all of them
together within :data:`~ttfs_deploy.limits.MAX_ARCHIVE_BYTES`; numeric, boolean or string types
only. A gzip-compressed dataset that declares 10^12 elements is refused from its header, so nothing
is decompressed; external links and references are refused.
"""

from __future__ import annotations

import math
import os

import numpy as np

from ttfs_deploy.errors import TtfsError, short
from ttfs_deploy.fileio import regular_file
from ttfs_deploy.limits import MAX_ARCHIVE_BYTES, MAX_ARRAY_BYTES, MAX_CHECKPOINT_BYTES

__all__ = ["read_tree", "MAX_NODES", "MAX_DEPTH"]

MAX_NODES = 10_000
MAX_DEPTH = 16
_STRING_BYTES = 4096  # what one variable-length string element is charged against the limits


def read_tree(path: str | os.PathLike, error: type[TtfsError], what: str) -> dict:
    """The HDF5 file at ``path`` as nested dicts (see module doc); every failure is one ``error`` line."""
    import h5py

    regular_file(path, MAX_CHECKPOINT_BYTES, error, what)
    budget = {"nodes": 0, "bytes": 0}
    try:
        with h5py.File(path, "r") as handle:
            return _group(handle, error, f"{path}", budget, 0)
    except TtfsError:
        raise
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
        raise error(
            f"{path}: not a readable {what} (HDF5: {short(str(exc).splitlines()[0] if str(exc) else '')})"
        ) from None


def _group(group, error, where: str, budget: dict, depth: int) -> dict:
    import h5py

    if depth > MAX_DEPTH:
        raise error(f"{where}: groups nested more than {MAX_DEPTH} deep")
    out = {}
    for key in group.keys():
        budget["nodes"] += 1
        if budget["nodes"] > MAX_NODES:
            raise error(f"{where}: more than {MAX_NODES} groups and datasets")
        link = group.get(key, getlink=True)
        if not isinstance(link, h5py.HardLink):
            raise error(f"{where}/{short(key)}: external or soft links are not read")
        item = group[key]
        if isinstance(item, h5py.Group):
            out[key] = _group(item, error, f"{where}/{key}", budget, depth + 1)
        elif isinstance(item, h5py.Dataset):
            out[key] = _dataset(item, error, f"{where}/{key}", budget)
        else:
            raise error(f"{where}/{short(key)}: not a group or dataset")
    return out


def _dataset(item, error, where: str, budget: dict):
    dtype, shape = item.dtype, item.shape
    if shape is None:
        raise error(f"{where}: empty dataspace")
    string = dtype.kind in "OSU" and _is_string(dtype)
    if not string and dtype.kind not in "biuf":
        raise error(f"{where}: holds {dtype} values (only numbers, booleans and strings are read)")
    count = math.prod(shape)
    declared = count * (_STRING_BYTES if dtype.kind == "O" else max(dtype.itemsize, 1))
    if declared > MAX_ARRAY_BYTES:
        raise error(f"{where}: declares shape {short(shape)} ({declared} bytes; the limit is {MAX_ARRAY_BYTES})")
    budget["bytes"] += declared
    if budget["bytes"] > MAX_ARCHIVE_BYTES:
        raise error(f"{where}: datasets declare more than {MAX_ARCHIVE_BYTES} bytes together")
    value = item[()]
    if string:
        return _decode(value)
    return value


def _is_string(dtype) -> bool:
    import h5py

    if dtype.kind in "SU":
        return True
    return h5py.check_string_dtype(dtype) is not None


def _decode(value):
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, np.ndarray) and value.dtype.kind in "OS":
        return np.vectorize(lambda v: v.decode("utf-8", "replace") if isinstance(v, bytes) else v, otypes=[object])(
            value
        )
    return value
