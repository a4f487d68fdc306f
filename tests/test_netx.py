"""lava-dl netx files (ttfs_deploy.interop.netx): round trips, lava-dl's own files against its netx
Network run in Lava, refusals and hostile files."""

import dataclasses

import h5py
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.helpers import chain_net, cli
from ttfs_deploy.interop import InteropError
from ttfs_deploy.interop.netx import read_netx, write_netx
from ttfs_deploy.ir import InputLayer, NetworkIR
from ttfs_deploy.ir.lif import LifLayer, RateCoding
from ttfs_deploy.semantics.lif import simulate_rate


def _lif_net(rng, sizes, T, exponents, vth=(30, 20)):
    layers = [InputLayer("input", sizes[0])]
    for k, (a, b) in enumerate(zip(sizes, sizes[1:])):
        du, dv = int(rng.integers(0, 4096)), int(rng.integers(0, 4096))
        bias = int(rng.integers(-3, 4))
        weight = rng.integers(-127, 128, (b, a))
        layers.append(LifLayer(f"l{k}", weight, vth[k % 2], du, dv, bias_mant=bias, bias_exp=6 if bias else 0))
    edges = tuple((x.name, y.name) for x, y in zip(layers, layers[1:]))
    quant = {"profile": "loihi2", "weight_bits": 8, "membrane_bits": 24, "weight_exponents": list(exponents)}
    return NetworkIR(tuple(layers), edges, T, "silent", (1, sizes[0]), quant=quant, rate=RateCoding())


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(1, 6), min_size=2, max_size=4), st.integers(2, 20), st.integers(0, 2**32 - 1))
def test_round_trip_golden_equal(tmp_path_factory, sizes, T, seed):
    rng = np.random.default_rng(seed)
    net = _lif_net(rng, sizes, T, rng.integers(0, 2, len(sizes) - 1))
    path = tmp_path_factory.mktemp("netx") / "net.net"
    write_netx(net, path)
    back = read_netx(path)
    assert back.T == T and back.sizes == net.sizes
    spikes = rng.random((3, T, sizes[0])) < 0.5
    for x, y in zip(simulate_rate(net, spikes), simulate_rate(back, spikes)):
        assert np.array_equal(x, y)


def _slayer_file(path, seed=0):
    """A 12-8-5 network of lava-dl SLAYER CUBA Dense blocks, exported by lava-dl itself."""
    import lava.lib.dl.slayer as slayer
    import torch

    torch.manual_seed(seed)
    params = {"threshold": 0.5, "current_decay": 0.25, "voltage_decay": 0.03, "requires_grad": False}
    blocks = torch.nn.ModuleList(
        [
            slayer.block.cuba.Dense(params, 12, 8, weight_norm=False),
            slayer.block.cuba.Dense(params, 8, 5, weight_norm=False),
        ]
    )
    x = torch.rand(1, 12, 4)
    for block in blocks:
        with torch.no_grad():
            block.synapse.weight.mul_(4)  # enough drive for spikes in a few steps
        x = block(x)
    with h5py.File(path, "w") as handle:
        layer = handle.create_group("layer")
        for i, block in enumerate(blocks):
            block.export_hdf5(layer.create_group(f"{i}"))


def _netx_in_lava(path, spikes: np.ndarray, n_layers: int) -> np.ndarray:
    """lava-dl's own netx Network run in Lava (fixed_pt) on one sample's (T, n_in) spikes: output (T, n_out)."""
    import multiprocessing

    # Lava sets the 'fork' start method at import; once tqdm has fixed it that raises (as in backends/lava_sim.py)
    if multiprocessing.get_start_method(allow_none=True) == "fork":
        multiprocessing.set_start_method(None, force=True)
    from lava.lib.dl.netx.hdf5 import Network
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc.io.sink import RingBuffer as Sink
    from lava.proc.io.source import RingBuffer as Source

    T = spikes.shape[0]
    steps = T + n_layers
    data = np.zeros((spikes.shape[1], steps))
    data[:, :T] = spikes.T
    net = Network(net_config=str(path))
    source, sink = Source(data=data), Sink(shape=net.out.shape, buffer=steps)
    source.s_out.connect(net.inp)
    net.out.connect(sink.a_in)
    try:
        net.run(condition=RunSteps(num_steps=steps), run_cfg=Loihi2SimCfg(select_tag="fixed_pt"))
        out = sink.data.get()
    finally:
        net.stop()
    return out[:, n_layers : n_layers + T].T  # output local step t is sent at Lava step t + layers


@pytest.mark.requires_lava
@pytest.mark.slow
@pytest.mark.parametrize("source", ["lava-dl", "ttfs-deploy"])
def test_golden_equals_lava_dl_netx_network(tmp_path, source):
    rng = np.random.default_rng(3)
    path = tmp_path / "net.net"
    if source == "lava-dl":
        _slayer_file(path)
        ir = read_netx(path, steps=16)
    else:
        write_netx(_lif_net(rng, [12, 8, 5], 16, [1, 0]), path)
        ir = read_netx(path)
    spikes = rng.random((1, 16, 12)) < 0.5
    golden = simulate_rate(ir, spikes)[-1][0]
    assert golden.sum() > 5  # the comparison sees spikes
    assert np.array_equal(_netx_in_lava(path, spikes[0], 2), golden)


def _write(path, layers, simulation=True):
    with h5py.File(path, "w") as handle:
        if simulation:
            handle.create_dataset("simulation/tSample", data=8)
        for k, items in enumerate(layers):
            for key, value in items.items():
                handle.create_dataset(f"layer/{k}/{key}", data=value)


NEURON = {"neuron/type": b"CUBA", "neuron/iDecay": 1024, "neuron/vDecay": 128, "neuron/vThMant": 80}
INPUT = {"type": np.array([b"input"]), "shape": np.array([3])}
DENSE = {"type": np.array([b"dense"]), "shape": np.array([2]), "weight": np.ones((2, 3)), **NEURON}


@pytest.mark.parametrize(
    "layers, needle",
    [
        ([INPUT, {**DENSE, "type": np.array([b"conv"])}], "layer 1: netx layer type 'conv'"),
        ([INPUT, {**DENSE, "type": np.array([b"dense_rec"])}], "layer 1: netx layer type 'dense_rec'"),
        ([INPUT, {**DENSE, "neuron/gradedSpike": True}], "layer 1: graded spikes"),
        ([INPUT, {**DENSE, "delay": np.ones(2)}], "layer 1: synaptic delays"),
        ([{**INPUT, **NEURON}, DENSE], "layer 0: an input layer with a neuron takes images through its bias"),
        (
            [
                INPUT,
                {k: v for k, v in DENSE.items() if not k.startswith("neuron")},
                {**DENSE, "weight": np.ones((2, 2))},
            ],
            "must be the last layer",
        ),
        ([INPUT, {**DENSE, "bias": np.array([1.0, 2.0])}], "layer 1: per-neuron biases"),
        ([INPUT, {**DENSE, "weight": np.full((2, 3), 1000.0)}], "layer 1: weights 1000..1000 are outside"),
        ([INPUT, {**DENSE, "weight": np.array([[255.0, 1, 0], [0, 0, 0]])}], "layer 1: weights 0..255 need more"),
        ([INPUT, {**DENSE, "neuron/iDecay": 0}], "layer 1: du"),
    ],
)
def test_refusals_name_the_layer(tmp_path, layers, needle):
    path = tmp_path / "bad.net"
    _write(path, layers)
    with pytest.raises(InteropError, match=needle):
        read_netx(path)


def test_cli_refusals_and_hostile_files(tmp_path):
    bad = tmp_path / "bad.net"
    _write(bad, [INPUT, {**DENSE, "type": np.array([b"conv"])}])
    proc = cli("run", bad, "--target", "golden", "--data", "digits:test")
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "layer 1: netx layer type 'conv'" in proc.stderr
    huge = tmp_path / "huge.net"
    _write(huge, [INPUT, {k: v for k, v in DENSE.items() if k != "weight"}])
    with h5py.File(huge, "a") as handle:
        handle["layer/1"].create_dataset(
            "weight", shape=(10**6, 10**6), dtype="f4", chunks=(1, 1024), compression="gzip"
        )
    with pytest.raises(InteropError, match="declares shape"):
        read_netx(huge)
    missing = tmp_path / "missing.net"
    _write(missing, [INPUT, {k: v for k, v in DENSE.items() if k != "neuron/vThMant"}])
    with pytest.raises(InteropError, match="layer 1: missing vThMant"):
        read_netx(missing)
    no_steps = tmp_path / "nosteps.net"
    _write(no_steps, [INPUT, DENSE], simulation=False)
    with pytest.raises(InteropError, match="--steps"):
        read_netx(no_steps)
    assert read_netx(no_steps, steps=12).T == 12


def test_export_refuses_fire_once_and_imports_with_steps(tmp_path):
    fire_once = chain_net([np.ones((2, 3))], [1.0], 8)
    with pytest.raises(InteropError, match="fire-once property"):
        write_netx(fire_once, tmp_path / "f.net")
    proc = cli("export", "mnist-s4nn", "--format", "netx", "-o", tmp_path / "s.net")
    assert proc.returncode == 2 and "fire-once" in proc.stderr and not (tmp_path / "s.net").exists()
    no_steps = tmp_path / "nosteps.net"
    digits = {**DENSE, "shape": np.array([10]), "weight": np.full((10, 64), 2.0)}
    _write(no_steps, [{**INPUT, "shape": np.array([64])}, digits], simulation=False)
    out = tmp_path / "n.ttfs"
    proc = cli("import", no_steps, "--steps", "10", "-o", out)
    assert proc.returncode == 0, proc.stderr
    run = cli("run", out, "--target", "golden", "--data", "digits:test", "--limit", "3", "--json")
    assert run.returncode == 0, run.stderr
    direct = cli("run", no_steps, "--target", "golden", "--data", "digits:test", "--limit", "3")
    assert direct.returncode == 2 and "--steps" in direct.stderr and direct.stderr.count("\n") == 1


def _dense_digits_example():
    """examples/byom/train_slayer_dense_digits.py as a module (lava-dl's default layout, trained by SLAYER)."""
    import importlib.util
    import pathlib

    path = pathlib.Path(__file__).parents[1] / "examples/byom/train_slayer_dense_digits.py"
    spec = importlib.util.spec_from_file_location("train_slayer_dense_digits", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _netx_bias_in_lava(path, bias_mant: np.ndarray, T: int):
    """lava-dl's netx Network in Lava (fixed_pt), input through the input layer's bias as lava-dl presents
    dense input: every layer's spikes and the read-out's membrane, in local time."""
    import multiprocessing

    if multiprocessing.get_start_method(allow_none=True) == "fork":
        multiprocessing.set_start_method(None, force=True)
    from lava.lib.dl.netx.hdf5 import Network
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc.io.sink import RingBuffer as Sink
    from lava.proc.monitor.process import Monitor

    net = Network(net_config=str(path))
    net.in_layer.neuron.bias_mant.init = bias_mant
    L, steps = len(net.layers) - 1, T + len(net.layers) - 1
    sinks = [Sink(shape=layer.out.shape, buffer=steps) for layer in net.layers]
    for layer, sink in zip(net.layers, sinks):
        layer.out.connect(sink.a_in)
    monitor = Monitor()
    monitor.probe(net.out_layer.neuron.v, steps)
    try:
        net.run(condition=RunSteps(num_steps=steps), run_cfg=Loihi2SimCfg(select_tag="fixed_pt"))
        spikes = [sink.data.get() for sink in sinks]
        v = monitor.get_data()[net.out_layer.neuron.name]["v"]
    finally:
        net.stop()
    # the input neurons' local step t is Lava step t + 1 (index t); layer k's is index t + k
    return [s[:, k : k + T].T for k, s in enumerate(spikes)], v[L : L + T]


@pytest.mark.requires_lava
@pytest.mark.slow
def test_golden_equals_lava_dl_default_layout_and_its_accuracy(tmp_path):
    from ttfs_deploy import data
    from ttfs_deploy.ir import save_ir
    from ttfs_deploy.pipelines.run_rate import run_rate_target
    from ttfs_deploy.semantics.lif import bias_input_raster, simulate_lif

    example = _dense_digits_example()
    blocks = example.train(epochs=8, hidden=24)
    path = tmp_path / "dense.net"
    example.export(blocks, str(path))
    ir = read_netx(path, input_norm=(example.MEAN, example.STD))
    assert ir.rate.scheme == "bias" and ir.chain()[-1].integrator
    test = data.load("digits:test")
    cfg = ir.rate.bias_input
    for k in range(3):
        image = test.images[k : k + 1]
        rasters, membrane = simulate_lif(ir, bias_input_raster(ir.rate, image, ir.T))
        mant = np.trunc(((image[0] / 255 - cfg.mean) / cfg.std) * cfg.weight + cfg.bias).astype(int)
        lava_spikes, lava_v = _netx_bias_in_lava(path, mant, ir.T)
        assert rasters[1].sum() > 10  # the comparison sees hidden spikes
        for golden, lava in zip(rasters, lava_spikes):
            assert np.array_equal(golden[0], lava)
        assert np.array_equal(membrane[0], lava_v)
    save_ir(ir, tmp_path / "dense.ttfs")  # what `ttfs-deploy import --input-norm` writes
    golden = run_rate_target(str(tmp_path / "dense.ttfs"), "golden", test).result.accuracy
    assert abs(golden - example.accuracy(blocks, test)) <= 0.03, (golden, example.accuracy(blocks, test))


@pytest.mark.requires_lava
def test_loihi_sim_reads_the_integrator_membrane_as_golden(tmp_path):
    """lava-dl's layout (bias input, non-spiking integrator read-out) on loihi-sim: stock Dense + LIF,
    the integrator's v read through a RefPort; spikes and membrane equal golden's, step for step."""
    from ttfs_deploy.backends import lava_lif
    from ttfs_deploy.semantics.lif import simulate_lif

    rng = np.random.default_rng(3)
    net = _lif_net(rng, [12, 9, 4], 7, [1, 2])
    last = net.chain()[-1]
    integrator = LifLayer(last.name, last.weight, 0, 0, 0, bias_mant=5, bias_exp=6, integrator=True)
    ir = dataclasses.replace(net, layers=(*net.chain()[:-1], integrator))
    spikes = rng.random((5, ir.T, 12)) < 0.5
    want, want_v = simulate_lif(ir, spikes)
    got, got_v = lava_lif.simulate_lif(ir, spikes, timeout_s=120)
    assert want[1].sum() > 5 and np.abs(want_v).max() > 0
    for a, b in zip(want, got):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(want_v, got_v)
