"""Golden integer simulator against the training layer, the S4NN reference and hand-computed saturation."""

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from ttfs_deploy import semantics
from ttfs_deploy.train import reference as ref
from ttfs_deploy.train.fire_once import fire_once_times

from .helpers import chain_net, quant, stepwise


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), T=st.integers(2, 60))
def test_float_layer_matches_training_layer_and_reference(seed, T):
    rng = np.random.default_rng(seed)
    n_in, n_out = int(rng.integers(1, 20)), int(rng.integers(1, 10))
    weight = rng.integers(-30, 31, size=(n_out, n_in)).astype(float)
    t_in = rng.choice(rng.integers(0, T + 1, size=5), size=(7, n_in))
    threshold = float(rng.integers(0, 60))
    got = semantics.layer_times(t_in, weight, threshold, T)
    np.testing.assert_array_equal(got, fire_once_times(torch.from_numpy(t_in), torch.from_numpy(weight), threshold, T))
    np.testing.assert_array_equal(got, np.stack([ref.layer_times(x, weight, threshold, T) for x in t_in]))


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), e=st.integers(-3, 3), bits=st.sampled_from([6, 8, 10, 24]))
def test_integer_layer_matches_stepwise_saturating_simulation(seed, e, bits):
    rng = np.random.default_rng(seed)
    T, n_in, n_out = 30, int(rng.integers(1, 15)), int(rng.integers(1, 8))
    weight = rng.choice([-128, 127, 0, 1, -1, 50, -50], size=(n_out, n_in)).astype(np.int64)
    t_in = rng.choice(rng.integers(0, T + 1, size=4), size=(6, n_in))
    threshold = int(rng.integers(0, 2 ** (bits - 1)))
    got = semantics.layer_times(t_in, weight, threshold, T, exponent=e, membrane_bits=bits)
    expected = stepwise(chain_net([weight], [threshold], T, quant(bits, [e])), t_in)[1]
    np.testing.assert_array_equal(got, expected)


def test_saturation_hand_case():
    # 8-bit membrane saturates at 127: +127 +127 → 127 (not 254), then -100 → 27; threshold 100
    t_in = np.array([[0, 1, 2]])
    weight = np.array([[127, 127, -100]])
    assert semantics.layer_times(t_in, weight, 200, 10, exponent=0, membrane_bits=8).tolist() == [[10]]
    assert semantics.layer_times(t_in, weight, 200, 10, exponent=0, membrane_bits=24).tolist() == [[2]]
    # flooring right shift of each step's sum: 127 >> 2 = 31 per step → V = 31, 62, then -100 >> 2 = -25 → 37
    assert semantics.layer_times(t_in, weight, 60, 10, exponent=-2, membrane_bits=24).tolist() == [[2]]
    assert semantics.layer_times(t_in, weight, 30, 10, exponent=-2, membrane_bits=24).tolist() == [[1]]
    assert semantics.layer_times(t_in, weight, 62, 10, exponent=-2, membrane_bits=24).tolist() == [[10]]


def test_early_stop_view_masks_spikes_after_the_decision():
    times = [np.array([[0, 5, 9]]), np.array([[3, 8]]), np.array([[6, 4, 10]])]
    view = semantics.early_stop_view(times, 10)
    assert [v.tolist() for v in view] == [[[0, 10, 10]], [[3, 10]], [[10, 4, 10]]]
