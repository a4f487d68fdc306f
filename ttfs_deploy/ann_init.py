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
from tqdm import tqdm

from .ann_baseline import one_thread
from .coding import encode_ttfs
from .metrics import classify
from .nn.model import TTFSClassifier
from .train import shift_images

if TYPE_CHECKING:
    from .data import Dataset

__all__ = ["AnnInit", "fit_binary_mlp", "binary_mlp_logits", "scale_to_thresholds", "ann_initial_weights",
           "OUTPUT_QUANTILES"]

OUTPUT_QUANTILES = (15.0, 30.0, 50.0, 70.0, 85.0, 95.0)  # percentiles of each image's largest output drive
_SURROGATE_SLOPE = 4.0  # backward: d step(u) / du ~ slope * sigmoid'(slope * u)


class _Step(torch.autograd.Function):
    """Heaviside step ``[u > 0]`` forward; the derivative of ``sigmoid(4 u)`` backward."""

    @staticmethod
    def forward(ctx, u):  # noqa: D102
        ctx.save_for_backward(u)
        return (u > 0).to(u.dtype)

    @staticmethod
    def backward(ctx, grad):  # noqa: D102
        (u,) = ctx.saved_tensors
        s = torch.sigmoid(_SURROGATE_SLOPE * u)
        return grad * _SURROGATE_SLOPE * s * (1 - s)


def _pixels(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(images).float() / 255


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
        return {"ann_train_accuracy": self.ann_train_accuracy, "output_quantile": self.output_quantile,
                "calibration_accuracy": self.calibration_accuracy}


def fit_binary_mlp(sizes: list[int], train_set: Dataset, epochs: int = 30, shift: int = 2, seed: int = 0,
                   lr: float = 1e-3, batch_size: int = 64, progress: bool = True) -> list[torch.Tensor]:
    """Train the binary-hidden, bias-free network (Adam, cross-entropy); returns ``(n_out, n_in)`` weights.

    Initial weights are normal with standard deviation ``1.4 / sqrt(fan_in)`` for hidden layers and
    ``2 / sqrt(fan_in)`` for the output layer. Deterministic for a given ``seed``.
    """
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    weights = []
    for k, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        spread = (2.0 if k == len(sizes) - 2 else 1.4) / n_in ** 0.5
        weights.append(torch.nn.Parameter(torch.randn(n_out, n_in) * spread))
    optimiser = torch.optim.Adam(weights, lr=lr)
    labels = torch.from_numpy(train_set.labels).long()
    with one_thread():  # bit-for-bit repeatable (see one_thread)
        for _ in tqdm(range(epochs), desc="binary ANN", unit="epoch", disable=not progress):
            images = train_set.images
            if shift:
                images = shift_images(images, train_set.shape, rng.integers(-shift, shift + 1, (len(images), 2)))
            x_all = _pixels(images)
            for idx in torch.randperm(len(x_all)).split(batch_size):
                loss = torch.nn.functional.cross_entropy(binary_mlp_logits(weights, x_all[idx]), labels[idx])
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
    return [w.detach() for w in weights]


def scale_to_thresholds(ann_weights: list[torch.Tensor], thresholds: list[float], images: np.ndarray, T: int,
                        zero_policy: str, output_quantile: float) -> list[torch.Tensor]:
    """Binary-network weights (``(n_out, n_in)`` per layer) → fire-once weights (see module doc).

    Hidden layers: ``W * threshold``. Output layer: ``W * threshold / q`` with ``q`` the
    ``output_quantile``-th percentile over ``images`` (uint8 rows) of the largest output drive, the
    drive coming from the converted hidden layer's spikes (simulated here).
    """
    scaled = [(w.double() * theta).float() for w, theta in zip(ann_weights[:-1], thresholds[:-1])]
    model = TTFSClassifier([ann_weights[0].shape[1]] + [w.shape[0] for w in ann_weights], thresholds, T)
    with torch.no_grad():
        for target, w in zip(model.weights, scaled):
            target.copy_(w)
    if scaled:
        times = model.spike_times(torch.from_numpy(encode_ttfs(images, T, zero_policy)))
        drive = (times[len(scaled)] < T).double()
    else:
        drive = torch.from_numpy(images).double() / 255
    largest = (drive @ ann_weights[-1].double().T).max(dim=1).values.numpy()
    reference = float(np.percentile(largest, output_quantile))
    scale = thresholds[-1] / reference if reference > 0 else 1.0
    return scaled + [(ann_weights[-1].double() * scale).float()]


def ann_initial_weights(sizes: list[int], thresholds: list[float], T: int, zero_policy: str, train_set: Dataset,
                        epochs: int = 30, shift: int = 2, seed: int = 0, calibration: int = 1000,
                        progress: bool = True) -> AnnInit:
    """Train the binary network of shape ``sizes`` on ``train_set`` and convert it (see module doc).

    ``epochs``/``shift``/``seed`` are the binary network's; deterministic for a given seed.
    """
    ann_weights = fit_binary_mlp(sizes, train_set, epochs, shift, seed, progress=progress)
    subset = train_set.head(calibration)
    t_in = torch.from_numpy(encode_ttfs(subset.images, T, zero_policy))
    best = None
    for quantile in OUTPUT_QUANTILES:
        weights = scale_to_thresholds(ann_weights, thresholds, subset.images, T, zero_policy, quantile)
        model = TTFSClassifier(sizes, thresholds, T)
        with torch.no_grad():
            for target, w in zip(model.weights, weights):
                target.copy_(w)
        times = [t.numpy() for t in model.spike_times(t_in)]
        accuracy = classify(times, subset.labels, T, "float").accuracy
        if best is None or accuracy > best.calibration_accuracy:  # ties keep the earlier grid point
            best = AnnInit(weights, 0.0, quantile, accuracy)
    with torch.no_grad():
        predictions = binary_mlp_logits(ann_weights, _pixels(subset.images)).argmax(dim=1).numpy()
    return AnnInit(best.weights, float((predictions == subset.labels).mean()), best.output_quantile,
                   best.calibration_accuracy)
