"""loihi-sim (Lava CPU simulator) against the golden simulator, spike for spike.

Lava runs start several OS processes (Lava forks this test process) and cost ~0.2-1 s each plus
~1 ms per simulated step, so the property tests use few examples.
"""

import multiprocessing
import subprocess
import sys
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ttfs_deploy import semantics
from ttfs_deploy.backends import golden, lava_sim
from ttfs_deploy.compiler.mapping import MappingError
from ttfs_deploy.ir import FireOnceLayer, InputLayer, NetworkIR

from .helpers import chain_net, quant


def assert_equal_times(got, expected):
    assert len(got) == len(expected)
    for k, (a, b) in enumerate(zip(got, expected)):
        assert a.dtype == np.int64 and a.shape == b.shape, f"layer {k}"
        np.testing.assert_array_equal(a, b, err_msg=f"layer {k}")


# --- without Lava ------------------------------------------------------------------------------------

BLOCK_LAVA = """
import sys, importlib.abc
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name == "lava" or name.startswith("lava."):
            raise ImportError("No module named 'lava' (blocked)")
sys.meta_path.insert(0, Block())
import numpy as np
from ttfs_deploy.backends import lava_sim
from ttfs_deploy.ir import from_checkpoint_weights
assert not lava_sim.available()
net = from_checkpoint_weights([np.ones((2, 4))], 1.0, 8, "silent", (2, 2))
try:
    lava_sim.simulate(net, np.zeros((1, 4), dtype=int))
except lava_sim.BackendUnavailable as exc:
    print("unavailable:", exc)
"""


def test_imports_without_lava_and_says_how_to_install():
    out = subprocess.run([sys.executable, "-c", BLOCK_LAVA], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "unavailable:" in out.stdout and "install lava" in out.stdout


def test_module_import_does_not_import_lava():
    code = "import sys, ttfs_deploy.backends.lava_sim; print('lava' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip() == "False"


def test_checks_before_starting_lava():
    net = chain_net([np.ones((2, 3), dtype=np.int32)], [1], 8, quant())
    with pytest.raises(lava_sim.BackendUnavailable, match="NcProcessModels"):
        lava_sim.simulate(net, np.zeros((1, 3), dtype=int), hardware=True)
    with pytest.raises(ValueError, match="shape"):
        lava_sim.simulate(net, np.zeros((1, 4), dtype=int))
    empty = lava_sim.simulate(net, np.zeros((0, 3), dtype=int))
    assert [t.shape for t in empty] == [(0, 3), (0, 2)]


@pytest.mark.requires_lava
def test_rejects_weights_wider_than_lava_dense():
    wide = {**quant(), "weight_bits": 9}
    net = chain_net([np.full((2, 3), 200, dtype=np.int32)], [1], 8, wide)
    with pytest.raises(MappingError, match="9-bit weights, Lava's Dense holds at most 8"):
        lava_sim.simulate(net, np.zeros((1, 3), dtype=int))


@pytest.mark.requires_lava
def test_deepest_recordable_network_equals_golden_and_deeper_is_refused():
    from ttfs_deploy.targets import LAVA_MAX_LAYERS as MAX_LAYERS  # importing lava_procs first would fix the mp context

    rng = np.random.default_rng(3)
    sizes = [6] + [5] * MAX_LAYERS  # every port of the recorder in use
    weights = [rng.integers(-20, 60, size=(b, a)).astype(np.int32) for a, b in zip(sizes, sizes[1:])]
    net = chain_net(weights, [40] * MAX_LAYERS, 16, quant(exponents=[0] * MAX_LAYERS))
    t_in = rng.integers(0, 18, size=(4, 6))
    for early_stop in (False, True):
        assert_equal_times(
            lava_sim.simulate(net, t_in, early_stop=early_stop, timeout_s=120),
            golden.simulate(net, t_in, early_stop=early_stop),
        )
    deeper = chain_net(weights + [weights[-1]], [40] * (MAX_LAYERS + 1), 16, quant(exponents=[0] * (MAX_LAYERS + 1)))
    with pytest.raises(MappingError, match=f"records at most {MAX_LAYERS}"):
        lava_sim.simulate(deeper, t_in)


# --- equality with golden ------------------------------------------------------------------------------


@st.composite
def quantized_cases(draw):
    T = draw(st.integers(2, 24))
    sizes = draw(st.lists(st.integers(1, 12), min_size=2, max_size=4))
    bits = draw(st.sampled_from([8, 10, 24]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    palette = np.concatenate([[-128, 127, -128, 127, 0, 1, -1], rng.integers(-128, 128, size=4)])
    weights = [rng.choice(palette, size=(b, a)).astype(np.int32) for a, b in zip(sizes, sizes[1:])]
    limit = 2 ** (bits - 1) - 1
    thresholds = [min(limit, draw(st.sampled_from([0, 1, 126, 127, 128, 300, limit]))) for _ in weights]
    exponents = [draw(st.integers(-2, 2)) for _ in weights]
    n = draw(st.integers(2, 6))
    # few distinct times → ties; T and beyond → silent inputs
    t_in = rng.choice(np.append(rng.integers(0, T, size=3), [T, T + 5]), size=(n, sizes[0]))
    return chain_net(weights, thresholds, T, quant(bits, exponents)), t_in


@pytest.mark.requires_lava
@pytest.mark.slow
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=quantized_cases())
def test_fixed_point_equals_golden_with_and_without_early_stop(case):
    net, t_in = case
    for early_stop in (False, True):
        assert_equal_times(
            lava_sim.simulate(net, t_in, early_stop=early_stop, timeout_s=120),
            golden.simulate(net, t_in, early_stop=early_stop),
        )


@st.composite
def float_cases(draw):
    T = draw(st.integers(2, 20))
    sizes = draw(st.lists(st.integers(1, 10), min_size=2, max_size=3))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    # dyadic weights: every partial sum is exact in float64, whatever the summation order
    weights = [rng.integers(-40, 41, size=(b, a)) / 4.0 for a, b in zip(sizes, sizes[1:])]
    thresholds = [float(draw(st.integers(0, 12))) + 0.5 * draw(st.integers(0, 1)) for _ in weights]
    t_in = rng.choice(np.append(rng.integers(0, T, size=3), T), size=(draw(st.integers(2, 5)), sizes[0]))
    return chain_net(weights, thresholds, T), t_in


@pytest.mark.requires_lava
@pytest.mark.slow
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=float_cases())
def test_floating_point_equals_golden(case):
    net, t_in = case
    for early_stop in (False, True):
        assert_equal_times(
            lava_sim.simulate(net, t_in, early_stop=early_stop, timeout_s=120),
            golden.simulate(net, t_in, early_stop=early_stop),
        )


@pytest.mark.parametrize(
    "weights, threshold, bits, expected",
    [
        ([127, 127, -100, 90], 127, 8, 10),  # V = 127, 127 (not 254), 27, 117: never above 127
        ([127, 127, -100, 90], 127, 24, 2),  # V = 127, 254 > 127 at step 1
        ([-128, -128, 127, 127], 125, 8, 4),  # V = -128, -128 (not -256), -1, 126 > 125 at step 3
        ([-128, -128, 127, 127], 125, 24, 10),  # V = -128, -256, -129, -2
    ],
)
@pytest.mark.requires_lava
def test_saturating_membrane_by_hand(weights, threshold, bits, expected):
    net = chain_net([np.array([weights], dtype=np.int32)], [threshold], 10, quant(bits))
    t_in = np.array([[0, 1, 2, 3], [3, 2, 1, 0]])
    got = lava_sim.simulate(net, t_in, early_stop=False, timeout_s=120)
    assert_equal_times(got, golden.simulate(net, t_in))
    assert got[1][0].tolist() == [expected]


def leak_probe_net(T):
    """3 inputs → 2 hidden → 2 outputs. Input 0 alone nearly fires hidden 0; input 1 drives output 0 fast."""
    w1 = np.array([[100, 127, 0], [0, 127, 127]], dtype=np.int32)
    w2 = np.array([[127, 0], [0, 127]], dtype=np.int32)
    return chain_net([w1, w2], [120, 100], T, quant(24, (0, 0)))


@pytest.mark.requires_lava
def test_streamed_samples_do_not_leak_into_each_other():
    T = 16
    net = leak_probe_net(T)
    silent = [T, T, T]
    t_in = np.array(
        [
            [T - 2, T - 1, T - 1],  # activity in the last steps of a full window
            silent,  # must stay silent: nothing carried over
            [0, T, 1],  # decision at 3 (input 2 → hidden 1 → output 1) with hidden 0 charged to 100
            [5, T, T],  # input 0 alone (100 < 120) must not fire hidden 0: the 100 must be gone
            [5, 5, 5],
            silent,
            [0, 0, 0],
        ]
    )
    for early_stop in (False, True):
        expected = golden.simulate(net, t_in, early_stop=early_stop)
        streamed = lava_sim.simulate(net, t_in, early_stop=early_stop, timeout_s=120)
        assert_equal_times(streamed, expected)
        for k in (1, 5):
            assert (streamed[1][k] == T).all() and (streamed[2][k] == T).all()
        assert streamed[2][2].tolist() == [T, 3] and streamed[1][3].tolist() == [T, T]
    one_by_one = [lava_sim.simulate(net, t_in[i : i + 1], early_stop=True, timeout_s=120) for i in (2, 3)]
    for layer in range(3):
        np.testing.assert_array_equal(streamed[layer][2:4], np.concatenate([r[layer] for r in one_by_one]))


@pytest.mark.requires_lava
def test_lava_send_steps_follow_the_documented_time_convention():
    """Record every spike's Lava time_step with Lava's own sink and compare with semantics.hardware_times."""
    from lava.magma.core.run_conditions import RunSteps
    from lava.proc.io.sink import RingBuffer

    T = 10
    net = leak_probe_net(T)
    t_in = np.array([[0, 3, T], [2, 2, 1], [T, T, T], [4, 6, 0]])
    for early_stop in (False, True):
        expected = golden.simulate(net, t_in, early_stop=early_stop)
        starts = semantics.sample_starts(expected[-1], T, early_stop)
        steps = int(starts[-1]) + T + 2
        graph = lava_sim._build(net, t_in, early_stop, lava_sim._lava())
        sinks = []
        for port, size in zip([graph.source.s_out] + [x.s_out for x in graph.neurons], net.sizes):
            sinks.append(RingBuffer(shape=(size,), buffer=steps))
            port.connect(sinks[-1].a_in)
        try:
            graph.source.run(condition=RunSteps(num_steps=steps), run_cfg=graph.run_cfg)
            recorded = [sink.data.get() for sink in sinks]
        finally:
            graph.source.stop()
        for k, (data, hw) in enumerate(zip(recorded, semantics.hardware_times(expected, T, start=starts))):
            neuron, step_index = np.nonzero(data)
            sent = sorted(zip(neuron.tolist(), (step_index + 1).tolist()))  # time_step is 1-based
            wanted = sorted((j, int(s)) for row in hw for j, s in enumerate(row) if s >= 0)
            assert sent == wanted, f"layer {k}, early_stop={early_stop}"


@pytest.mark.requires_lava
@pytest.mark.slow
def test_mnist_run_on_a_784_400_10_network_matches_golden():
    from ttfs_deploy.data import load

    data = load("mnist-5k:val")
    rng = np.random.default_rng(0)
    w1 = rng.integers(-40, 61, size=(400, 784)).astype(np.int32)
    w2 = rng.integers(-64, 97, size=(10, 400)).astype(np.int32)
    layers = (InputLayer("input", 784), FireOnceLayer("fc1", w1, 1000), FireOnceLayer("fc2", w2, 1500))
    net = NetworkIR(layers, (("input", "fc1"), ("fc1", "fc2")), 256, "silent", (28, 28), quant=quant(24, (0, 0)))
    images, labels = data.images[:4], data.labels[:4]
    got = lava_sim.run(net, images, labels, early_stop=True, timeout_s=300)
    expected = golden.run(net, images, labels, early_stop=True)
    assert got.target == "loihi-sim" and got.samples == expected.samples
    assert all(s.decision_step < 256 for s in got.samples)


# --- failures become clear errors -------------------------------------------------------------------


def _small_case():
    net = chain_net([np.array([[127, 127]], dtype=np.int32)], [100], 8, quant())
    return net, np.array([[0, 1], [2, 3]])


@pytest.mark.requires_lava
def test_exception_inside_a_process_model_becomes_an_error(monkeypatch):
    from ttfs_deploy.backends.lava_procs import models

    def broken(self, a_in):
        raise ZeroDivisionError("injected failure")

    monkeypatch.setattr(models.PyFireOnceFixed, "_accumulate", broken)  # Lava forks: workers inherit it
    net, t_in = _small_case()
    start = time.monotonic()
    with pytest.raises(lava_sim.LavaRunError, match="injected failure"):
        lava_sim.simulate(net, t_in, timeout_s=60)
    assert time.monotonic() - start < 30
    assert not [p for p in multiprocessing.active_children() if p.is_alive()]


@pytest.mark.requires_lava
def test_hang_inside_a_process_model_hits_the_timeout(monkeypatch):
    from ttfs_deploy.backends.lava_procs import models

    def stuck(self, a_in):
        time.sleep(3600)

    monkeypatch.setattr(models.PyFireOnceFixed, "_accumulate", stuck)
    net, t_in = _small_case()
    start = time.monotonic()
    with pytest.raises(lava_sim.LavaRunError, match="did not finish in time"):
        lava_sim.simulate(net, t_in, timeout_s=3)
    assert time.monotonic() - start < 30
    assert not [p for p in multiprocessing.active_children() if p.is_alive()]


@pytest.mark.slow
@pytest.mark.requires_lava
@pytest.mark.parametrize("model", ["mnist-s4nn.pt", "mnist-aggressive.pt"])
def test_shipped_models_equal_golden_on_200_digits(model):
    """The correctness bar on real models: every neuron's spike time, every sample, early stop on."""
    import pathlib

    from ttfs_deploy.coding import encode_ttfs
    from ttfs_deploy.compiler.pipeline import compile_network, load_network
    from ttfs_deploy.data import load

    path = pathlib.Path(__file__).resolve().parents[1] / "models" / model
    ir = compile_network(load_network(path), "loihi-sim", "loihi2").ir
    t_in = encode_ttfs(load("mnist-5k:val").images[:200], ir.T, ir.zero_policy)
    expected = golden.simulate(ir, t_in, early_stop=True)
    got = lava_sim.simulate(ir, t_in, early_stop=True, timeout_s=600)
    for a, b in zip(expected, got):
        np.testing.assert_array_equal(a, b)
