"""ANN-initialised training: the per-layer scaling by hand, determinism, and that the start is a good one."""

import numpy as np
import pytest
import torch

from ttfs_deploy import data as data_mod
from ttfs_deploy.coding import encode_ttfs
from ttfs_deploy.train.ann_init import ann_initial_weights, binary_mlp_logits, scale_to_thresholds
from ttfs_deploy.train.loop import TrainConfig, evaluate, train


def test_hidden_and_output_scales_by_hand():
    T, theta = 16, 10.0
    images = np.array([[255, 0, 128], [0, 255, 255], [255, 255, 0]], dtype=np.uint8)
    w1 = torch.tensor([[1.0, 2.0, -1.0], [0.5, -3.0, 4.0]])
    w2 = torch.tensor([[2.0, 1.0], [-1.0, 3.0]])
    scaled = scale_to_thresholds([w1, w2], [theta, theta], images, T, "silent", 50.0)
    # hidden: the binary unit's threshold 1 becomes the fire-once threshold
    np.testing.assert_allclose(scaled[0].numpy(), w1.numpy() * theta)
    # which hidden neurons fire, by the neuron's definition: sum of weights of inputs spiking at or
    # before step s exceeds theta for some s < T - 1 (inputs of black pixels never spike)
    t_in = encode_ttfs(images, T, "silent")
    fired = np.zeros((3, 2))
    for b in range(3):
        for j in range(2):
            for s in range(T - 1):
                if sum(scaled[0][j, i].item() for i in range(3) if t_in[b, i] <= s) > theta:
                    fired[b, j] = 1
                    break
    out_drive = (fired @ w2.numpy().T).max(axis=1)
    np.testing.assert_allclose(scaled[1].numpy(), w2.numpy() * theta / np.percentile(out_drive, 50), rtol=1e-6)


def test_binary_units_step_forward_and_have_a_surrogate_gradient():
    w = [torch.tensor([[1.0, 1.0], [0.2, 0.2]], requires_grad=True), torch.tensor([[1.0, -1.0]], requires_grad=True)]
    x = torch.tensor([[1.0, 0.5]])
    out = binary_mlp_logits(w, x)  # hidden drives 1.5 and 0.3: only the first unit exceeds 1
    assert out.item() == 1.0
    out.sum().backward()
    assert w[0].grad.abs().sum() > 0  # the step passes a gradient back (sigmoid surrogate)


@pytest.fixture(scope="module")
def digits():
    return data_mod.load("digits:train"), data_mod.load("digits:test")


def test_conversion_is_deterministic_and_already_classifies(digits):
    train_set, test_set = digits
    a = ann_initial_weights(
        [64, 40, 10], [100.0, 100.0], 64, "silent", train_set, epochs=30, shift=0, seed=3, progress=False
    )
    b = ann_initial_weights(
        [64, 40, 10], [100.0, 100.0], 64, "silent", train_set, epochs=30, shift=0, seed=3, progress=False
    )
    assert all(torch.equal(x, y) for x, y in zip(a.weights, b.weights))
    assert a.summary() == b.summary()
    assert a.ann_train_accuracy > 0.85
    cfg = TrainConfig(arch=(64, 40, 10), T=64, loss="s4nn", init="ann")
    model, _ = train(
        TrainConfig(**{**cfg.__dict__, "epochs": 1, "lr": (0.0, 0.0)}),
        train_set,
        test_set,
        progress=False,
        initial_weights=a.weights,
    )
    # with a zero learning rate the trained model is the converted one: well above chance (10 %)
    assert evaluate(model, test_set, "silent").accuracy > 0.6


def test_ann_init_needs_the_converted_weights(digits):
    train_set, test_set = digits
    with pytest.raises(ValueError, match="ann_initial_weights"):
        train(TrainConfig(arch=(64, 40, 10), init="ann", epochs=1), train_set, test_set, progress=False)
    # the default start is the CLI's: a bare config asks for the converted weights too
    assert TrainConfig().init == "ann"
    with pytest.raises(ValueError, match="ann_initial_weights"):
        train(TrainConfig(arch=(64, 40, 10), epochs=1), train_set, test_set, progress=False)
