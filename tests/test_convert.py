"""ANN → TTFS conversion (``ttfs-deploy convert``): the pieces by hand, refusals, and the command."""

import json

import numpy as np
import pytest
import torch
from torch import nn

from tests.helpers import cli
from ttfs_deploy.data import Dataset
from ttfs_deploy.interop.convert import (
    ConversionError,
    ReluMlp,
    convert_relu_mlp,
    converted_accuracy,
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
    conv = convert_relu_mlp(mlp, data, T=16, threshold=100.0, percentile=100.0)
    # lam1 = 2.5 (the largest logit); alpha_output = the first grid point with full accuracy (0.1)
    assert conv.lam == [1.0, 2.5] and conv.alphas[1] == 0.1
    expected, _ = fold_bias(mlp.weights[0] / 2.5, mlp.biases[0] / 2.5, 0.1, 100.0)
    np.testing.assert_allclose(conv.weights[0], expected.astype(np.float32))
    run = converted_accuracy(conv.weights, 100.0, data, 16, "silent")
    # pixel 255 spikes at t=0: class 0 gets 2/2.5 * 100/0.1 = 800 > 100 -> spikes at step 1
    assert run.accuracy == 1.0 and [s.decision_step for s in run.samples] == [1, 1, 1]


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
        "--T", "64", "--finetune-epochs", "1", "-o", out, "--json",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["ann"]["accuracy"] > 0.8
    assert 0.3 < report["converted"]["accuracy"] <= 1.0 and "finetuned" in report
    assert load_network(out).sizes == [64, 32, 10]
    bad = cli("convert", src, "--arch", "64-20-10", "--calib-data", "digits:train", "-o", tmp_path / "x.pt")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "--arch says 64-20-10" in bad.stderr
    assert not (tmp_path / "x.pt").exists()
