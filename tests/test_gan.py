"""Spiking-GAN: loss targets, the gradient through D, training steps, checkpoints, sampling, bad input."""

import numpy as np
import pytest
import torch

from tests.helpers import MODELS
from ttfs_deploy.cli import main
from ttfs_deploy.train import reference
from ttfs_deploy.train.gan import GanConfig, SpikingGAN, d_step, g_step, noise, train_gan
from ttfs_deploy.train.gan_checkpoint import load_gan, save_gan
from ttfs_deploy.train.gan_losses import FAKE, REAL, d_loss, g_loss, gan_targets

T = 256


def test_targets_desired_neuron_gets_the_winner_time_and_the_other_T():
    t = torch.tensor([[10.0, 20.0], [30.0, 5.0]])
    assert gan_targets(t, REAL, T).tolist() == [[T, 10], [T, 5]]
    assert gan_targets(t, FAKE, T).tolist() == [[10, T], [5, T]]


def test_both_silent_desired_target_zero_other_T():
    t = torch.tensor([[float(T), float(T)]])
    assert gan_targets(t, REAL, T).tolist() == [[T, 0]]
    assert gan_targets(t, FAKE, T).tolist() == [[0, T]]


def test_losses_by_hand_and_g_flips_d_targets_on_fakes():
    real, fake = torch.tensor([[40.0, 12.0]]), torch.tensor([[10.0, 20.0]])
    # D: real wants REAL (target [T, 12]), fake wants FAKE (target [10, T])
    expected_d = ((40 - T) ** 2 + 0) / (2 * T) + (0 + (20 - T) ** 2) / (2 * T)
    assert float(d_loss(real, fake, T)) == pytest.approx(expected_d)
    # G on the same fake: flipped, REAL should win: target [T, 10]
    assert float(g_loss(fake, T)) == pytest.approx(((10 - T) ** 2 + (20 - 10) ** 2) / (2 * T))
    silent = torch.tensor([[float(T), float(T)]])
    assert float(g_loss(silent, T)) == pytest.approx(T**2 / (2 * T))  # desired REAL pushed to 0


@pytest.fixture(scope="module")
def gan():
    cfg = GanConfig(hidden=40)
    model = SpikingGAN(cfg)
    model.init_weights(cfg, torch.Generator().manual_seed(1))
    return model.double()


def test_gradient_through_d_to_its_input_times_matches_a_per_sample_reference(gan):
    real, _ = _batch(2)
    t_in = real[:4].double().requires_grad_(True)  # D's input spike times (G's output in a G step)
    g_loss(gan.D(t_in)[-1], T).backward()
    w1, w2 = (w.detach().numpy() for w in gan.D.weights)
    cfg = reference.RefConfig(T=T, thresholds=tuple(gan.D.thresholds))
    for b in range(len(t_in)):
        x = t_in.detach().numpy()[b].astype(np.int64)
        _, hidden, out = reference.forward(x, [w1, w2], cfg)
        target = gan_targets(torch.from_numpy(out[None]).double(), REAL, T).numpy()[0]
        delta = reference._normalise((out - target) / T, "l2")
        delta = reference._normalise((delta[:, None] * w2 * (hidden[None, :] < out[:, None])).sum(0), "l2")
        grad = (delta[:, None] * w1 * (x[None, :] < hidden[:, None])).sum(0)
        np.testing.assert_allclose(t_in.grad.numpy()[b], grad, rtol=1e-9, atol=1e-12)
    assert t_in.grad.abs().sum() > 0


def _batch(seed):
    from ttfs_deploy import data
    from ttfs_deploy.coding import encode_ttfs

    ds = data.load("mnist-5k:train")
    real = torch.from_numpy(encode_ttfs(ds.images[ds.labels == 0][:32], T)).float()
    return real, noise(32, 100, T, torch.Generator().manual_seed(seed))


def _losses(model, real, z):
    with torch.no_grad():
        fake = model.generate_times(z).float()
        return float(d_loss(model.D(real)[-1], model.D(fake)[-1], T)), float(g_loss(model.D(fake)[-1], T))


def test_one_d_step_lowers_d_loss_and_one_g_step_lowers_g_loss():
    cfg = GanConfig()
    model = SpikingGAN(cfg)
    model.init_weights(cfg, torch.Generator().manual_seed(0))
    real, z = _batch(3)
    d_before, _ = _losses(model, real, z)
    d_step(model, real, z, lr=0.05, decay=0.0)
    d_after, g_before = _losses(model, real, z)
    g_weights = [w.detach().clone() for w in model.G.weights]
    d_weights = [w.detach().clone() for w in model.D.weights]
    g_step(model, z, lr=0.05, decay=0.0)
    _, g_after = _losses(model, real, z)
    assert d_after < d_before
    assert g_after < g_before
    assert all(torch.equal(a, b) for a, b in zip(d_weights, model.D.weights))  # D frozen in the G step
    assert not all(torch.equal(a, b) for a, b in zip(g_weights, model.G.weights))


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    from ttfs_deploy import data

    ds = data.load("mnist-5k:train")
    cfg = GanConfig(epochs=1)
    model, logs = train_gan(cfg, ds.images[ds.labels == 3][:64], progress=False)
    path = tmp_path_factory.mktemp("gan") / "gan.pt"
    save_gan(path, model, 3, "silent", {"epochs": [vars(log) for log in logs]}, {"seed": 0})
    return path


def test_checkpoint_round_trip(checkpoint):
    ckpt = load_gan(checkpoint)
    assert ckpt.kind == "spiking" and ckpt.digit == 3 and ckpt.model.G.sizes == [100, 400, 784]
    assert torch.load(checkpoint, weights_only=True)["format"] == "ttfs-deploy/gan"


def test_ann_baseline_round_trip_samples_on_float_only(tmp_path):
    from ttfs_deploy import data
    from ttfs_deploy.errors import UsageError
    from ttfs_deploy.pipelines.gan import load, sample
    from ttfs_deploy.train.gan_ann import train_ann_gan

    ds = data.load("mnist-5k:train")
    model, _ = train_ann_gan(GanConfig(epochs=1), ds.images[ds.labels == 1][:64], progress=False)
    save_gan(tmp_path / "ann.pt", model, 1, "silent", {}, {})
    ckpt = load(tmp_path / "ann.pt")
    assert ckpt.kind == "ann" and [m.out_features for m in ckpt.model.D if hasattr(m, "out_features")] == [400, 1]
    images = sample(ckpt, 4, 0, "float").images
    assert images.shape == (4, 28, 28) and images.dtype == np.uint8
    with pytest.raises(UsageError, match="float only"):
        sample(ckpt, 4, 0, "golden")


def test_sampling_is_deterministic_with_a_seed_and_shapes_dtypes(checkpoint):
    from ttfs_deploy.pipelines.gan import load, sample

    ckpt = load(checkpoint)
    a, b = sample(ckpt, 16, 5, "golden"), sample(ckpt, 16, 5, "golden")
    assert a.images.shape == (16, 28, 28) and a.images.dtype == np.uint8
    assert 0 < (a.images > 0).mean() < 1  # neither blank nor saturated: the comparisons below mean something
    assert np.array_equal(a.images, b.images)
    assert not np.array_equal(a.noise, sample(ckpt, 16, 6, "golden").noise)
    assert sample(ckpt, 16, 5, "float").images.shape == (16, 28, 28)


def test_cli_sample_writes_uint8_npy(checkpoint, tmp_path, capsys):
    out = tmp_path / "s.npy"
    assert main(["gan", "sample", str(checkpoint), "--n", "5", "--seed", "1", "--out", str(out), "--json"]) == 0
    images = np.load(out, allow_pickle=False)
    assert images.shape == (5, 28, 28) and images.dtype == np.uint8


@pytest.mark.parametrize(
    "argv",
    [
        ["gan", "sample", str(MODELS / "mnist-s4nn.pt"), "--n", "4", "--out", "{tmp}/a.npy"],
        ["gan", "sample", "{ckpt}", "--n", "0", "--out", "{tmp}/a.npy"],
        ["gan", "train", "--digit", "10", "-o", "{tmp}/g.pt"],
        ["run", "{ckpt}", "--target", "golden", "--data", "mnist-5k:val", "--limit", "2"],
    ],
    ids=["classifier-to-gan-sample", "n-zero", "digit-10", "gan-to-run"],
)
def test_bad_input_exits_2_with_one_line(argv, checkpoint, tmp_path, capsys):
    argv = [a.format(tmp=tmp_path, ckpt=checkpoint) for a in argv]
    try:
        status = main(argv)
    except SystemExit as exit_:
        status = exit_.code
    err = capsys.readouterr().err
    assert status == 2
    assert len(err.strip().splitlines()) == 1, err


@pytest.mark.slow
@pytest.mark.requires_lava
def test_golden_and_loihi_sim_give_identical_images(checkpoint):
    from ttfs_deploy.pipelines.gan import load, sample

    ckpt = load(checkpoint)
    golden, lava = sample(ckpt, 3, 7, "golden"), sample(ckpt, 3, 7, "loihi-sim")
    assert golden.images.any() and np.array_equal(golden.images, lava.images)
    for a, b in zip(golden.times, lava.times):
        assert np.array_equal(a, b)


def test_shipped_gan_models_load_by_name_and_make_images():
    from ttfs_deploy.pipelines.gan import load, sample

    for digit in range(10):
        ckpt = load(f"gan-digit-{digit}")
        assert ckpt.kind == "spiking" and ckpt.digit == digit
        images = sample(ckpt, 8, 0, "golden").images
        assert 0.05 < (images > 0).mean() < 0.6  # lit strokes on a dark ground, as real digits


def test_cli_train_writes_a_checkpoint_grids_and_losses(tmp_path, capsys):
    out, grids = tmp_path / "g.pt", tmp_path / "grids"
    argv = ["gan", "train", "--digit", "7", "--data", "mnist-5k:val", "--epochs", "2", "--batch-size", "16"]
    assert main([*argv, "--out", str(grids), "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert "epoch 1: D loss" in err and "epoch 2: D loss" in err
    assert sorted(p.name for p in grids.iterdir()) == ["epoch-001.png", "epoch-002.png"]
    ckpt = load_gan(out)
    assert ckpt.digit == 7 and len(ckpt.metrics["epochs"]) == 2 and ckpt.train["n_train"] == 50


def test_generator_spike_budget_met_and_not_met(checkpoint, tmp_path, capsys):
    loose, tight = tmp_path / "loose.yaml", tmp_path / "tight.yaml"
    loose.write_text("budget:\n  max_spikes_per_inference: 2000\n  layers:\n    fc2: {max_spikes: 784}\n")
    tight.write_text("budget:\n  max_spikes_per_inference: 1\n")
    argv = ["gan", "profile", str(checkpoint), "--n", "8", "--budget"]
    assert main([*argv, str(loose)]) == 0
    assert main([*argv, str(tight)]) == 1
    assert "budget NOT met" in capsys.readouterr().out


@pytest.mark.parametrize(
    "change",
    [
        {"kind": "vae"},
        {"digit": 11},
        {"g_arch": [100, 400]},
        {"d_arch": [784, 400, 3]},
        {"coding": {"T": 1, "zero_policy": "silent", "noise": "uniform-0-T", "image_shape": [28, 28]}},
        {"g_thresholds": [float("nan"), 100.0]},
        {"version": 99},
        "nan-weight",
        "missing-weight",
    ],
)
def test_malformed_gan_checkpoints_are_refused_with_one_line(change, checkpoint, tmp_path):
    from ttfs_deploy.train.checkpoint import CheckpointError

    payload = torch.load(checkpoint, weights_only=True)
    if change == "nan-weight":
        payload["state_dict"]["G.weights.1"][0, 0] = float("nan")
    elif change == "missing-weight":
        del payload["state_dict"]["D.weights.0"]
    else:
        payload.update(change)
    torch.save(payload, tmp_path / "bad.pt")
    with pytest.raises(CheckpointError) as err:
        load_gan(tmp_path / "bad.pt")
    assert "\n" not in str(err.value)


@pytest.mark.slow
def test_bench_gan_runs_and_reports_its_measurements():
    import json
    import subprocess
    import sys

    from tests.helpers import REPO

    argv = [sys.executable, str(REPO / "benchmarks" / "bench_gan.py"), "--limit", "64", "--epochs", "1", "--n", "50"]
    done = subprocess.run([*argv, "--json"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["n_train"] == 64 and result["sample_n"] == 50
    assert all(result[k] > 0 for k in ("spiking_epoch_s", "ann_epoch_s", "golden_compile_s", "golden_simulate_s"))
