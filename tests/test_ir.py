"""NetworkIR: validation, graph view, .ttfs round trips and every malformed-file case."""

import io
import json
import subprocess
import sys
import zipfile

import networkx as nx
import numpy as np
import pytest

from ttfs_deploy import ir as irm
from ttfs_deploy.ir import FireOnceLayer, InputLayer, IRError, NetworkIR, from_checkpoint_weights, load_ir, save_ir

QUANT = {"profile": "loihi2", "weight_bits": 8, "membrane_bits": 24, "weight_exponents": [1, -2]}


def float_net(**changes):
    rng = np.random.default_rng(0)
    net = from_checkpoint_weights(
        [rng.normal(size=(5, 6)), rng.normal(size=(3, 5))],
        [1.5, 2.0],
        16,
        "silent",
        (2, 3),
        meta={"source": "test", "accuracy": 0.5},
    )
    return irm.NetworkIR(**{**net.__dict__, **changes}) if changes else net


def quant_net(**changes):
    rng = np.random.default_rng(1)
    layers = (
        InputLayer("input", 6),
        FireOnceLayer("fc1", rng.integers(-128, 128, (5, 6)).astype(np.int32), 300),
        FireOnceLayer("fc2", rng.integers(-128, 128, (3, 5)).astype(np.int32), 0),
    )
    fields = dict(
        layers=layers,
        edges=(("input", "fc1"), ("fc1", "fc2")),
        T=256,
        zero_policy="last",
        image_shape=(2, 3),
        quant=dict(QUANT),
        meta={"target": "loihi-sim"},
    )
    fields.update(changes)
    return NetworkIR(**fields)


def assert_same(a: NetworkIR, b: NetworkIR):
    assert [type(x) for x in a.chain()] == [type(x) for x in b.chain()]
    for x, y in zip(a.chain(), b.chain()):
        assert x.name == y.name and x.size == y.size
        if isinstance(x, FireOnceLayer):
            assert x.weight.dtype == y.weight.dtype
            np.testing.assert_array_equal(x.weight, y.weight)
            assert x.threshold == y.threshold and type(x.threshold) is type(y.threshold)
    assert (a.edges, a.T, a.zero_policy, a.image_shape, a.delay, a.quant, a.meta) == (
        b.edges,
        b.T,
        b.zero_policy,
        b.image_shape,
        b.delay,
        b.quant,
        b.meta,
    )


# --- construction and validation -------------------------------------------------------------------


def test_from_checkpoint_weights_builds_a_float_chain():
    net = float_net()
    assert [layer.name for layer in net.chain()] == ["input", "fc1", "fc2"]
    assert net.sizes == [6, 5, 3] and not net.is_quantized and net.delay == 1
    assert [layer.threshold for layer in net.fire_once_layers()] == [1.5, 2.0]
    assert from_checkpoint_weights([np.ones((2, 4))], 3, 8, "silent", (2, 2)).fire_once_layers()[0].threshold == 3.0


def test_quantized_network_properties():
    net = quant_net()
    assert net.is_quantized and net.sizes == [6, 5, 3]
    assert all(layer.weight.dtype == np.int32 for layer in net.fire_once_layers())


def test_graph_carries_layers_and_chain_ignores_listing_order():
    net = quant_net()
    shuffled = NetworkIR(
        tuple(reversed(net.layers)), net.edges, net.T, net.zero_policy, net.image_shape, quant=net.quant
    )
    graph = shuffled.graph()
    assert isinstance(graph, nx.DiGraph) and set(graph.edges) == {("input", "fc1"), ("fc1", "fc2")}
    assert graph.nodes["fc1"]["layer"] is net.layers[1]
    assert [layer.name for layer in shuffled.chain()] == ["input", "fc1", "fc2"]


def test_layers_are_immutable_copies():
    weight = np.ones((2, 3))
    layer = FireOnceLayer("a", weight, 1.0)
    weight[0, 0] = 5
    assert layer.weight[0, 0] == 1
    with pytest.raises(ValueError):
        layer.weight[0, 0] = 2
    with pytest.raises(AttributeError):
        layer.threshold = 3


def _fl(name, n_out, n_in, threshold=1.0):
    return FireOnceLayer(name, np.ones((n_out, n_in)), threshold)


@pytest.mark.parametrize(
    "layers, edges, message",
    [
        ((_fl("a", 2, 4),), (), "exactly one InputLayer"),
        ((InputLayer("i", 4), InputLayer("j", 4), _fl("a", 2, 4)), (("i", "a"),), "exactly one InputLayer"),
        ((InputLayer("i", 4), _fl("a", 2, 4), _fl("b", 2, 4)), (("i", "a"), ("i", "b")), "feeds 2 layers"),
        ((InputLayer("i", 4), _fl("a", 2, 4), _fl("b", 2, 2)), (("i", "a"),), "not on the path"),
        ((InputLayer("i", 4), _fl("a", 2, 4), _fl("b", 2, 2)), (("i", "a"), ("a", "b"), ("b", "a")), "cycle"),
        ((InputLayer("i", 4), _fl("a", 2, 3)), (("i", "a"),), "expects 3 inputs"),
        ((InputLayer("i", 4), _fl("a", 2, 4)), (("i", "x"),), "unknown layer"),
        ((InputLayer("i", 4), _fl("i", 2, 4)), (("i", "i"),), "duplicate layer name"),
        ((InputLayer("i", 4),), (), "at least one FireOnceLayer"),
    ],
)
def test_structural_errors(layers, edges, message):
    net = NetworkIR(layers, edges, 8, "silent", (2, 2))
    with pytest.raises(IRError, match=message):
        net.chain()


def test_image_shape_must_match_input():
    with pytest.raises(IRError, match="image_shape"):
        NetworkIR((InputLayer("i", 4), _fl("a", 2, 4)), (("i", "a"),), 8, "silent", (3, 3)).chain()


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"T": 1}, r"T must be 2\.\.65536 steps"),
        ({"T": 2**40}, r"T must be 2\.\.65536 steps"),
        ({"T": 2.5}, "T must be an integer"),
        ({"zero_policy": "black"}, "zero_policy"),
        ({"delay": 0}, "delay"),
        ({"image_shape": (6,)}, "image_shape"),
        ({"quant": {"profile": "x"}}, r"quant: missing \['membrane_bits', 'weight_bits', 'weight_exponents'\]"),
        ({"quant": {**QUANT, "rounding": "up"}}, r"unknown \['rounding'\]"),
        ({"quant": [1, 2]}, "quant must be a QuantSpec, a dict or None"),
        ({"quant": {**QUANT, "membrane_bits": 1}}, "membrane_bits"),
        ({"quant": {**QUANT, "weight_exponents": [0.5, 1]}}, "weight_exponents"),
        ({"meta": []}, "meta must be a dict"),
    ],
)
def test_field_errors(changes, message):
    with pytest.raises(IRError, match=message):
        quant_net(**changes)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: FireOnceLayer("a", np.ones(3), 1.0), "2-D"),
        (lambda: FireOnceLayer("a", np.ones((0, 3)), 1.0), "2-D"),
        (lambda: FireOnceLayer("a", np.full((2, 2), np.nan), 1.0), "finite"),
        (lambda: FireOnceLayer("a", np.ones((2, 2)), -1.0), ">= 0"),
        (lambda: FireOnceLayer("a", np.ones((2, 2)), "1"), "threshold must be a number"),
        (lambda: FireOnceLayer("a", np.array([["x"]]), 1), "numeric"),
        (lambda: FireOnceLayer("", np.ones((2, 2)), 1), "non-empty"),
        (lambda: InputLayer("i", 0), r"size must be an integer in 1\.\.100000, got 0"),
    ],
)
def test_layer_errors(make, message):
    with pytest.raises(IRError, match=message):
        make()


def test_quantized_checks():
    net = quant_net()
    fc1, fc2 = net.fire_once_layers()
    with pytest.raises(IRError, match="int32 weights"):
        quant_net(layers=(net.layers[0], FireOnceLayer("fc1", fc1.weight.astype(float), 300), fc2)).chain()
    with pytest.raises(IRError, match="do not fit 8 signed bits"):
        quant_net(layers=(net.layers[0], FireOnceLayer("fc1", fc1.weight * 2, 300), fc2)).chain()
    with pytest.raises(IRError, match="integer threshold"):
        quant_net(layers=(net.layers[0], FireOnceLayer("fc1", fc1.weight, 300.5), fc2)).chain()
    with pytest.raises(IRError, match="membrane bits"):
        quant_net(layers=(net.layers[0], FireOnceLayer("fc1", fc1.weight, 2**23), fc2)).chain()
    with pytest.raises(IRError, match="2 fire-once layers"):
        quant_net(quant={**QUANT, "weight_exponents": [0]}).chain()


def test_error_messages_are_one_line():
    with pytest.raises(IRError) as info:
        NetworkIR((InputLayer("i", 4), _fl("a", 2, 3)), (("i", "a"),), 8, "silent", (2, 2)).chain()
    assert "\n" not in str(info.value)


def test_ir_module_imports_neither_torch_nor_lava():
    code = "import sys, ttfs_deploy.ir; print(sorted(m for m in ('torch', 'lava') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# --- files -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("make", [float_net, quant_net])
def test_round_trip(tmp_path, make):
    net = make()
    path = save_ir(net, tmp_path / "net.ttfs")
    assert path == tmp_path / "net.ttfs"
    assert_same(net, load_ir(path))
    assert [p.name for p in tmp_path.iterdir()] == ["net.ttfs"]  # no temp file left


def test_save_is_atomic(tmp_path, monkeypatch):
    path = save_ir(quant_net(), tmp_path / "net.ttfs")
    before = path.read_bytes()

    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez_compressed", fail)
    with pytest.raises(OSError, match="disk full"):
        save_ir(float_net(), path)
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["net.ttfs"]


def test_save_rejects_unserialisable_meta(tmp_path):
    with pytest.raises(IRError, match="JSON"):
        save_ir(quant_net(meta={"x": object()}), tmp_path / "net.ttfs")
    assert not list(tmp_path.iterdir())


def _archive(metadata, arrays=None) -> bytes:
    stream = io.BytesIO()
    payload = (
        {}
        if metadata is None
        else {
            "metadata": np.frombuffer(
                metadata if isinstance(metadata, bytes) else json.dumps(metadata).encode(), dtype=np.uint8
            )
        }
    )
    np.savez(stream, **payload, **(arrays or {}))
    return stream.getvalue()


def _good_metadata(tmp_path):
    path = save_ir(quant_net(), tmp_path / "good.ttfs")
    with np.load(path) as archive:
        return json.loads(archive["metadata"].tobytes()), {k: archive[k] for k in archive.files if k != "metadata"}


def _edit(metadata, **changes):
    return {**metadata, **changes}


BAD_FILES = {
    "empty": lambda md, ar: b"",
    "random bytes": lambda md, ar: bytes(range(256)) * 4,
    "plain npy": lambda md, ar: (lambda s: (np.save(s, np.arange(3)), s.getvalue())[1])(io.BytesIO()),
    "pickle": lambda md, ar: __import__("pickle").dumps({"a": 1}),
    "no metadata": lambda md, ar: _archive(None, ar),
    "metadata not json": lambda md, ar: _archive(b"{not json", ar),
    "metadata not utf-8": lambda md, ar: _archive(b"\xff\xfe", ar),
    "metadata wrong dtype": lambda md, ar: (lambda s: (np.savez(s, metadata=np.arange(3.0), **ar), s.getvalue())[1])(
        io.BytesIO()
    ),
    "metadata is a list": lambda md, ar: _archive([1, 2], ar),
    "foreign format": lambda md, ar: _archive(_edit(md, format="nir"), ar),
    "future version": lambda md, ar: _archive(_edit(md, version=2), ar),
    "missing key": lambda md, ar: _archive({k: v for k, v in md.items() if k != "T"}, ar),
    "T not int": lambda md, ar: _archive(_edit(md, T="256"), ar),
    "bad layer kind": lambda md, ar: _archive(_edit(md, layers=[{"kind": "conv", "name": "x"}]), ar),
    "layer without name": lambda md, ar: _archive(_edit(md, layers=[{"kind": "input", "size": 6}]), ar),
    "bad edges": lambda md, ar: _archive(_edit(md, edges=[["input"]]), ar),
    "missing weight": lambda md, ar: _archive(md, {k: v for k, v in ar.items() if k != "weight_1"}),
    "wrong weight shape": lambda md, ar: _archive(md, {**ar, "weight_1": np.zeros((3, 4), np.int32)}),
    "object weight": lambda md, ar: (
        lambda s: (
            np.savez(
                s,
                metadata=np.frombuffer(json.dumps(md).encode(), np.uint8),
                weight_0=np.array([None, 1], dtype=object),
                weight_1=ar["weight_1"],
            ),
            s.getvalue(),
        )[1]
    )(io.BytesIO()),
    "string weight": lambda md, ar: _archive(md, {**ar, "weight_0": np.full((5, 6), "a")}),
    "threshold string": lambda md, ar: _archive(
        _edit(md, layers=[md["layers"][0], {**md["layers"][1], "threshold": "300"}, md["layers"][2]]), ar
    ),
    "float weights in quantized": lambda md, ar: _archive(md, {**ar, "weight_0": ar["weight_0"].astype(float)}),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_malformed_files_raise_one_line_irerror(tmp_path, case):
    metadata, arrays = _good_metadata(tmp_path)
    path = tmp_path / "bad.ttfs"
    path.write_bytes(BAD_FILES[case](metadata, arrays))
    with pytest.raises(IRError) as info:
        load_ir(path)
    message = str(info.value)
    assert str(path) in message and "\n" not in message


def test_truncated_files_raise_irerror(tmp_path):
    data = save_ir(quant_net(), tmp_path / "good.ttfs").read_bytes()
    path = tmp_path / "cut.ttfs"
    for size in range(0, len(data), max(1, len(data) // 25)):
        path.write_bytes(data[:size])
        with pytest.raises(IRError, match="cut.ttfs"):
            load_ir(path)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(IRError, match="nope.ttfs"):
        load_ir(tmp_path / "nope.ttfs")
    with pytest.raises(IRError, match="is a directory"):
        load_ir(tmp_path)


def test_zip_with_garbage_member(tmp_path):
    path = tmp_path / "odd.ttfs"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("metadata.npy", b"not an npy header")
    with pytest.raises(IRError, match="odd.ttfs"):
        load_ir(path)


def test_meta_ann_sizes_are_used_only_when_they_are_layer_sizes():
    from ttfs_deploy.ir.network import layer_sizes

    assert layer_sizes([784, 400, 10]) == [784, 400, 10]
    for bad in (None, "784-10", [784], [784, True], [784, 0], [784, 10**9], [784.0, 10], {"a": 1}):
        assert layer_sizes(bad) is None, bad
