"""ANN-initialised TTFS training: start the S4NN / Aggressive TTFS run from a converted binary network.

S4NN's uniform random start converges slowly on 4,500 digits (90 % after 150 epochs here). Instead we
first train, in seconds, a bias-free network of the same shape whose hidden units are *binary*:
``h = [W x > 1]`` (a Heaviside step with a sigmoid-derivative surrogate gradient), inputs ``x`` the
pixel intensities in [0, 1], outputs ``W h`` trained with cross-entropy. A fire-once neuron with
threshold ``theta`` and weights ``theta * W`` fires when its summed input exceeds ``theta`` — the binary
unit's decision, so hidden layers convert by that exact scale (closely, not exactly: the neuron adds a
pixel's full weight once it has spiked, dim pixels late, where the binary unit weights by intensity).
The output layer is scaled by ``theta / q``, ``q`` a percentile of each image's largest output drive
from the converted hidden spikes, so that outputs cross early enough to decide but not all at once;
the percentile is picked from a small grid by the converted network's accuracy on the first
``calibration`` training images (validation data is never used). The temporal training then adapts
the network to first-spike decisions: hybrid conversion followed by spike-based training (Rathi et
al., ICLR 2020) for fire-once neurons. A ReLU network converted the same way (quantile-scaled hidden
layers) started 1–2 points lower and decided later (docs/training.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

from ttfs_deploy.coding import encode_ttfs
from ttfs_deploy.semantics.readout import classify
from ttfs_deploy.train.epochs import fit_cross_entropy, pixels
from ttfs_deploy.train.fire_once import fire_once_times

if TYPE_CHECKING:
    from ttfs_deploy.data import Dataset

__all__ = [
    "AnnInit",
    "converted_spike_times",
    "fit_binary_mlp",
    "binary_mlp_logits",
    "scale_to_thresholds",
    "ann_initial_weights",
    "OUTPUT_QUANTILES",
]

OUTPUT_QUANTILES = (15.0, 30.0, 50.0, 70.0, 85.0, 95.0)  # percentiles of each image's largest output drive
_SURROGATE_SLOPE = 4.0  # backward: d step(u) / du ~ slope * sigmoid'(slope * u)


class _Step(torch.autograd.Function):
    """Heaviside step ``[u > 0]`` forward; the derivative of ``sigmoid(4 u)`` backward."""

    @staticmethod
    def forward(ctx, u):
        ctx.save_for_backward(u)
        return (u > 0).to(u.dtype)

    @staticmethod
    def backward(ctx, grad):
        (u,) = ctx.saved_tensors
        s = torch.sigmoid(_SURROGATE_SLOPE * u)
        return grad * _SURROGATE_SLOPE * s * (1 - s)


def binary_mlp_logits(weights: list[torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """Outputs of the binary network: hidden ``h = [W h_prev > 1]``, output ``W h`` (no step)."""
    for weight in weights[:-1]:
        x = _Step.apply(x @ weight.T - 1)
    return x @ weights[-1].T


@dataclass(frozen=True)
class AnnInit:
    """The converted weights and how they were obtained (recorded in the checkpoint)."""

    weights: list[torch.Tensor]
    ann_train_accuracy: float  # the binary network on the calibration images
    output_quantile: float
    calibration_accuracy: float  # the converted TTFS network on the calibration images, before training

    def summary(self) -> dict:
        """Plain-type provenance for checkpoints and JSON."""
        return {
            "ann_train_accuracy": self.ann_train_accuracy,
            "output_quantile": self.output_quantile,
            "calibration_accuracy": self.calibration_accuracy,
        }


def fit_binary_mlp(
    sizes: list[int],
    train_set: Dataset,
    epochs: int = 30,
    shift: int = 2,
    seed: int = 0,
    lr: float = 1e-3,
    batch_size: int = 64,
    progress: bool = True,
) -> list[torch.Tensor]:
    """Train the binary-hidden, bias-free network (Adam, cross-entropy); returns ``(n_out, n_in)`` weights.

    Initial weights are normal with standard deviation ``1.4 / sqrt(fan_in)`` for hidden layers and
    ``2 / sqrt(fan_in)`` for the output layer. Deterministic for a given ``seed``.
    """
    torch.manual_seed(seed)
    weights = []
    for k, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        spread = (2.0 if k == len(sizes) - 2 else 1.4) / n_in**0.5
        weights.append(torch.nn.Parameter(torch.randn(n_out, n_in) * spread))
    # shuffled with torch's global generator, seeded above (the shipped models' start depends on it)
    fit_cross_entropy(
        weights,
        lambda x: binary_mlp_logits(weights, x),
        train_set,
        epochs=epochs,
        shift=shift,
        seed=seed,
        lr=lr,
        batch_size=batch_size,
        generator=None,
        desc="binary ANN",
        progress=progress,
    )
    return [w.detach() for w in weights]


def scale_to_thresholds(
    ann_weights: list[torch.Tensor],
    thresholds: list[float],
    images: np.ndarray,
    T: int,
    zero_policy: str,
    output_quantile: float,
) -> list[torch.Tensor]:
    """Binary-network weights (``(n_out, n_in)`` per layer) → fire-once weights (see module doc).

    Hidden layers: ``W * threshold``. Output layer: ``W * threshold / q`` with ``q`` the
    ``output_quantile``-th percentile over ``images`` (uint8 rows) of the largest output drive, the
    drive coming from the converted hidden layer's spikes (simulated here).
    """
    hidden = _scale_hidden(ann_weights, thresholds)
    times = converted_spike_times(hidden, thresholds, torch.from_numpy(encode_ttfs(images, T, zero_policy)), T)
    return hidden + [_scale_output(ann_weights[-1], thresholds[-1], _output_drive(times, images, T), output_quantile)]


def _scale_hidden(ann_weights: list[torch.Tensor], thresholds: list[float]) -> list[torch.Tensor]:
    return [(w.double() * theta).float() for w, theta in zip(ann_weights[:-1], thresholds[:-1])]


def converted_spike_times(
    weights: list[torch.Tensor], thresholds: list[float], t_in: torch.Tensor, T: int
) -> list[torch.Tensor]:
    """Spike times of the input and of each layer of ``weights`` (steps)."""
    times = [t_in.long()]
    for weight, threshold in zip(weights, thresholds):
        times.append(fire_once_times(times[-1], weight, threshold, T))
    return times


def _output_drive(times: list[torch.Tensor], images: np.ndarray, T: int) -> torch.Tensor:
    """What the output layer sees: the last hidden layer's 0/1 spikes (pixel intensities without hidden layers)."""
    return (times[-1] < T).double() if len(times) > 1 else pixels(images).double()


def _scale_output(weight: torch.Tensor, threshold: float, drive: torch.Tensor, quantile: float) -> torch.Tensor:
    largest = (drive @ weight.double().T).max(dim=1).values.numpy()
    reference = float(np.percentile(largest, quantile))
    scale = threshold / reference if reference > 0 else 1.0
    return (weight.double() * scale).float()


def ann_initial_weights(
    sizes: list[int],
    thresholds: list[float],
    T: int,
    zero_policy: str,
    train_set: Dataset,
    epochs: int = 30,
    shift: int = 2,
    seed: int = 0,
    calibration: int = 1000,
    progress: bool = True,
) -> AnnInit:
    """Train the binary network of shape ``sizes`` on ``train_set`` and convert it (see module doc).

    ``epochs``/``shift``/``seed`` are the binary network's; deterministic for a given seed.
    """
    ann_weights = fit_binary_mlp(sizes, train_set, epochs, shift, seed, progress=progress)
    subset = train_set.head(calibration)
    hidden = _scale_hidden(ann_weights, thresholds)
    # the hidden layers do not depend on the output scale: simulate them once for the whole grid
    times = converted_spike_times(hidden, thresholds, torch.from_numpy(encode_ttfs(subset.images, T, zero_policy)), T)
    drive = _output_drive(times, subset.images, T)
    best = None
    for quantile in OUTPUT_QUANTILES:
        output = _scale_output(ann_weights[-1], thresholds[-1], drive, quantile)
        t_out = fire_once_times(times[-1], output, thresholds[-1], T)
        accuracy = classify([t.numpy() for t in times + [t_out]], subset.labels, T, "float").accuracy
        if best is None or accuracy > best.calibration_accuracy:  # ties keep the earlier grid point
            best = AnnInit(hidden + [output], 0.0, quantile, accuracy)
    with torch.no_grad():
        predictions = binary_mlp_logits(ann_weights, pixels(subset.images)).argmax(dim=1).numpy()
    return AnnInit(
        best.weights, float((predictions == subset.labels).mean()), best.output_quantile, best.calibration_accuracy
    )
