"""The batched fire-once layer against the step-by-step S4NN reference (ttfs_deploy.train.reference)."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from ttfs_deploy.semantics import kernels
from ttfs_deploy.train import reference as ref
from ttfs_deploy.train.fire_once import fire_once, fire_once_times


@st.composite
def layers(draw):
    """Random small layer: integer weights (exact float sums), ties in input times, silent inputs."""
    T = draw(st.integers(2, 40))
    n_in, n_out, batch = draw(st.integers(1, 12)), draw(st.integers(1, 8)), draw(st.integers(1, 6))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    weight = rng.integers(-20, 21, size=(n_out, n_in)).astype(np.float64)
    # few distinct times → many ties; T means "no spike"
    t_in = rng.choice(rng.integers(0, T + 1, size=4), size=(batch, n_in))
    threshold = float(draw(st.integers(0, 40)))  # V starts at 0: thresholds are >= 0
    return t_in, weight, threshold, T


@settings(max_examples=300, deadline=None)
@given(layers())
def test_forward_matches_step_by_step_reference(case):
    t_in, weight, threshold, T = case
    fast = fire_once_times(torch.from_numpy(t_in), torch.from_numpy(weight), threshold, T).numpy()
    slow = np.stack([ref.layer_times(x, weight, threshold, T) for x in t_in])
    np.testing.assert_array_equal(fast, slow)


def test_hand_computed_spike_times():
    # inputs spike at 0, 2, 2, 5 (and one never); weights 60, 30, 20, 50; threshold 100:
    # V(0)=60, V(2)=110 > 100 → crossing at step 2 → spike time 3 (one step of synaptic delay)
    t_in = torch.tensor([[0, 2, 2, 5, 10]])
    weight = torch.tensor(
        [
            [60.0, 30.0, 20.0, 50.0, 500.0],  # crosses at 2 → 3
            [60.0, 20.0, 20.0, 50.0, 0.0],  # V(2)=100 not > 100; V(5)=150 → 6
            [10.0, 10.0, 10.0, 10.0, 900.0],  # only the silent input could fire it
            [200.0, -300.0, 0.0, 300.0, 0.0],
        ]
    )  # 0 → 1 (fires before the inhibition)
    out = fire_once_times(t_in, weight, 100.0, T=10)
    assert out.tolist() == [[3, 6, 10, 1]]


def test_crossing_at_last_step_is_silent():
    t_in = torch.tensor([[9]])
    assert fire_once_times(t_in, torch.tensor([[500.0]]), 100.0, T=10).item() == 10
    assert fire_once_times(torch.tensor([[8]]), torch.tensor([[500.0]]), 100.0, T=10).item() == 9


def _reference_gradients(t_in, weights, thresholds, T, d_out, norm):
    """dL/dW by the S4NN rules for one sample, given dL/dt_out (hand-written, per sample)."""
    cfg = ref.RefConfig(T=T, thresholds=thresholds)
    times = ref.forward(t_in, weights, cfg)
    grads = [None] * len(weights)
    delta = -d_out  # S4NN's delta is -(dL/dt)
    for layer in range(len(weights) - 1, -1, -1):
        delta = ref._normalise(delta, norm)
        before = times[layer][None, :] < times[layer + 1][:, None]
        grads[layer] = delta[:, None] * before  # S4NN: W -= lr * delta * mask
        delta = (delta[:, None] * before * weights[layer]).sum(axis=0)
    return times, grads


@pytest.mark.parametrize("norm", ["l1", "l2", "none"])
@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_gradients_match_s4nn_rules(norm, seed):
    rng = np.random.default_rng(seed)
    T, sizes = 30, [int(rng.integers(2, 12)), int(rng.integers(2, 10)), int(rng.integers(2, 6))]
    weights = [rng.integers(-5, 30, size=(o, i)).astype(np.float64) for i, o in zip(sizes[:-1], sizes[1:])]
    thresholds = (40.0, 30.0)
    t_in = rng.integers(0, T + 1, size=sizes[0])
    d_out = rng.normal(size=sizes[-1])
    times, expected = _reference_gradients(t_in, weights, thresholds, T, d_out, norm)

    w_torch = [torch.tensor(w, requires_grad=True) for w in weights]
    t = torch.tensor(t_in[None, :], dtype=torch.float64)
    for w, threshold in zip(w_torch, thresholds):
        t = fire_once(t, w, threshold, T, norm)
    np.testing.assert_array_equal(t.detach().numpy()[0], times[-1])
    t.backward(torch.tensor(d_out[None, :]))
    for w, g in zip(w_torch, expected):
        np.testing.assert_allclose(w.grad.numpy(), g, rtol=1e-10, atol=1e-12)


def test_batch_gradient_is_sum_of_per_sample_gradients():
    rng = np.random.default_rng(3)
    weight = torch.tensor(rng.uniform(0, 30, size=(5, 9)), requires_grad=True)
    t_in = torch.tensor(rng.integers(0, 21, size=(4, 9)), dtype=torch.float64)
    d_out = torch.tensor(rng.normal(size=(4, 5)))
    fire_once(t_in, weight, 50.0, 20).backward(d_out)
    batch_grad = weight.grad.clone()
    total = torch.zeros_like(batch_grad)
    for b in range(4):
        weight.grad = None
        fire_once(t_in[b : b + 1], weight, 50.0, 20).backward(d_out[b : b + 1])
        total += weight.grad
    torch.testing.assert_close(batch_grad, total)


def test_unknown_norm_is_rejected():
    with pytest.raises(ValueError, match="norm"):
        fire_once(torch.zeros(1, 1), torch.ones(1, 1), 1.0, 4, norm="l3")


@settings(max_examples=100, deadline=None)
@given(layers())
def test_stepwise_reference_matches_vectorised_reference(case):
    t_in, weight, threshold, T = case
    for x in t_in:
        np.testing.assert_array_equal(
            ref.layer_times_stepwise(x, weight, threshold, T), ref.layer_times(x, weight, threshold, T)
        )


def test_empty_batch_and_silent_inputs():
    assert fire_once_times(torch.zeros(0, 5, dtype=torch.long), torch.ones(3, 5), 1.0, 8).shape == (0, 3)
    assert torch.equal(fire_once_times(torch.full((2, 5), 8), torch.ones(3, 5), 1.0, 8), torch.full((2, 3), 8))


@st.composite
def float32_layers(draw):
    """Random float32 layer whose potentials often land near the threshold (rounding decides)."""
    T = draw(st.integers(2, 30))
    n_in, n_out, batch = draw(st.integers(1, 120)), draw(st.integers(1, 12)), draw(st.integers(1, 5))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    weight = rng.normal(0.1, 0.7, size=(n_out, n_in)).astype(np.float32)
    t_in = rng.integers(0, T + 3, size=(batch, n_in))  # > T: silent too
    threshold = float(np.float32(draw(st.floats(0.0, 3.0))))
    return t_in, weight, threshold, T


def _float32_potentials(t_in, weight, T):
    """Per sample: live sorted times and V after each input, summed in float64 and rounded to float32."""
    order = np.argsort(t_in, axis=1, kind="stable")
    sorted_t = np.take_along_axis(t_in, order, axis=1)
    rows = []
    for b in range(len(t_in)):
        live = sorted_t[b] < T
        rows.append(
            (sorted_t[b][live], np.cumsum(weight.T[order[b][live]].astype(np.float64), axis=0).astype(np.float32))
        )
    return sorted_t, order, rows


@settings(max_examples=200, deadline=None)
@given(float32_layers(), st.integers(0, 2**32 - 1))
def test_kernel_rounds_like_a_float64_prefix_sum_cast_to_float32(case, pick):
    """The documented rounding rule (what torch.cumsum did, so shipped models reproduce bit for bit)."""
    t_in, weight, threshold, T = case
    sorted_t, order, rows = _float32_potentials(t_in, weight, T)
    # a threshold one float32 step below a new highest potential (at the end of a group of equal
    # times): the neuron crosses exactly there, and only if V was rounded as documented
    records = []
    for times, v in rows:
        ends = np.flatnonzero(np.append(times[1:] != times[:-1], True)) if len(times) else []
        for j in range(weight.shape[0]):
            best = -np.inf
            for k in ends:
                if v[k, j] > best:
                    best = v[k, j]
                    records.append(best)
    if records:
        threshold = float(np.nextafter(np.float32(records[pick % len(records)]), np.float32(-np.inf)))
    got = kernels.spike_times(sorted_t, order, weight, threshold, T)
    for b, (times, v) in enumerate(rows):
        for j in range(weight.shape[0]):
            expected = T
            for k, t in enumerate(times):  # tested after the last input of each time
                if (k + 1 == len(times) or times[k + 1] != t) and v[k, j] > np.float32(threshold):
                    expected = min(t + 1, T)
                    break
            assert got[b, j] == expected


@settings(max_examples=200, deadline=None)
@given(float32_layers(), st.integers(0, 2**32 - 1))
def test_weight_gradient_kernel_matches_the_dense_formula(case, seed):
    t_in, weight, threshold, T = case
    rng = np.random.default_rng(seed)
    order = np.argsort(t_in, axis=1, kind="stable")
    sorted_t = np.take_along_axis(t_in, order, axis=1)
    t_out = rng.integers(1, T + 1, size=(len(t_in), weight.shape[0]))
    grad_out = rng.normal(size=t_out.shape)
    got = kernels.weight_grad(sorted_t, order, t_out, grad_out, weight.shape[1])
    expected = np.einsum("bj,bji->ji", grad_out, t_in[:, None, :] < t_out[:, :, None])
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 30), st.integers(0, 6), st.integers(1, 50), st.integers(0, 2**32 - 1))
def test_sort_by_time_is_a_stable_sort_cut_to_the_spiking_inputs(T, batch, n_in, seed):
    t_in = np.random.default_rng(seed).integers(0, T + 4, size=(batch, n_in))
    sorted_t, order = kernels.sort_by_time(t_in, T)
    k = max(int((t_in < T).sum(axis=1).max()), 1) if batch else 1
    expected_order = np.argsort(t_in, axis=1, kind="stable")[:, :k]
    expected_t = np.minimum(np.take_along_axis(t_in, expected_order, axis=1), T)
    np.testing.assert_array_equal(sorted_t, expected_t)
    live = expected_t < T  # which silent input pads a row does not matter
    np.testing.assert_array_equal(order[live], expected_order[live])


def test_kernels_refuse_indices_they_would_read_out_of_bounds():
    sorted_t, order = np.array([[0, 1]]), np.array([[0, 5]])
    with pytest.raises(ValueError, match="outside"):
        kernels.spike_times(sorted_t, order, np.ones((2, 3)), 1.0, 8)
    with pytest.raises(ValueError, match="shape"):
        kernels.spike_times(sorted_t, order[:, :1], np.ones((2, 3)), 1.0, 8)
    with pytest.raises(ValueError, match="grad_out"):
        kernels.weight_grad(sorted_t, np.array([[0, 1]]), np.ones((1, 2), np.int64), np.ones((1, 3)), 3)


@settings(max_examples=25, deadline=None)
@given(
    batch=st.integers(1, 9),
    n_in=st.integers(1, 30),
    n_out=st.integers(1, 12),
    integer=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_kernels_give_the_same_bits_split_over_threads(batch, n_in, n_out, integer, seed):
    """Samples (spike times) and output neurons (weight gradient) split over threads: no bit changes."""
    rng = np.random.default_rng(seed)
    T = 40
    t_in = rng.integers(0, T + 5, size=(batch, n_in))
    weight = (
        rng.integers(-20, 40, size=(n_out, n_in)) if integer else rng.normal(1.0, 3.0, (n_out, n_in)).astype(np.float32)
    )
    grad_out = rng.normal(size=(batch, n_out)).astype(np.float32)
    sorted_t, order = kernels.sort_by_time(t_in, T)

    def both():
        times = kernels.spike_times(sorted_t, order, weight, 12.0, T, 0 if integer else None, 16 if integer else None)
        return times, kernels.weight_grad(sorted_t, order, times, grad_out, n_in)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(kernels, "_WORKERS", 1)
        one_times, one_grad = both()
        patch.setattr(kernels, "_WORKERS", 3)
        patch.setattr(kernels, "_MIN_WORK_PER_THREAD", 1)  # split even these small calls
        split_times, split_grad = both()
    np.testing.assert_array_equal(one_times, split_times)
    assert one_grad.tobytes() == np.ascontiguousarray(split_grad).tobytes()


@settings(max_examples=100, deadline=None)
@given(float32_layers(), st.integers(0, 2**32 - 1))
def test_weight_gradient_kernel_sums_bit_for_bit_in_the_documented_order(case, seed):
    """Sample by sample, input spikes in time order, only where t_i < t_j; zeros of both signs in the error."""
    t_in, weight, threshold, T = case
    rng = np.random.default_rng(seed)
    sorted_t, order = kernels.sort_by_time(t_in, T)
    t_out = rng.integers(1, T + 1, size=(len(t_in), weight.shape[0]))
    grad_out = rng.normal(size=t_out.shape).astype(np.float32)
    grad_out[rng.random(grad_out.shape) < 0.2] = 0.0
    grad_out[rng.random(grad_out.shape) < 0.2] = -0.0
    expected = np.zeros((weight.shape[1], weight.shape[0]), np.float32)
    for b in range(len(t_in)):
        for t, i in zip(sorted_t[b], order[b]):
            for j in range(weight.shape[0]):
                if t < t_out[b, j]:
                    expected[i, j] = np.float32(expected[i, j] + grad_out[b, j])
    got = kernels.weight_grad(sorted_t, order, t_out, grad_out, weight.shape[1])
    assert np.ascontiguousarray(got).tobytes() == np.ascontiguousarray(expected.T).tobytes()


def test_parallel_chunks_come_back_in_order_and_errors_reach_the_caller():
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(kernels, "_WORKERS", 2)
        patch.setattr(kernels, "_MIN_WORK_PER_THREAD", 1)
        chunks = kernels._in_parallel(lambda part: (part.start, part.stop), 101, 10**6)
        assert len(chunks) == 2 * kernels._CHUNKS_PER_WORKER
        assert chunks[0][0] == 0 and chunks[-1][1] == 101
        assert all(a[1] == b[0] for a, b in zip(chunks, chunks[1:]))  # contiguous, in order

        def fails_on_the_last(part):
            if part.stop == 101:
                raise ValueError("chunk failed")
            return part

        with pytest.raises(ValueError, match="chunk failed"):
            kernels._in_parallel(fails_on_the_last, 101, 10**6)
