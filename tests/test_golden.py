"""golden.simulate on whole networks: the training layer, the S4NN reference, a stepwise integer
simulator with saturation, the early-stop view and the hardware time mapping."""

import subprocess
import sys

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from ttfs_deploy import semantics
from ttfs_deploy.backends import golden
from ttfs_deploy.ir import from_checkpoint_weights
from ttfs_deploy.semantics.readout import RunResult
from ttfs_deploy.train import reference as ref
from ttfs_deploy.train.fire_once import fire_once_times

from .helpers import chain_net, stepwise


@st.composite
def float_nets(draw):
    T = draw(st.integers(2, 40))
    sizes = draw(st.lists(st.integers(1, 12), min_size=2, max_size=4))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    weights = [rng.integers(-20, 21, size=(b, a)).astype(float) for a, b in zip(sizes, sizes[1:])]
    thresholds = [float(draw(st.integers(0, 40))) for _ in weights]
    t_in = rng.choice(rng.integers(0, T + 3, size=4), size=(draw(st.integers(1, 6)), sizes[0]))
    return chain_net(weights, thresholds, T), t_in


@settings(max_examples=150, deadline=None)
@given(float_nets())
def test_float_network_matches_training_layers_and_reference(case):
    net, t_in = case
    got = golden.simulate(net, t_in)
    T = net.T
    expected = [np.minimum(t_in, T)]
    for layer in net.fire_once_layers():
        expected.append(
            fire_once_times(torch.from_numpy(expected[-1]), torch.tensor(layer.weight), layer.threshold, T).numpy()
        )
    for a, b in zip(got, expected):
        assert a.dtype == np.int64
        np.testing.assert_array_equal(a, b)
    for n, x in enumerate(np.minimum(t_in, T)):
        for layer, g in zip(net.fire_once_layers(), got[1:]):
            x = ref.layer_times(x, layer.weight, layer.threshold, T)
            np.testing.assert_array_equal(g[n], x)


@st.composite
def quantized_nets(draw):
    T = draw(st.integers(2, 30))
    sizes = draw(st.lists(st.integers(1, 12), min_size=2, max_size=4))
    bits = draw(st.sampled_from([6, 8, 10, 24]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    palette = np.array([-128, 127, -127, 126, 0, 1, -1, 64, -64])
    weights = [rng.choice(palette, size=(b, a)).astype(np.int32) for a, b in zip(sizes, sizes[1:])]
    thresholds = [int(draw(st.integers(0, 2 ** (bits - 1) - 1))) for _ in weights]
    exponents = [draw(st.integers(-3, 3)) for _ in weights]
    quant = {"profile": "test", "weight_bits": 8, "membrane_bits": bits, "weight_exponents": exponents}
    t_in = rng.choice(rng.integers(0, T + 1, size=3), size=(draw(st.integers(1, 5)), sizes[0]))
    return chain_net(weights, thresholds, T, quant), t_in


@settings(max_examples=150, deadline=None)
@given(quantized_nets())
def test_quantized_network_matches_stepwise_saturating_simulation(case):
    net, t_in = case
    for a, b in zip(golden.simulate(net, t_in), stepwise(net, t_in)):
        np.testing.assert_array_equal(a, b)


def test_saturation_changes_the_outcome_by_hand():
    # one neuron, 8-bit membrane (-128..127); inputs +127, +127, -100, +90 at steps 0..3.
    # saturating V = 127, 127 (not 254), 27, 117: never above 127; a 24-bit membrane crosses at step 1
    weights = [np.array([[127, 127, -100, 90]], dtype=np.int32)]
    t_in = np.array([[0, 1, 2, 3]])
    quant = {"profile": "t", "weight_bits": 8, "membrane_bits": 8, "weight_exponents": [0]}
    assert golden.simulate(chain_net(weights, [126], 10, quant), t_in)[1].tolist() == [[1]]
    assert golden.simulate(chain_net(weights, [127], 10, quant), t_in)[1].tolist() == [[10]]
    wide = {**quant, "membrane_bits": 24}
    assert golden.simulate(chain_net(weights, [127], 10, wide), t_in)[1].tolist() == [[2]]
    # negative saturation: V = -128, -128 (not -256), -1, 126 → above 125 at step 3; unsaturated never
    weights = [np.array([[-128, -128, 127, 127]], dtype=np.int32)]
    assert golden.simulate(chain_net(weights, [125], 10, quant), t_in)[1].tolist() == [[4]]
    assert golden.simulate(chain_net(weights, [125], 10, wide), t_in)[1].tolist() == [[10]]


def test_same_step_inputs_are_summed_before_saturating():
    # a step's inputs are summed first: 127 + 127 - 127 in one step is 127, whereas adding them one by
    # one with saturation would give 127, 127, 0
    weights = [np.array([[127, 127, -127, 5]], dtype=np.int32)]
    quant = {"profile": "t", "weight_bits": 8, "membrane_bits": 8, "weight_exponents": [0]}
    t_in = np.array([[0, 1, 1, 2]])  # V(0) = 127 > 126
    assert golden.simulate(chain_net(weights, [126], 10, quant), t_in)[1].tolist() == [[1]]
    t_in = np.array([[1, 1, 1, 2]])  # V(1) = 127 + 127 - 127 = 127 > 126 at step 1
    assert golden.simulate(chain_net(weights, [126], 10, quant), t_in)[1].tolist() == [[2]]


def test_negative_exponent_floors_each_steps_sum():
    weights = [np.array([[3, 3, -3]], dtype=np.int32)]
    quant = {"profile": "t", "weight_bits": 8, "membrane_bits": 24, "weight_exponents": [-1]}
    # per step: 3 >> 1 = 1, 3 >> 1 = 1, -3 >> 1 = -2 → V = 1, 2, 0
    t_in = np.array([[0, 1, 2], [0, 0, 2]])  # second sample: (3 + 3) >> 1 = 3 at step 0
    assert golden.simulate(chain_net(weights, [1], 10, quant), t_in)[1].tolist() == [[2], [1]]
    assert golden.simulate(chain_net(weights, [2], 10, quant), t_in)[1].tolist() == [[10], [1]]


def test_crossing_at_the_last_step_is_no_spike_and_late_inputs_are_silent():
    net = from_checkpoint_weights([np.array([[50.0, 50.0]])], 60.0, 10, "silent", (1, 2))
    assert golden.simulate(net, np.array([[8, 9]]))[1].tolist() == [[10]]
    assert golden.simulate(net, np.array([[7, 8]]))[1].tolist() == [[9]]
    times = golden.simulate(net, np.array([[0, 25]]))
    assert times[0].tolist() == [[0, 10]] and times[1].tolist() == [[10]]


def test_early_stop_view_masks_every_layer_after_the_decision():
    times = [np.array([[0, 5, 9], [1, 2, 3]]), np.array([[3, 8], [4, 10]]), np.array([[6, 4, 10], [10, 10, 10]])]
    view = semantics.early_stop_view(times, 10)
    assert [v.tolist() for v in view] == [[[0, 10, 10], [1, 2, 3]], [[3, 10], [4, 10]], [[10, 4, 10], [10, 10, 10]]]


def test_simulate_early_stop_equals_the_view():
    rng = np.random.default_rng(3)
    net = from_checkpoint_weights(
        [rng.integers(0, 30, (8, 10)).astype(float), rng.integers(0, 30, (3, 8)).astype(float)],
        [40.0, 30.0],
        20,
        "silent",
        (2, 5),
    )
    t_in = rng.integers(0, 21, size=(12, 10))
    full = golden.simulate(net, t_in)
    assert all(
        np.array_equal(a, b)
        for a, b in zip(golden.simulate(net, t_in, early_stop=True), semantics.early_stop_view(full, 20))
    )


def test_sample_starts_and_hardware_times():
    out = np.array([[5, 7], [20, 20], [3, 3]])  # decisions 5, none, 3 (T = 20)
    assert semantics.sample_starts(out, 20, early_stop=False).tolist() == [1, 21, 41]
    assert semantics.sample_starts(out, 20, early_stop=True).tolist() == [1, 7, 27]
    times = [np.array([[0, 20], [3, 4]]), np.array([[2, 20], [20, 5]])]
    assert [h.tolist() for h in semantics.hardware_times(times, 20)] == [[[1, -1], [4, 5]], [[3, -1], [-1, 6]]]
    starts = np.array([1, 21])
    assert [h.tolist() for h in semantics.hardware_times(times, 20, delay=2, start=starts)] == [
        [[1, -1], [24, 25]],
        [[4, -1], [-1, 27]],
    ]


def test_large_batch_matches_small_batches():
    rng = np.random.default_rng(5)
    quant = {"profile": "t", "weight_bits": 8, "membrane_bits": 12, "weight_exponents": [0, -1]}
    net = chain_net(
        [rng.integers(-40, 80, (50, 64)).astype(np.int32), rng.integers(-128, 128, (10, 50)).astype(np.int32)],
        [900, 400],
        64,
        quant,
    )
    t_in = rng.integers(0, 65, size=(300, 64))
    whole = golden.simulate(net, t_in)
    parts = [golden.simulate(net, t_in[i : i + 7]) for i in range(0, 300, 7)]
    for k, layer in enumerate(whole):
        np.testing.assert_array_equal(layer, np.concatenate([p[k] for p in parts]))
    assert (whole[1] < 64).any() and (whole[2] < 64).any()


def test_run_returns_a_classified_result():
    rng = np.random.default_rng(0)
    weights = [rng.normal(2, 1, (6, 9)), rng.normal(2, 1, (3, 6))]
    net = from_checkpoint_weights(weights, [3.0, 2.0], 32, "silent", (3, 3))
    images = rng.integers(0, 256, size=(5, 9)).astype(np.uint8)
    result = golden.run(net, images, np.array([0, 1, 2, 0, 1]))
    assert isinstance(result, RunResult) and result.target == "golden" and result.n == 5 and result.T == 32


@pytest.mark.parametrize(
    "t_in, message",
    [
        (np.zeros((2, 5), dtype=int), "shape"),
        (np.zeros(9, dtype=int), "shape"),
        (np.full((1, 9), -1), ">= 0"),
        (np.full((1, 9), 0.5), "integer"),
    ],
)
def test_bad_inputs(t_in, message):
    net = from_checkpoint_weights([np.ones((2, 9))], 1.0, 8, "silent", (3, 3))
    with pytest.raises(ValueError, match=message):
        golden.simulate(net, t_in)


def test_empty_batch():
    net = from_checkpoint_weights([np.ones((2, 9)), np.ones((4, 2))], 1.0, 8, "silent", (3, 3))
    assert [t.shape for t in golden.simulate(net, np.zeros((0, 9), dtype=int), early_stop=True)] == [
        (0, 9),
        (0, 2),
        (0, 4),
    ]


def test_golden_does_not_import_torch_or_lava():
    code = (
        "import sys, ttfs_deploy.semantics.fire_once; print(sorted(m for m in ('torch', 'lava') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
