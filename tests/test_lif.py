"""The LIF neuron kind without Lava: IR and file format, rate coding, the golden LIF arithmetic by hand."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ttfs_deploy.coding import encode_rate
from ttfs_deploy.errors import UsageError
from ttfs_deploy.ir import IRError, load_ir, save_ir
from ttfs_deploy.semantics.lif import simulate_lif, simulate_rate

from .test_lif_lava import lif_net


def test_lif_ir_round_trips_through_a_file(tmp_path):
    rng = np.random.default_rng(0)
    net = lif_net(
        [rng.integers(-128, 128, (5, 6)).astype(np.int32)], [dict(vth=30, du=4095, dv=410, bias_mant=-7)], 9, [0]
    )
    path = save_ir(net, tmp_path / "a.ttfs")
    back = load_ir(path)
    assert back.neuron == "lif" and back.rate == net.rate
    layer = back.chain()[1]
    assert layer.params() == net.chain()[1].params()
    spikes = rng.random((3, 9, 6)) < 0.5
    for a, b in zip(simulate_rate(back, spikes), simulate_rate(net, spikes)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "field, value, limit",
    [("du", 4096, "0..4095"), ("dv", -1, "0..4095"), ("vth", 2**17, "0..131071"), ("bias_exp", 8, "0..7")],
)
def test_quantised_fields_outside_lava_widths_are_refused(field, value, limit):
    params = dict(vth=30, du=4095, dv=410) | {field: value}
    with pytest.raises(IRError, match=f"{field} must be an integer in {limit}"):
        lif_net([np.ones((2, 3), np.int32)], [params], 5, [0]).chain()


def test_float_decay_outside_0_1_is_refused():
    with pytest.raises(IRError, match="float dv must be in 0..1"):
        lif_net([np.ones((2, 3))], [dict(vth=1.0, du=1.0, dv=1.5)], 5, [0], quantized=False).chain()


def test_bit_accurate_arithmetic_by_hand():
    # one neuron, weight 3 << e = 1 -> a = 6 per step, u = a << 6 = 384 (du = 4095: no current memory),
    # dv = 2048 halves v (rounding towards zero), vth << 6 = 640:
    # v = 384, 192 + 384 = 576, 288 + 384 = 672 > 640 spike -> 0, 384, 576, 672 spike
    net = lif_net([np.array([[3]], np.int32)], [dict(vth=10, du=4095, dv=2048)], 6, [1])
    out = simulate_rate(net, np.ones((1, 6, 1), bool))[1]
    np.testing.assert_array_equal(out.ravel(), [0, 0, 1, 0, 0, 1])


def test_negative_values_decay_towards_zero_and_bias_shifts():
    # a = -5 -> u = -320; dv = 2048: -320 -> -160 (not -161 as a floor would give); bias 3 << 2 = 12
    # v = -320 + 12 = -308, then -154 - 320 + 12 = -462; never spikes; vth = 0 checks the sign only
    net = lif_net([np.array([[-5]], np.int32)], [dict(vth=0, du=4095, dv=2048, bias_mant=3, bias_exp=2)], 4, [0])
    assert simulate_rate(net, np.ones((1, 4, 1), bool))[1].sum() == 0


def test_rate_coding_is_per_sample_and_seeded():
    images = np.random.default_rng(0).integers(0, 256, (6, 20))
    full = encode_rate(images, 15, seed=7)
    np.testing.assert_array_equal(encode_rate(images[2:4], 15, seed=7, first_index=2), full[2:4])
    assert not np.array_equal(encode_rate(images, 15, seed=8), full)
    assert not full.transpose(0, 2, 1)[images == 0].any()  # black pixels never spike
    regular = encode_rate(np.array([[0, 51, 255]]), 10, "regular")
    np.testing.assert_array_equal(regular.sum(axis=1), [[0, 2, 10]])


@pytest.mark.parametrize("seed", [-1, 2**32, 1.5, True])
def test_seed_out_of_range_is_one_line(seed):
    with pytest.raises(UsageError, match=r"input seed must be an integer in 0\.\.4294967295"):
        encode_rate(np.zeros((1, 4)), 5, seed=seed)


def test_rate_decision_steps_by_hand():
    from ttfs_deploy.semantics.readout import lead_decision_steps, rate_decision_steps

    # neuron 0 spikes at 0, 3, 4; neuron 1 at 1, 2. Running arg-max (lowest index on ties): 0, 0, 1, 0, 0
    out = np.zeros((2, 5, 2), dtype=np.uint8)
    out[0, [0, 3, 4], 0] = 1
    out[0, [1, 2], 1] = 1  # sample 1: no output spike at all
    prediction, step = rate_decision_steps(out)
    np.testing.assert_array_equal(prediction, [0, -1])
    np.testing.assert_array_equal(step, [3, 5])  # after step 2 the arg-max never changes; no spike: T
    np.testing.assert_array_equal(lead_decision_steps(out, 1)[1], [0, 5])  # a lead of 1 at step 0
    prediction, step = lead_decision_steps(out, 2)  # never 2 ahead: the window's arg-max at its last step
    np.testing.assert_array_equal(prediction, [0, -1])
    np.testing.assert_array_equal(step, [4, 5])


def test_rate_trace_round_trip_and_first_difference(tmp_path):
    from ttfs_deploy.measure.rate_trace import rate_run_trace
    from ttfs_deploy.measure.trace import diff_traces, load_trace, save_trace
    from ttfs_deploy.semantics.rate import classify_rate

    rng = np.random.default_rng(1)
    rasters = [(rng.random((3, 6, n)) < 0.4).astype(np.uint8) for n in (5, 4, 2)]
    labels = np.array([0, 1, 1])
    trace = rate_run_trace(rasters, classify_rate(rasters, labels, "golden", 7), 7)
    save_trace(tmp_path / "a.npz", trace)
    back = load_trace(tmp_path / "a.npz")
    assert back.coding == "rate" and back.input_seed == 7 and diff_traces(back, trace).equal
    flipped = [r.copy() for r in rasters]
    flipped[1][2, 4, 3] ^= 1
    other = rate_run_trace(flipped, classify_rate(flipped, labels, "loihi-sim", 7), 7)
    diff = diff_traces(trace, other)
    assert diff.first == (2, 1, 3, 4, bool(rasters[1][2, 4, 3])) and diff.spikes_differing == 1
    assert "sample 2, layer 1, neuron 3, step 4" in diff.message()


def test_refractory_holds_v_at_zero():
    # a = 1 << 6 per step against vth << 6 = 0: a spike every step, unless v is held at 0 for r steps after one
    params = dict(vth=0, du=4095, dv=4095)
    spikes = np.ones((1, 7, 1), bool)
    every = simulate_rate(lif_net([np.array([[1]], np.int32)], [params], 7, [0]), spikes)[1].ravel()
    held = simulate_rate(lif_net([np.array([[1]], np.int32)], [params | {"refractory": 2}], 7, [0]), spikes)[1]
    np.testing.assert_array_equal(every, [1] * 7)
    np.testing.assert_array_equal(held.ravel(), [1, 0, 0, 1, 0, 0, 1])


def test_a_file_with_a_field_outside_lava_widths_is_one_line(tmp_path):
    import json

    from .helpers import cli

    net = lif_net([np.ones((10, 784), np.int32)], [dict(vth=30, du=4095, dv=410)], 5, [0])
    net = type(net)(net.layers, net.edges, net.T, net.zero_policy, (28, 28), quant=net.quant, rate=net.rate)
    path = save_ir(net, tmp_path / "ok.ttfs")
    arrays = dict(np.load(path))
    meta = json.loads(arrays["metadata"].tobytes())
    meta["layers"][1]["du"] = 5000
    arrays["metadata"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    np.savez_compressed(tmp_path / "bad.ttfs.npz", **arrays)
    (tmp_path / "bad.ttfs.npz").rename(tmp_path / "bad.ttfs")
    with pytest.raises(IRError, match=r"field du must be an integer in 0\.\.4095, got 5000"):
        load_ir(tmp_path / "bad.ttfs")
    proc = cli("run", tmp_path / "bad.ttfs", "--target", "golden", "--limit", "2")
    assert proc.returncode == 2 and "du must be an integer in 0..4095" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def _slow_lif_layer(spikes, q, e, du, dv, vth, bias, refractory):
    """The module docstring's arithmetic with Python ints, one neuron and step at a time, summed afresh."""
    n, T, _ = spikes.shape
    out = np.zeros((n, T, q.shape[0]), np.uint8)
    big = 1 << 23
    for k in range(n):
        for j in range(q.shape[0]):
            u = v = 0
            ref_end = -1
            for t in range(T):
                a = sum(int(q[j, i]) for i in range(q.shape[1]) if spikes[k, t, i])
                a = a << e if e >= 0 else a >> -e
                d = int(u * (4096 - (du + 1)) / 4096) + (a << 6)  # int(x / 4096): rounds towards zero
                u = d - 2 * big if d > big else d
                u = d + 2 * big if u <= -big else u
                if t > ref_end:
                    v = min(max(int(v * (4096 - dv) / 4096) + u + bias, -(big - 1)), big - 1)
                if v > vth << 6:
                    out[k, t, j], v, ref_end = 1, 0, t + refractory
    return out


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    bits=st.sampled_from([8, 13, 22]),  # golden keeps weight rows as int8, int16 or int32
    persistence=st.sampled_from([0.0, 0.9, 1.0]),  # how often an input repeats its last step (delta sums)
)
def test_golden_lif_layer_equals_a_slow_python_reference(seed, bits, persistence):
    rng = np.random.default_rng(seed)
    # up to 5 outputs: dot products; 33-40 (wider than _DENSE_MAX_OUT): listed spikes and delta sums
    n_in, T = int(rng.integers(1, 30)), int(rng.integers(2, 10))
    n_out = int(rng.integers(1, 6)) if rng.random() < 0.5 else int(rng.integers(33, 41))
    q = rng.integers(-(2 ** (bits - 1)), 2 ** (bits - 1), (n_out, n_in)).astype(np.int32)
    spikes = rng.random((3, T, n_in)) < rng.uniform(0.05, 0.95)
    for t in range(1, T):
        keep = rng.random((3, n_in)) < persistence
        spikes[:, t][keep] = spikes[:, t - 1][keep]
    e = int(rng.integers(-3, 4))
    params = dict(
        vth=int(rng.integers(0, 5000)),
        du=int(rng.choice([0, 100, 4095])),
        dv=int(rng.choice([0, 410, 4095])),
        bias_mant=int(rng.integers(-4096, 4096)),
        bias_exp=int(rng.integers(0, 8)),
        refractory=int(rng.integers(0, 3)),
    )
    net = lif_net([q], [params], T, [e], weight_bits=bits)
    want = _slow_lif_layer(
        spikes,
        q,
        e,
        params["du"],
        params["dv"],
        params["vth"],
        params["bias_mant"] << params["bias_exp"],
        params["refractory"],
    )
    np.testing.assert_array_equal(simulate_rate(net, spikes)[1], want)


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), wide=st.sampled_from([np.int16, np.int32]))
def test_row_sums_add_and_subtract_exactly(seed, wide):
    # golden's Dense sums: rows added or (delta sums) subtracted four at a time plus a tail; int8 weights
    # of -128 must subtract as +128 (a negated int8 wraps)
    from ttfs_deploy.semantics.lif import _add_rows

    rng = np.random.default_rng(seed)
    n_in, n = int(rng.integers(1, 20)), int(rng.integers(1, 50))
    qT = rng.choice(np.array([-128, -127, -1, 0, 1, 127], np.int8), (n_in, n))
    m = int(rng.integers(0, n_in + 1))
    rows = np.concatenate([rng.choice(n_in, m, replace=False), rng.integers(0, n_in, 3)]).astype(np.int64)
    a = rng.integers(-1000, 1000, n).astype(wide)
    want = a.astype(np.int64)
    for sign in (1, -1, -1):
        _add_rows(a, qT, rows, m, sign)
        want = want + sign * qT[rows[:m]].astype(np.int64).sum(axis=0)
    np.testing.assert_array_equal(a.astype(np.int64), want)


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    headroom=st.sampled_from([1, 2, 64]),  # how far the largest step sum stays under Lava's 24-bit wrap
    dv=st.sampled_from([0, 1, 410, 4095]),
)
def test_float_update_equals_the_slow_reference_at_its_limits(seed, headroom, dv):
    # golden's float64 neuron update (du = 4095, no refractory period) must be exact: the largest step sum
    # just under the wrap, saturating membranes (dv = 0 integrates without leak), the largest threshold
    # and bias, negative exponents (a >> -e rounds towards -inf)
    from ttfs_deploy.semantics.lif import _float_update_is_exact, _prepared

    rng = np.random.default_rng(seed)
    n_in, T = int(rng.integers(1, 30)), int(rng.integers(2, 12))
    n_out = int(rng.choice([3, 40]))  # dot products and listed spikes
    q = rng.integers(-128, 128, (n_out, n_in)).astype(np.int32)
    reach = max(int(np.clip(q, 0, None).sum(axis=1).max()), int(np.clip(-q, 0, None).sum(axis=1).max()), 1)
    # the largest exponent whose (reach << e) << 6 stays under 2^23 by at least `headroom`
    e = int(np.floor(np.log2(((1 << 23) - headroom) / (reach * 64))))
    e = min(e, 7) if rng.random() < 0.7 else int(rng.integers(-3, 0))
    params = dict(
        vth=int(rng.choice([0, int(rng.integers(0, 5000)), 2**17 - 1])),
        du=4095,
        dv=dv,
        bias_mant=int(rng.choice([-4096, int(rng.integers(-4096, 4096)), 4095])),
        bias_exp=int(rng.integers(0, 8)),
    )
    net = lif_net([q], [params], T, [e])
    assert _float_update_is_exact(dict(du=4095), 0, _prepared(net.chain()[1])[3], e)
    spikes = rng.random((3, T, n_in)) < rng.uniform(0.05, 0.95)
    bias = params["bias_mant"] << params["bias_exp"]
    want = _slow_lif_layer(spikes, q, e, 4095, dv, params["vth"], bias, 0)
    np.testing.assert_array_equal(simulate_rate(net, spikes)[1], want)


def test_float_update_is_refused_where_it_would_not_be_exact():
    from ttfs_deploy.semantics.lif import _float_update_is_exact

    fields = dict(du=4095)
    assert _float_update_is_exact(fields, 0, (1 << 16) - 1, 1)  # (2^16 - 1) << 7 < 2^23
    assert not _float_update_is_exact(fields, 0, 1 << 16, 1)  # 2^23: may wrap
    assert not _float_update_is_exact(dict(du=4094), 0, 1, 0)  # u carries state
    assert not _float_update_is_exact(fields, 1, 1, 0)  # refractory neurons hold v


@settings(max_examples=300, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), e=st.integers(-4, 7), dv=st.sampled_from([0, 1, 410, 2048, 4095]))
def test_float_update_step_equals_the_int64_step(seed, e, dv):
    # one step of every neuron from the same state: the float64 update must leave the same v and spikes as
    # the int64 one (spikes alone hide an off-by-one v), over the whole range of v, a and the threshold
    from ttfs_deploy.semantics.lif import _M, _update, _update_float

    rng = np.random.default_rng(seed)
    n = 64
    reach = ((_M - 1) >> 6) >> max(e, 0)  # the largest |a| the float update is used for
    a = rng.integers(-reach, reach + 1, n).astype(np.int32)
    a[:4] = [reach, -reach, 0, -1]
    v = rng.integers(-(_M - 1), _M, n)
    v[:4] = [_M - 1, -(_M - 1), -1, 1]
    vth_eff = int(rng.choice([0, 2**17 - 1, int(rng.integers(0, 2**17))])) << 6
    bias = int(rng.integers(-4096, 4096)) << int(rng.integers(0, 8))
    want_v, want_out = v.copy(), np.zeros(n, np.uint8)
    no = np.empty(0, np.int64)
    _update(a, 0, e, 4095, dv, vth_eff, bias, 0, np.zeros(n, np.int64), want_v, np.full(n, -1), want_out, no)
    got_v, got_out = v.astype(np.float64), np.zeros(n, np.uint8)
    _update_float(a, 2.0**e, (4096 - dv) / 4096.0, float(vth_eff), float(bias), got_v, got_out)
    np.testing.assert_array_equal(got_out, want_out)
    np.testing.assert_array_equal(got_v, want_v.astype(np.float64))


@settings(max_examples=100, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    persistence=st.sampled_from([0.0, 0.5, 0.9, 1.0]),  # how often an input repeats its last step
    bits=st.sampled_from([8, 13]),  # int8 and int16 weight rows
)
def test_listed_step_sums_equal_matrix_products(seed, persistence, bits):
    # a wide layer's step sums are listed rows, afresh or as the last step's sum corrected by the inputs
    # that changed; an integrator read-out (v = running sum of a << 6, wrapped at 24 bits) shows every
    # step's sum, which must equal the plain product weights @ spikes
    rng = np.random.default_rng(seed)
    n_in, T, n_out = int(rng.integers(1, 40)), int(rng.integers(2, 20)), int(rng.integers(33, 48))
    q = rng.integers(-(2 ** (bits - 1)), 2 ** (bits - 1), (n_out, n_in)).astype(np.int32)
    spikes = rng.random((4, T, n_in)) < rng.uniform(0.05, 0.95, (4, 1, n_in))  # a rate per input
    for t in range(1, T):
        keep = rng.random((4, n_in)) < persistence
        spikes[:, t][keep] = spikes[:, t - 1][keep]
    net = lif_net([q], [dict(vth=0, du=0, dv=0, integrator=True)], T, [0], weight_bits=bits)
    membrane = simulate_lif(net, spikes)[1]
    a = np.einsum("ji,kti->ktj", q.astype(np.int64), spikes.astype(np.int64))
    want, u = np.zeros_like(a), np.zeros_like(a[:, 0])
    for t in range(T):
        u = u + (a[:, t] << 6)
        u = np.where(u > 2**23, u - 2**24, np.where(u <= -(2**23), u + 2**24, u))  # Lava's 24-bit wrap
        want[:, t] = u
    np.testing.assert_array_equal(membrane, want)


def test_golden_lif_gives_the_same_spikes_split_over_threads():
    from ttfs_deploy.semantics import kernels

    rng = np.random.default_rng(3)
    weights = [rng.integers(-128, 128, (40, 50)).astype(np.int32), rng.integers(-128, 128, (10, 40)).astype(np.int32)]
    net = lif_net(weights, [dict(vth=300, du=4095, dv=410)] * 2, 12, [0, 0])
    spikes = rng.random((21, 12, 50)) < 0.3
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(kernels, "_WORKERS", 1)
        one = simulate_rate(net, spikes)
        patch.setattr(kernels, "_WORKERS", 2)
        patch.setattr(kernels, "_MIN_WORK_PER_THREAD", 1)
        split = simulate_rate(net, spikes)
    assert sum(int(r.sum()) for r in one[1:]) > 0
    for a, b in zip(one, split):
        np.testing.assert_array_equal(a, b)
