"""Batched training against the per-sample S4NN reference, and training behaviour."""

import numpy as np
import pytest
import torch

from ttfs_deploy.data import Dataset, load
from ttfs_deploy.train import reference as ref
from ttfs_deploy.train.epochs import shift_images
from ttfs_deploy.train.loop import TrainConfig, evaluate, train, train_step
from ttfs_deploy.train.model import TTFSClassifier


@pytest.mark.parametrize("loss", ["s4nn", "aggressive"])
@pytest.mark.parametrize("norm", ["l2", "l1"])
def test_batch_of_one_steps_equal_reference_updates(loss, norm):
    rng = np.random.default_rng(0)
    sizes, T = [30, 12, 4], 64
    cfg = TrainConfig(arch=tuple(sizes), loss=loss, lr=(0.3, 0.2), decay=1e-3, norm=norm, T=T, thresholds=(40.0, 30.0))
    model = TTFSClassifier(sizes, list(cfg.thresholds), T, norm).double()
    model.init_weights(torch.Generator().manual_seed(0))
    ref_weights = [w.detach().numpy().copy() for w in model.weights]
    ref_cfg = ref.RefConfig(
        T=T,
        thresholds=cfg.thresholds,
        lr=cfg.lr,
        decay=cfg.decay,
        loss=loss,
        norm=norm,
        hidden_error_uses_updated_weights=False,
    )
    t_images = rng.integers(0, T + 1, size=(25, sizes[0]))
    labels = rng.integers(0, 4, size=25)
    for t_in, label in zip(t_images, labels):
        ref_times = ref.train_step(ref_weights, t_in, int(label), ref_cfg)
        times, _ = train_step(model, torch.tensor(t_in[None]), torch.tensor([label]), cfg, list(cfg.lr))
        for a, b in zip(times, ref_times):
            np.testing.assert_array_equal(a.numpy()[0], b)
    for w, r in zip(model.weights, ref_weights):
        np.testing.assert_allclose(w.detach().numpy(), r, rtol=1e-9, atol=1e-9)


def test_s4nn_order_of_updates_differs_only_slightly():
    """S4NN computes the hidden error with the already-updated output weights; we do not (batched)."""
    rng = np.random.default_rng(1)
    T = 64
    weights = [rng.uniform(0, 8, (12, 30)), rng.uniform(0, 20, (4, 12))]
    t_in, label = rng.integers(0, T + 1, size=30), 2
    results = []
    for flag in (True, False):
        w = [x.copy() for x in weights]
        ref.train_step(
            w, t_in, label, ref.RefConfig(T=T, thresholds=(40.0, 30.0), hidden_error_uses_updated_weights=flag)
        )
        results.append(w[0])
    assert np.abs(results[0] - results[1]).max() < 0.05


def test_shift_images_against_numpy_roll():
    images = np.arange(2 * 5 * 4, dtype=np.uint8).reshape(2, 20) + 1
    out = shift_images(images, (5, 4), np.array([[1, -2], [0, 0]]))
    expected = np.roll(images[0].reshape(5, 4), (1, -2), axis=(0, 1))
    expected[0, :] = 0
    expected[:, -2:] = 0
    np.testing.assert_array_equal(out[0].reshape(5, 4), expected)
    np.testing.assert_array_equal(out[1], images[1])


def _bars(n, seed):
    """Synthetic 6x6 images with noise: class c = a bright horizontal bar in rows 2c .. 2c + 1."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, n)
    images = rng.integers(0, 60, (n, 6, 6))
    rows = 2 * labels + rng.integers(0, 2, n)
    for k in range(n):
        images[k, rows[k], :] = rng.integers(200, 256, 6)
    return Dataset(images.reshape(n, 36).astype(np.uint8), labels, (6, 6), f"bars-{seed}", 3)


@pytest.mark.parametrize("loss", ["s4nn", "aggressive"])
def test_training_learns_and_is_deterministic(loss):
    train_set, val_set = _bars(400, 0), _bars(200, 1)
    cfg = TrainConfig(
        arch=(36, 20, 3),
        epochs=8,
        lr=(1.0, 1.0),
        shift=0,
        seed=3,
        loss=loss,
        thresholds=(50.0, 100.0),
        batch_size=8,
        init_scale=0.3,
        init="s4nn",
    )
    model, logs = train(cfg, train_set, val_set, progress=False)
    untrained = TTFSClassifier([36, 20, 3], thresholds=[50.0, 100.0])
    untrained.init_weights(torch.Generator().manual_seed(3), 0.3)
    before = evaluate(untrained, val_set, "silent").accuracy
    assert logs[-1].val_accuracy >= 0.9 and before < 0.6, (before, [l.val_accuracy for l in logs])
    model2, _ = train(cfg, train_set, val_set, progress=False)
    for a, b in zip(model.weights, model2.weights):
        assert torch.equal(a, b)


def test_dead_neurons_are_reinitialised():
    train_set, val_set = load("digits:train"), load("digits:test")
    cfg = TrainConfig(arch=(64, 20, 10), epochs=1, shift=0, thresholds=(1e6, 100.0), init="s4nn")  # nothing fires
    _, logs = train(cfg, train_set, val_set, progress=False)
    assert logs[0].reinitialised == 20
