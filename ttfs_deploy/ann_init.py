"""ANN-initialised TTFS training: start the S4NN / Aggressive TTFS run from a converted ReLU network.

S4NN's uniform random start converges slowly on 4,500 digits (90 % after 150 epochs here). A bias-free
ReLU MLP of the same shape trains in seconds to ~96 %, and its weights, scaled per layer to the
fire-once thresholds, give a TTFS network that already decides early and mostly right; the temporal
training then adapts it to first-spike decisions. This is the hybrid conversion-then-spike-training
idea of Rathi et al. (ICLR 2020) applied to fire-once neurons.

Scaling, layer by layer on the first ``calibration`` training images (never validation data):

* a hidden layer's weights ``W`` become ``W * threshold / q``, with ``q`` the ``hidden_quantile``-th
  percentile of the layer's positive pre-activations ``x @ W.T``, where ``x`` is the pixel intensity in
  [0, 1] for the first layer and the 0/1 "fired" pattern of the converted layer below otherwise: units
  whose ANN drive is in the top part fire, the strongest first;
* the output layer's weights become ``W * threshold / q``, with ``q`` the ``output_quantile``-th
  percentile of each image's largest output pre-activation, so that outputs cross early enough to
  decide but not all at once.

The two quantiles are chosen from a small grid by TTFS accuracy on those calibration images.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

from .ann_baseline import ann_accuracy, fit_mlp
from .coding import encode_ttfs
from .metrics import classify
from .nn.model import TTFSClassifier

if TYPE_CHECKING:
    from .data import Dataset

__all__ = ["AnnInit", "scale_to_thresholds", "ann_initial_weights", "HIDDEN_QUANTILES", "OUTPUT_QUANTILES"]

HIDDEN_QUANTILES = (35.0, 50.0, 65.0)  # percentiles (0-100) of positive hidden pre-activations
OUTPUT_QUANTILES = (15.0, 30.0, 50.0)  # percentiles of each image's largest output pre-activation


@dataclass(frozen=True)
class AnnInit:
    """The converted weights and how they were obtained (recorded in the checkpoint)."""

    weights: list[torch.Tensor]
    ann_train_accuracy: float  # the MLP on the calibration images
    hidden_quantile: float
    output_quantile: float
    calibration_accuracy: float  # the converted TTFS network on the calibration images, before training

    def summary(self) -> dict:
        """Plain-type provenance for checkpoints and JSON."""
        return {"ann_train_accuracy": self.ann_train_accuracy, "hidden_quantile": self.hidden_quantile,
                "output_quantile": self.output_quantile, "calibration_accuracy": self.calibration_accuracy}


def scale_to_thresholds(ann_weights: list[torch.Tensor], thresholds: list[float], images: np.ndarray, T: int,
                        zero_policy: str, hidden_quantile: float, output_quantile: float) -> list[torch.Tensor]:
    """Scale bias-free MLP weights (``(n_out, n_in)`` per layer) into fire-once weights (see module doc).

    ``images`` are uint8 pixel rows; the fire-once layers below each scaled layer are simulated to get
    its 0/1 inputs. Returns float32 weights in threshold units.
    """
    model = TTFSClassifier([ann_weights[0].shape[1]] + [w.shape[0] for w in ann_weights], thresholds, T)
    drive = torch.from_numpy(images).double() / 255
    t_in = torch.from_numpy(encode_ttfs(images, T, zero_policy))
    last = len(ann_weights) - 1
    scaled = []
    for k, (weight, threshold) in enumerate(zip(ann_weights, thresholds)):
        pre = drive @ weight.double().T
        if k < last:
            positive = pre[pre > 0]
            reference = float(np.percentile(positive.numpy(), hidden_quantile)) if len(positive) else 1.0
        else:
            reference = float(np.percentile(pre.max(dim=1).values.numpy(), output_quantile))
        scale = threshold / reference if reference > 0 else 1.0
        scaled.append((weight.double() * scale).float())
        with torch.no_grad():
            model.weights[k].copy_(scaled[-1])
        if k < last:  # the next layer's input: which of these neurons fire
            drive = (model.spike_times(t_in)[k + 1] < T).double()
    return scaled


def ann_initial_weights(sizes: list[int], thresholds: list[float], T: int, zero_policy: str, train_set: Dataset,
                        epochs: int = 30, shift: int = 2, seed: int = 0, calibration: int = 1000,
                        progress: bool = True) -> AnnInit:
    """Train a bias-free ReLU MLP of shape ``sizes`` on ``train_set`` and convert it (see module doc).

    ``epochs``/``shift``/``seed`` are the MLP's; deterministic for a given seed.
    """
    mlp = fit_mlp(sizes, train_set, epochs, shift, seed, bias=False, progress=progress)
    ann_weights = [layer.weight.detach() for layer in mlp if isinstance(layer, torch.nn.Linear)]
    subset = train_set.head(calibration)
    images, labels = subset.images, subset.labels
    t_in = torch.from_numpy(encode_ttfs(images, T, zero_policy))
    best = None
    for hq in (HIDDEN_QUANTILES if len(sizes) > 2 else (50.0,)):
        for oq in OUTPUT_QUANTILES:
            weights = scale_to_thresholds(ann_weights, thresholds, images, T, zero_policy, hq, oq)
            model = TTFSClassifier(sizes, thresholds, T)
            with torch.no_grad():
                for target, w in zip(model.weights, weights):
                    target.copy_(w)
            times = [t.numpy() for t in model.spike_times(t_in)]
            accuracy = classify(times, labels, T, "float").accuracy
            if best is None or accuracy > best.calibration_accuracy:  # ties keep the earlier grid point
                best = AnnInit(weights, 0.0, hq, oq, accuracy)
    return AnnInit(best.weights, ann_accuracy(mlp, subset), best.hidden_quantile, best.output_quantile,
                   best.calibration_accuracy)
