"""Quantization: hand-computed scales, lossless cases, and the shipped model's accuracy change."""

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ttfs_deploy.backends import golden
from ttfs_deploy.coding import encode_ttfs
from ttfs_deploy.compiler.hardware import load_profile
from ttfs_deploy.compiler.pipeline import compile_network, load_network
from ttfs_deploy.compiler.quantize import QuantizationError, quantize, quantize_layer
from ttfs_deploy.data import load
from ttfs_deploy.ir import FireOnceLayer, from_checkpoint_weights

from .helpers import MODELS


def test_hand_computed_layer():
    layer = FireOnceLayer("fc1", np.array([[1.0, -0.5, 0.25]]), 2.0)
    q, e, scale = quantize_layer(layer, load_profile("loihi1"))
    # max |w| = 1 → 127 per unit; -63.5 rounds to -64 (half to even), 31.75 → 32
    assert q.weight.tolist() == [[127, -64, 32]]
    # worst-case membrane 223 * 2^7 and threshold 254 * 2^7 fit 24 / 23 bits → largest exponent 7
    assert e == 7 and scale == 127 * 128 and q.threshold == 2 * 127 * 128


def test_exponent_shrinks_for_a_narrow_membrane():
    profile = dataclasses.replace(load_profile("loihi1"), membrane_bits=12)
    layer = FireOnceLayer("fc1", np.ones((1, 10)), 5.0)
    q, e, _ = quantize_layer(layer, profile)
    assert 1270 * 2**e <= 2**11 - 1 < 1270 * 2 ** (e + 1)


def test_threshold_too_large_is_a_clear_error():
    profile = dataclasses.replace(load_profile("loihi1"), threshold_bits=8)
    with pytest.raises(QuantizationError, match="threshold"):
        quantize_layer(FireOnceLayer("fc1", np.full((1, 2), 0.001), 1000.0), profile)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_integer_weights_quantize_losslessly(seed):
    """Weights already on a 127-level grid and integer thresholds: spike times must not change."""
    rng = np.random.default_rng(seed)
    sizes = [int(rng.integers(2, 15)), int(rng.integers(1, 10)), int(rng.integers(1, 5))]
    weights = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        w = rng.integers(-127, 128, size=(n_out, n_in)).astype(float)
        w[0, 0] = 127.0  # pins max |w| to the top mantissa so the scale is exactly 1
        weights.append(w)
    ir = from_checkpoint_weights(
        weights, [float(rng.integers(0, 300)), float(rng.integers(0, 300))], 40, "silent", (sizes[0], 1)
    )
    quantized, _ = quantize(ir, load_profile("loihi2"))
    t_in = rng.integers(0, 41, size=(20, sizes[0]))
    for a, b in zip(golden.simulate(ir, t_in), golden.simulate(quantized, t_in)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.slow
@pytest.mark.parametrize("profile", ["loihi1", "loihi2"])
def test_shipped_model_loses_at_most_a_third_of_a_point(profile):
    val, train = load("mnist-5k:val"), load("mnist-5k:train")
    calibration = dataclasses.replace(train, images=train.images[:1000], labels=train.labels[:1000])
    result = compile_network(load_network(MODELS / "mnist-s4nn.pt"), "loihi-sim", profile, calibration, val)
    assert result.quant.accuracy_change >= -0.003, result.quant
    assert result.quant.n_calibration == 1000 and result.quant.n_validation == 500
    assert result.ir.is_quantized and result.ir.quant.profile == profile


def test_float_ir_matches_pytorch_model():
    import torch

    from ttfs_deploy.train.checkpoint import load_checkpoint

    ckpt = load_checkpoint(MODELS / "mnist-s4nn.pt")
    val = load("mnist-5k:val")
    t_in = encode_ttfs(val.images[:200])
    expected = [t.numpy() for t in ckpt.model.double().spike_times(torch.from_numpy(t_in))]
    got = golden.simulate(load_network(MODELS / "mnist-s4nn.pt"), t_in)
    for a, b in zip(expected, got):
        np.testing.assert_array_equal(a, b)
