"""Rate-coded LIF networks: loihi-sim (Lava's stock Dense + LIFReset, PyLifResetModelBitAcc) equals golden
spike for spike. Each Lava run costs ~1 s of start-up, so the property test uses few examples."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ttfs_deploy.backends import lava_lif
from ttfs_deploy.ir import InputLayer, NetworkIR
from ttfs_deploy.ir.lif import LifLayer, RateCoding
from ttfs_deploy.semantics.lif import simulate_rate


def lif_net(weights, params, T, exponents, quantized=True, weight_bits=8):
    layers = [InputLayer("input", weights[0].shape[1])]
    layers += [LifLayer(f"fc{k + 1}", w, **p) for k, (w, p) in enumerate(zip(weights, params))]
    quant = (
        dict(profile="loihi2", weight_bits=weight_bits, membrane_bits=24, weight_exponents=exponents)
        if quantized
        else None
    )
    edges = tuple((a.name, b.name) for a, b in zip(layers, layers[1:]))
    return NetworkIR(tuple(layers), edges, T, "silent", (1, weights[0].shape[1]), quant=quant, rate=RateCoding())


@st.composite
def quantized_lif_cases(draw):
    T = draw(st.integers(3, 12))
    sizes = draw(st.lists(st.integers(1, 12), min_size=2, max_size=4))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    weights = [rng.integers(-128, 128, size=(b, a)).astype(np.int32) for a, b in zip(sizes, sizes[1:])]
    params = [
        dict(
            vth=int(rng.integers(0, 400)),
            du=int(rng.choice([0, 1, 100, 2048, 4094, 4095])),  # 0: the slowest decay, so u can wrap past 2^23
            dv=int(rng.choice([0, 10, 410, 3000, 4095])),
            bias_mant=int(rng.integers(-4096, 4096)) * int(rng.integers(0, 2)),
            bias_exp=int(rng.integers(0, 8)),
        )
        for _ in weights
    ]
    exponents = [draw(st.integers(-3, 7)) for _ in weights]
    spikes = rng.random((draw(st.integers(1, 5)), T, sizes[0])) < rng.uniform(0.1, 0.9)
    return lif_net(weights, params, T, exponents), spikes


@pytest.mark.requires_lava
@pytest.mark.slow
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=quantized_lif_cases())
def test_bit_accurate_lif_equals_golden(case):
    net, spikes = case
    got = lava_lif.simulate(net, spikes, timeout_s=120)
    expected = simulate_rate(net, spikes)
    assert len(got) == len(expected)
    for k, (a, b) in enumerate(zip(got, expected)):
        np.testing.assert_array_equal(a, b, err_msg=f"layer {k}")


@pytest.mark.requires_lava
def test_current_wraps_as_lava_does():
    # du = 0 keeps u growing by ~2^20 (a = 4 * 127 << 5, then << 6) per step; dv = 4095 makes v ~ u. v passes
    # vth << 6 = 6.4M at step 6; at step 8 u passes 2^23 and wraps to negative, so the spikes stop (no wrap: 6..11)
    net = lif_net([np.full((1, 4), 127, np.int32)], [dict(vth=100000, du=0, dv=4095)], 12, [5])
    spikes = np.ones((1, 12, 4), dtype=bool)
    expected = np.array([0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0], dtype=np.uint8)
    np.testing.assert_array_equal(simulate_rate(net, spikes)[1].ravel(), expected)
    np.testing.assert_array_equal(lava_lif.simulate(net, spikes, timeout_s=120)[1].ravel(), expected)


@pytest.mark.slow
@pytest.mark.requires_lava
def test_shipped_rate_model_equals_golden_on_100_digits():
    """The shipped rate classifier, compiled: every spike of every layer and step, 100 digits, input seed 0."""
    from ttfs_deploy.coding import encode_rate
    from ttfs_deploy.compiler.pipeline import deploy
    from ttfs_deploy.data import load

    ir = deploy("mnist-rate", "loihi-sim", "loihi2", calibration=None).ir
    spikes = encode_rate(load("mnist-5k:val").images[:100], ir.T, ir.rate.scheme, 0, ir.rate.max_rate)
    for k, (a, b) in enumerate(zip(simulate_rate(ir, spikes), lava_lif.simulate(ir, spikes, timeout_s=600))):
        np.testing.assert_array_equal(a, b, err_msg=f"layer {k}")


@pytest.mark.requires_lava
def test_float_lif_equals_golden_when_sums_are_exact():
    # dyadic weights and decays: every float sum is exact, so Lava's PyLifResetModelFloat and golden agree exactly
    rng = np.random.default_rng(5)
    weights = [rng.integers(-8, 9, (6, 5)) / 4.0, rng.integers(-8, 9, (3, 6)) / 4.0]
    params = [dict(vth=1.5, du=0.5, dv=0.25), dict(vth=0.75, du=1.0, dv=0.5, bias_mant=0.25)]
    net = lif_net(weights, params, 9, [0, 0], quantized=False)
    spikes = rng.random((3, 9, 5)) < 0.5
    for k, (a, b) in enumerate(zip(lava_lif.simulate(net, spikes, timeout_s=120), simulate_rate(net, spikes))):
        np.testing.assert_array_equal(a, b, err_msg=f"layer {k}")


@pytest.mark.slow
@pytest.mark.requires_lava
def test_shipped_fashion_autoencoder_equals_golden_on_lava():
    """models/ae-fashion-rate.pt (784-1024-784, T = 60), compiled: every spike of 5 Fashion-MNIST test
    images on Lava equals golden's; the model card's golden MSE on the first 500 images comes back."""
    from ttfs_deploy.coding import encode_rate
    from ttfs_deploy.compiler.pipeline import deploy
    from ttfs_deploy.data import DataError, load
    from ttfs_deploy.pipelines.run import run_target

    try:
        test = load("fashion-mnist:test").head(500)
    except DataError as exc:
        if "not installed" in str(exc):
            pytest.skip("Debian package dataset-fashion-mnist is not installed")
        raise
    ir = deploy("ae-fashion-rate", "loihi-sim", "loihi2", calibration=None).ir
    assert ir.sizes == [784, 1024, 784] and ir.T == 60
    spikes = encode_rate(test.images[:5], ir.T, ir.rate.scheme, 0, ir.rate.max_rate)
    for k, (a, b) in enumerate(zip(simulate_rate(ir, spikes), lava_lif.simulate(ir, spikes, timeout_s=600))):
        np.testing.assert_array_equal(a, b, err_msg=f"layer {k}")
    assert run_target("ae-fashion-rate", "golden", test).result.mse == pytest.approx(0.2050, abs=5e-5)
