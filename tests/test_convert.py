"""ANN → TTFS conversion (``ttfs-deploy convert``): the pieces by hand, refusals, and the command."""

import json

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from tests.helpers import cli
from ttfs_deploy.data import Dataset
from ttfs_deploy.interop.convert import (
    BIAS_NEURON_WEIGHT,
    ConversionError,
    ReluMlp,
    convert_relu_mlp,
    converted_result,
    expand,
    fold_bias,
    load_relu_mlp,
    normalise,
)


def test_fold_bias_by_hand():
    # V + b > alpha  <=>  V * threshold / (alpha - b) > threshold; b >= alpha is clamped to alpha / 20
    weight = np.array([[1.0, 2.0], [3.0, -1.0]])
    folded, clamped = fold_bias(weight, np.array([0.1, 0.5]), alpha=0.5, threshold=100.0)
    assert clamped == 1
    np.testing.assert_allclose(folded, [[250.0, 500.0], [12000.0, -4000.0]])


def test_normalise_by_hand():
    # x = (1, 0) and (0, 1): hidden (1, 0) and (0, 2) -> lam1 = 2; logits (1, 1) and (2, -2) -> lam2 = 2
    mlp = ReluMlp([np.array([[1.0, 0.0], [0.0, 2.0]]), np.array([[1.0, 1.0], [1.0, -1.0]])], [np.zeros(2)] * 2)
    images = np.array([[255, 0], [0, 255]], np.uint8)
    norm, lam = normalise(mlp, images, percentile=100.0)
    assert lam == [1.0, 2.0, 2.0]
    np.testing.assert_allclose(norm.weights[0], [[0.5, 0.0], [0.0, 1.0]])
    np.testing.assert_allclose(norm.weights[1], [[1.0, 1.0], [1.0, -1.0]])


def test_tiny_net_converted_by_hand():
    # one layer, 2 pixels -> 2 classes, class k when pixel k is bright; bias favours class 1 a little
    mlp = ReluMlp([np.array([[2.0, -1.0], [-1.0, 2.0]])], [np.array([0.0, 0.5])])
    data = Dataset(np.array([[255, 0], [0, 255], [255, 0]], np.uint8), np.array([0, 1, 0]), (1, 2), "hand", 2)
    conv = convert_relu_mlp(mlp, data, T=16, threshold=100.0, percentile=100.0, levels=1, readout="first_spike")
    # lam1 = 2.5 (the largest logit); alpha_output = the first grid point with full accuracy (0.1)
    assert conv.lam == [1.0, 2.5] and conv.alpha_out == 0.1
    expected, _ = fold_bias(mlp.weights[0] / 2.5, mlp.biases[0] / 2.5, 0.1, 100.0)
    np.testing.assert_allclose(conv.weights[0], expected.astype(np.float32))
    run = converted_result(conv.weights, conv.thresholds, "first_spike", data, 16, "silent")
    # pixel 255 spikes at t=0: class 0 gets 2/2.5 * 100/0.1 = 800 > 100 -> spikes at step 1
    assert run.accuracy == 1.0 and [s.decision_step for s in run.samples] == [1, 1, 1]
    with pytest.raises(ConversionError, match="needs a hidden layer"):
        convert_relu_mlp(mlp, data, T=16, readout="membrane")


def test_levels_and_bias_neuron_by_hand():
    # 2 pixels -> 1 hidden unit (w = (1, 0.5), b = 0.1) -> 2 outputs (w = (2, -1), b = (0, 0.3)); K = 2, scale 1:
    # levels alpha = 0.25, 0.75 -> hidden rows w * 100 / (alpha - b); bias neuron 101 from each pixel;
    # outputs see each level as w_out * scale / K and the bias neuron as b_out
    norm = ReluMlp([np.array([[1.0, 0.5]]), np.array([[2.0], [-1.0]])], [np.array([0.1]), np.array([0.0, 0.3])])
    weights, clamped = expand(norm, levels=2, scale=1.0, threshold=100.0, readout="membrane")
    assert clamped == 0
    np.testing.assert_allclose(
        weights[0], [[100 / 0.15, 50 / 0.15], [100 / 0.65, 50 / 0.65], [BIAS_NEURON_WEIGHT * 100] * 2]
    )
    np.testing.assert_allclose(weights[1], [[1.0, 1.0, 0.0], [-0.5, -0.5, 0.3]])


def test_membrane_readout_computes_the_quantised_relu_net():
    # pixels (255, 255): h = relu(1.5 + 0.1) = 1.6 -> both levels fire (1.6 > 0.75): outputs 2 * 1 = 2 and
    # -1 * 1 + 0.3 = -0.7 -> class 0; pixels (0, 0): nothing fires, not even the bias neuron -> potentials 0
    norm = ReluMlp([np.array([[1.0, 0.5]]), np.array([[2.0], [-1.0]])], [np.array([0.1]), np.array([0.0, 0.3])])
    weights, _ = expand(norm, levels=2, scale=1.0, threshold=100.0, readout="membrane")
    data = Dataset(np.array([[255, 255], [0, 0]], np.uint8), np.array([0, 0]), (1, 2), "hand", 2)
    from ttfs_deploy.ir.network import from_checkpoint_weights
    from ttfs_deploy.semantics import integrator_membrane, simulate

    ir = from_checkpoint_weights(weights, [100.0, 0.0], 8, "silent", (1, 2), readout="membrane")
    times = simulate(ir, np.array([[0, 0], [8, 8]]))
    np.testing.assert_array_equal(times[1], [[1, 1, 1], [8, 8, 8]])  # all three hidden neurons at step 1
    membrane = integrator_membrane(ir, times)
    np.testing.assert_allclose(membrane[0, 0], [0.0, 0.0])  # potentials after step 0: nothing arrived
    np.testing.assert_allclose(membrane[0, -1], [2.0, -0.7])
    np.testing.assert_allclose(membrane[1, -1], [0.0, 0.0])
    result = converted_result(weights, [100.0, 0.0], "membrane", data, 8, "silent")
    # sample 0: potentials 0 (a tie: undecided) after step 0, (2, -0.7) after step 1 -> known at time 2;
    # sample 1: a tie to the end -> class 0 by the lowest index, no decision step (T)
    assert [s.prediction for s in result.samples] == [0, 0]
    assert [s.decision_step for s in result.samples] == [2, 8] and result.ties == 1


def _save(tmp_path, state, name="ann.pt"):
    path = tmp_path / name
    torch.save(state, path)
    return path


def test_load_relu_mlp_reads_sequential_state_dict(tmp_path):
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    mlp = load_relu_mlp(_save(tmp_path, model.state_dict()), [4, 3, 2])
    np.testing.assert_allclose(mlp.weights[1], model[2].weight.detach().double().numpy())
    np.testing.assert_allclose(mlp.biases[0], model[0].bias.detach().double().numpy())


@pytest.mark.parametrize(
    "state, arch, needle",
    [
        (nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2)).state_dict(), [4, 5, 2], "--arch says 4-5-2"),
        (nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3), nn.Linear(3, 2)).state_dict(), [4, 3, 2], "module '1'"),
        (nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU()).state_dict(), [9, 2], "module 0: not a Linear"),
        ({"0.weight": "text"}, [4, 2], "not a Linear layer's weight"),
    ],
)
def test_load_relu_mlp_refusals(tmp_path, state, arch, needle):
    with pytest.raises(ConversionError, match=needle) as info:
        load_relu_mlp(_save(tmp_path, state), arch)
    assert "\n" not in str(info.value)


def test_whole_pickled_module_is_refused_without_running_it(tmp_path):
    path = _save(tmp_path, nn.Sequential(nn.Linear(4, 2)))
    with pytest.raises(ConversionError, match="not plain data.*state_dict"):
        load_relu_mlp(path, [4, 2])


def test_convert_command_on_digits(tmp_path):
    from ttfs_deploy import data
    from ttfs_deploy.compiler.pipeline import load_network
    from ttfs_deploy.train.ann_baseline import fit_mlp

    model = fit_mlp([64, 32, 10], data.load("digits:train"), epochs=8, progress=False)
    src = _save(tmp_path, model.state_dict())
    out = tmp_path / "conv.pt"
    proc = cli(
        "convert", src, "--arch", "64-32-10", "--calib-data", "digits:train", "--val-data", "digits:test",
        "--T", "64", "-o", out, "--json",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    ann = report["ann"]["accuracy"]
    assert ann > 0.8 and report["converted"]["accuracy"] >= ann - 0.05, report  # membrane read-out, 4 levels
    ir = load_network(out)
    assert ir.sizes == [64, 4 * 32 + 1, 10] and ir.readout == "membrane"
    golden = cli("run", out, "--target", "golden", "--data", "digits:test", "--calibration", "digits:train", "--json")
    assert golden.returncode == 0, golden.stderr
    assert abs(json.loads(golden.stdout)["accuracy"] - report["converted"]["accuracy"]) <= 0.03
    assert json.loads(golden.stdout)["readout"] == "membrane"
    # the energy comparison is with the ANN the network came from, not a same-shape 64-129-10 one
    prof = cli("profile", out, "--target", "golden", "--data", "digits:test", "--calibration", "digits:train", "--json")
    assert prof.returncode == 0, prof.stderr
    ann = json.loads(prof.stdout)["profile"]["ann"]
    assert ann["arch"] == "64-32-10" and ann["macs"] == 64 * 32 + 32 * 10
    # every command takes the plain state_dict itself: converted on the fly as convert does by default
    default = tmp_path / "default.pt"
    made = cli("convert", src, "--arch", "64-32-10", "--calib-data", "digits:train", "--val-data", "digits:test",
               "-o", default, "--json")  # fmt: skip
    assert made.returncode == 0, made.stderr
    runs = [
        cli("run", m, "--target", t, "--data", "digits:test", "--calibration", "digits:train", "--json")
        for m in (default, src)
        for t in ("golden", "float")
    ]
    assert all(r.returncode == 0 for r in runs), [r.stderr for r in runs]
    (conv_golden, conv_float, direct_golden, direct_float) = (json.loads(r.stdout)["samples"] for r in runs)
    assert direct_golden == conv_golden and direct_float == conv_float
    no_data = cli("run", src, "--target", "golden", "--data", "digits:test", "--calibration", "none")
    assert no_data.returncode == 2 and no_data.stderr.count("\n") == 1 and "needs calibration data" in no_data.stderr
    refused = cli("convert", src, "--arch", "64-32-10", "--finetune-epochs", "1", "-o", tmp_path / "y.pt")
    assert refused.returncode == 2 and "--readout first-spike" in refused.stderr
    tuned = tmp_path / "tuned.pt"
    proc = cli(
        "convert", src, "--arch", "64-32-10", "--calib-data", "digits:train", "--val-data", "digits:test",
        "--T", "64", "--readout", "first-spike", "--levels", "1", "--finetune-epochs", "1", "-o", tuned, "--json",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert 0.3 < report["converted"]["accuracy"] <= 1.0 and "finetuned" in report
    assert load_network(tuned).sizes == [64, 32, 10] and load_network(tuned).readout == "first_spike"
    bad = cli("convert", src, "--arch", "64-20-10", "--calib-data", "digits:train", "-o", tmp_path / "x.pt")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "--arch says 64-20-10" in bad.stderr
    assert not (tmp_path / "x.pt").exists()


@pytest.mark.requires_lava
def test_integrator_readout_on_loihi_sim_equals_golden():
    """A fire-once hidden layer and an integrator read-out on Lava: the integrator is the fire-once neuron
    with an unreachable threshold, its v read through a RefPort each step; spikes and potentials equal
    golden's, including a hidden spike at T - 1 that the read-out must not see."""
    from ttfs_deploy.backends import lava_sim
    from ttfs_deploy.ir import FireOnceLayer, InputLayer, NetworkIR
    from ttfs_deploy.semantics import integrator_membrane, simulate

    rng = np.random.default_rng(0)
    T = 12
    hidden = FireOnceLayer("fc1", rng.integers(-60, 100, (9, 14)).astype(np.int32), 150)
    readout = FireOnceLayer("fc2", rng.integers(-128, 128, (4, 9)).astype(np.int32), 0, integrator=True)
    quant = dict(profile="loihi2", weight_bits=8, membrane_bits=24, weight_exponents=[0, 1])
    ir = NetworkIR(
        (InputLayer("input", 14), hidden, readout),
        (("input", "fc1"), ("fc1", "fc2")),
        T,
        "silent",
        (14, 1),
        quant=quant,
    )
    t_in = rng.integers(0, T + 2, (6, 14))
    times = simulate(ir, t_in)
    membrane = integrator_membrane(ir, times)
    assert (times[1] == T - 1).any() and np.abs(membrane).max() > 0
    lava_times, lava_membrane = lava_sim.simulate_readout(ir, t_in, timeout_s=120)
    for a, b in zip(times, lava_times):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(membrane, lava_membrane)


def _slow_membrane(previous, weight, T, e, bits):
    """The integrator read-out by hand: V(s) = clip(V(s-1) + shift(sum of w over inputs of time s))."""
    n, size = len(previous), weight.shape[0]
    out = np.zeros((n, T - 1, size), np.int64)
    low, high = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    for k in range(n):
        for o in range(size):
            v = 0
            for s in range(T - 1):
                a = sum(int(weight[o, j]) for j in range(weight.shape[1]) if previous[k, j] == s)
                a = a << e if e >= 0 else a >> -e
                v = min(max(v + a, low), high)
                out[k, s, o] = v
    return out


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), e=st.integers(-3, 3), bits=st.sampled_from([8, 12, 24]))
def test_integrator_membrane_equals_slow_reference_and_survives_the_file(tmp_path_factory, seed, e, bits):
    from ttfs_deploy.ir import FireOnceLayer, InputLayer, NetworkIR, load_ir, save_ir
    from ttfs_deploy.semantics import integrator_membrane, simulate

    rng = np.random.default_rng(seed)
    T, n_in, n_hid = int(rng.integers(2, 12)), int(rng.integers(1, 9)), int(rng.integers(1, 7))
    hidden = FireOnceLayer("fc1", rng.integers(-128, 128, (n_hid, n_in)).astype(np.int32), int(rng.integers(0, 120)))
    readout = FireOnceLayer("fc2", rng.integers(-128, 128, (3, n_hid)).astype(np.int32), 0, integrator=True)
    quant = dict(profile="loihi2", weight_bits=8, membrane_bits=bits, weight_exponents=[0, e])
    ir = NetworkIR(
        (InputLayer("input", n_in), hidden, readout),
        (("input", "fc1"), ("fc1", "fc2")),
        T,
        "silent",
        (n_in, 1),
        quant=quant,
    )
    t_in = rng.integers(0, T + 1, (4, n_in))
    times = simulate(ir, t_in)
    assert (times[2] == T).all()  # the integrator never fires
    np.testing.assert_array_equal(integrator_membrane(ir, times), _slow_membrane(times[1], readout.weight, T, e, bits))
    back = load_ir(save_ir(ir, tmp_path_factory.mktemp("ir") / "net.ttfs"))
    assert back.readout == "membrane" and back.chain()[-1].integrator
    np.testing.assert_array_equal(integrator_membrane(back, simulate(back, t_in)), integrator_membrane(ir, times))


def test_integrator_must_be_last_and_checkpoint_keeps_the_readout(tmp_path):
    from ttfs_deploy.ir import FireOnceLayer, InputLayer, IRError, NetworkIR
    from ttfs_deploy.train.checkpoint import load_checkpoint, save_checkpoint
    from ttfs_deploy.train.model import TTFSClassifier

    layers = (
        InputLayer("input", 2),
        FireOnceLayer("fc1", np.ones((2, 2)), 0.0, integrator=True),
        FireOnceLayer("fc2", np.ones((2, 2)), 1.0),
    )
    with pytest.raises(IRError, match="'fc1': an integrator read-out .* must be the last layer"):
        NetworkIR(layers, (("input", "fc1"), ("fc1", "fc2")), 8, "silent", (2, 1)).chain()
    model = TTFSClassifier([2, 3, 2], [1.0, 0.0], 8)
    save_checkpoint(tmp_path / "m.pt", model, "silent", (2, 1), {}, {}, readout="membrane")
    assert load_checkpoint(tmp_path / "m.pt").readout == "membrane"
    save_checkpoint(tmp_path / "f.pt", model, "silent", (2, 1), {}, {})
    assert load_checkpoint(tmp_path / "f.pt").readout == "first_spike"


def test_two_hidden_layers_convert_with_their_bias_neurons(tmp_path):
    """A 64-32-16-10 MLP: each hidden layer K-fold plus a bias neuron fed only by the previous layer's
    bias neuron. On binary images every input spikes at step 0, so each layer's inputs arrive together
    and the converted network must compute the K-level quantised ReLU network exactly: its final
    potentials are checked against that network computed here with NumPy."""
    from ttfs_deploy import data
    from ttfs_deploy.ir.network import from_checkpoint_weights
    from ttfs_deploy.semantics import integrator_membrane, simulate
    from ttfs_deploy.train.ann_baseline import fit_mlp

    train = data.load("digits:train")
    model = fit_mlp([64, 32, 16, 10], train, epochs=20, progress=False)
    mlp = load_relu_mlp(_save(tmp_path, model.state_dict()))  # sizes read from the file
    assert mlp.sizes == [64, 32, 16, 10]
    K = 4
    conv = convert_relu_mlp(mlp, train, T=64, levels=K)
    w1, w2, w3 = conv.weights
    assert w1.shape == (K * 32 + 1, 64) and w2.shape == (K * 16 + 1, K * 32 + 1) and w3.shape == (10, K * 16 + 1)
    assert (w2[-1, :-1] == 0).all() and w2[-1, -1] > 100  # layer 2's bias neuron: only the previous one drives it
    assert (w2[:-1, -1] == 0).all() and conv.clamped == 0  # hidden biases are folded into thresholds
    binary = (data.load("digits:test").images[:60] > 8).astype(np.uint8) * 255
    ir = from_checkpoint_weights(conv.weights, conv.thresholds, 64, "silent", (8, 8), readout="membrane")
    times = simulate(ir, np.where(binary > 0, 0, 64))
    got = integrator_membrane(ir, times)[:, -1]
    norm, lam = normalise(mlp, train.images)  # as convert_relu_mlp did on its calibration images
    assert lam == conv.lam
    alphas = conv.scale * (np.arange(K) + 0.5) / K
    h = binary / 255.0
    for k, (w, b) in enumerate(zip(norm.weights, norm.biases)):
        z = h @ w.T + b
        if k == len(norm.weights) - 1:
            want = z
        else:
            h = sum((z > alpha).astype(float) for alpha in alphas) * conv.scale / K  # the thermometer code
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
