"""NIR import/export (ttfs_deploy.interop.nir_io): round trips, snnTorch's file, refusals, hostile files."""

import json

import h5py
import nir
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.helpers import REPO, chain_net, cli
from ttfs_deploy.compiler.pipeline import compile_network
from ttfs_deploy.errors import TtfsError
from ttfs_deploy.interop import InteropError
from ttfs_deploy.interop.nir_io import read_nir, write_nir
from ttfs_deploy.ir import InputLayer, NetworkIR
from ttfs_deploy.ir.lif import LifLayer, RateCoding
from ttfs_deploy.semantics.fire_once import simulate
from ttfs_deploy.semantics.lif import simulate_rate

FIXTURE = REPO / "tests" / "fixtures" / "snntorch_lif.nir"


def _sizes(draw, n_layers):
    return [draw(st.integers(1, 6)) for _ in range(n_layers + 1)]


@st.composite
def fire_once_nets(draw):
    sizes = _sizes(draw, draw(st.integers(1, 3)))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    weights = [rng.normal(size=(b, a)) * 3 for a, b in zip(sizes, sizes[1:])]
    return chain_net(weights, [draw(st.floats(0.0, 5.0)) for _ in weights], draw(st.integers(2, 40)))


@st.composite
def lif_nets(draw):
    sizes = _sizes(draw, draw(st.integers(1, 3)))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    layers = [InputLayer("input", sizes[0])]
    for k, (a, b) in enumerate(zip(sizes, sizes[1:])):
        du = draw(st.sampled_from([1.0, 0.0, draw(st.floats(0.01, 1.0))]))
        dv = draw(st.sampled_from([0.0, 1.0, draw(st.floats(0.01, 1.0))]))
        bias = 0.0 if (dv == 0.0 and du < 1.0) else draw(st.sampled_from([0.0, draw(st.floats(-1.0, 1.0))]))
        layers.append(LifLayer(f"l{k}", rng.normal(size=(b, a)), draw(st.floats(0.1, 3.0)), du, dv, bias_mant=bias))
    edges = tuple((x.name, y.name) for x, y in zip(layers, layers[1:]))
    return NetworkIR(tuple(layers), edges, draw(st.integers(2, 20)), "silent", (1, sizes[0]), rate=RateCoding())


def _compiled_pair(before: NetworkIR, after: NetworkIR):
    """Both compiled for golden, or both refused with the same message (then None)."""
    results = []
    for net in (before, after):
        try:
            results.append(compile_network(net, "golden").ir)
        except TtfsError as err:
            results.append(str(err))
    if isinstance(results[0], str):
        assert results[0] == results[1]
        return None
    return results


def _same_layers(a: NetworkIR, b: NetworkIR):
    for x, y in zip(a.chain(), b.chain()):
        assert type(x) is type(y) and x.size == y.size
        if hasattr(x, "weight"):
            assert np.array_equal(x.weight, y.weight)
            assert (x.params() if isinstance(x, LifLayer) else x.threshold) == (
                y.params() if isinstance(y, LifLayer) else y.threshold
            )
    assert (a.T, a.zero_policy, a.image_shape, a.rate) == (b.T, b.zero_policy, b.image_shape, b.rate)


@settings(max_examples=25, deadline=None)
@given(fire_once_nets(), st.integers(0, 2**32 - 1))
def test_fire_once_round_trip_golden_equal(tmp_path_factory, net, seed):
    path = tmp_path_factory.mktemp("nir") / "net.nir"
    write_nir(net, path)
    back = read_nir(path)
    _same_layers(net, back)
    t_in = np.random.default_rng(seed).integers(0, net.T + 1, size=(8, net.sizes[0]))
    pair = _compiled_pair(net, back)
    if pair is None:
        return
    before, after = pair
    for x, y in zip(simulate(before, t_in), simulate(after, t_in)):
        assert np.array_equal(x, y)


@settings(max_examples=25, deadline=None)
@given(lif_nets(), st.integers(0, 2**32 - 1))
def test_lif_round_trip_golden_equal(tmp_path_factory, net, seed):
    path = tmp_path_factory.mktemp("nir") / "net.nir"
    write_nir(net, path)
    back = read_nir(path)
    _same_layers(net, back)
    spikes = np.random.default_rng(seed).random((4, net.T, net.sizes[0])) < 0.5
    pair = _compiled_pair(net, back)
    if pair is None:
        return
    before, after = pair
    for x, y in zip(simulate_rate(before, spikes), simulate_rate(after, spikes)):
        assert np.array_equal(x, y)


def test_snntorch_file_imports_and_runs():
    ir = read_nir(FIXTURE)
    assert ir.sizes == [64, 16, 10] and ir.neuron == "lif"
    hidden, out = ir.chain()[1:]
    # snnTorch: tau = dt / (1 - beta), r = tau / dt  ->  dv = 1 - beta, unit gain, current = input
    assert (hidden.du, out.du) == (1.0, 1.0)
    assert hidden.dv == pytest.approx(0.2) and out.dv == pytest.approx(0.1) and hidden.vth == 1.0
    proc = cli("run", FIXTURE, "--target", "golden", "--data", "digits:test", "--limit", "100", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["accuracy"] > 0.6
    proc = cli("run", FIXTURE, "--target", "float", "--data", "digits:test", "--limit", "100", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["target"] == "float" and json.loads(proc.stdout)["accuracy"] > 0.6


def test_lif_network_deploys_without_using_calibration_data():
    # the pytest plugin's ttfs_compile deploys with the default calibration data (784-pixel digits); a LIF
    # network compiles without calibration, so its 64 inputs must not be checked against that data
    from ttfs_deploy.compiler.pipeline import deploy

    deployed = deploy(FIXTURE, "golden")
    assert deployed.ir.is_quantized and deployed.ir.sizes == [64, 16, 10]
    assert "no calibration" in deployed.note


def _graph(neuron, weight_node=None, n=3):
    nodes = {
        "input": nir.Input({"input": np.array([2])}),
        "w": weight_node or nir.Linear(np.ones((n, 2))),
        "n": neuron,
        "output": nir.Output({"output": np.array([n])}),
    }
    return nir.NIRGraph(nodes, [("input", "w"), ("w", "n"), ("n", "output")], type_check=False)


ONES, ZEROS = np.ones(3), np.zeros(3)


@pytest.mark.parametrize(
    "graph, needle",
    [
        (
            _graph(nir.IF(ONES, ONES, ZEROS), nir.Conv2d(np.array([2, 1]), np.ones((3, 1, 1, 1)), 1, 0, 1, 1, ZEROS)),
            "Conv2d",
        ),
        (_graph(nir.IF(ONES, np.array([1.0, 2.0, 1.0]), ZEROS)), "per-neuron v_threshold"),
        (_graph(nir.IF(ONES, ONES, ONES)), "v_reset != 0"),
        (_graph(nir.LIF(ONES, ONES, ZEROS, ONES, ZEROS, metadata={"fire_once": True})), "fire_once metadata"),
        (_graph(nir.IF(ONES, ONES, ZEROS, metadata={"fire_once": True}), nir.Affine(np.ones((3, 2)), ONES)), "bias"),
        (_graph(nir.CubaLIF(ONES, ONES, ONES, ZEROS, ONES, ZEROS), nir.Affine(np.ones((3, 2)), ONES)), "CubaLIF"),
        (_graph(nir.LI(ONES, ONES, ZEROS)), "'LI' has no mapping"),
    ],
)
def test_refusals_name_the_node(tmp_path, graph, needle):
    path = tmp_path / "bad.nir"
    nir.write(path, graph)
    with pytest.raises(InteropError, match=needle):
        read_nir(path)
    proc = cli("compile", path, "--target", "golden", "--calibration", "none", "-o", tmp_path / "x.ttfs")
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and needle.split()[0].strip("'") in proc.stderr


def test_hostile_files_refused_without_reading(tmp_path):
    huge = tmp_path / "huge.nir"
    nir.write(huge, _graph(nir.IF(ONES, ONES, ZEROS)))
    with h5py.File(huge, "a") as f:
        del f["node/nodes/w/weight"]
        f["node/nodes/w"].create_dataset(
            "weight", shape=(10**6, 10**6), dtype="f8", chunks=(1, 1024), compression="gzip"
        )
    assert huge.stat().st_size < 100_000
    with pytest.raises(InteropError, match="declares shape"):
        read_nir(huge)
    missing = tmp_path / "missing.nir"
    nir.write(missing, _graph(nir.LIF(ONES, ONES, ZEROS, ONES, ZEROS)))
    with h5py.File(missing, "a") as f:
        del f["node/nodes/n/tau"]
    with pytest.raises(InteropError, match="malformed NIR graph"):
        read_nir(missing)
    garbage = tmp_path / "garbage.nir"
    garbage.write_bytes(b"not hdf5" * 10)
    with pytest.raises(InteropError, match="not a readable NIR file"):
        read_nir(garbage)


def test_export_command_and_refusals(tmp_path):
    out = tmp_path / "s4nn.nir"
    proc = cli("export", "mnist-s4nn", "--format", "nir", "-o", out)
    assert proc.returncode == 0, proc.stderr
    back = read_nir(out)
    assert back.sizes == [784, 400, 10] and back.neuron == "fire_once" and back.T == 256
    assert nir.read(out).nodes["fc1"].metadata["fire_once"]
    # target float runs a NIR graph by golden's float arithmetic: the same decisions as the torch model's
    runs = [cli("run", m, "--target", "float", "--limit", "40", "--json") for m in (out, "mnist-s4nn")]
    assert all(r.returncode == 0 for r in runs), [r.stderr for r in runs]
    from_nir, from_pt = (json.loads(r.stdout)["samples"] for r in runs)
    assert from_nir == from_pt
    ttfs = tmp_path / "q.ttfs"
    net = chain_net([np.ones((2, 3))], [1.0], 8)
    from ttfs_deploy.ir import save_ir

    save_ir(compile_network(net, "golden").ir, ttfs)
    bad = cli("export", ttfs, "--format", "nir", "-o", tmp_path / "q.nir")
    assert bad.returncode == 2 and "quantised" in bad.stderr and not (tmp_path / "q.nir").exists()
    from ttfs_deploy.ir.network import from_checkpoint_weights
    from ttfs_deploy.train.checkpoint import save_checkpoint
    from ttfs_deploy.train.model import TTFSClassifier

    assert from_checkpoint_weights([np.ones((3, 2)), np.ones((2, 3))], 1.0, 8, "silent", (2, 1), readout="membrane")
    save_checkpoint(tmp_path / "m.pt", TTFSClassifier([2, 3, 2], [1.0, 0.0], 8), "silent", (2, 1), {}, {}, "membrane")
    bad = cli("export", tmp_path / "m.pt", "--format", "nir", "-o", tmp_path / "m.nir")
    assert bad.returncode == 2 and "'fc2': an integrator read-out" in bad.stderr and not (tmp_path / "m.nir").exists()
