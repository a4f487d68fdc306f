"""ANN → TTFS conversion: a plain PyTorch ReLU MLP (with biases) becomes a fire-once checkpoint.

Input: a ``state_dict`` of an ``nn.Sequential`` of ``Linear`` and ``ReLU`` modules (keys ``0.weight``,
``0.bias``, ``2.weight``, ...), or a dict holding one under ``"state_dict"``, read with
``torch.load(weights_only=True)`` through the checkpoint reader's checks (regular file, size caps,
zip members declared sane). ReLU has no parameters, so a ReLU after every ``Linear`` but the last is
assumed; any other parameter (BatchNorm, a conv kernel, a 3-D weight) is refused naming the module.

Method (data-based normalisation, Diehl et al. 2015 / Rueckauer et al. 2017, on the fire-once
neuron; the binary-unit route of :mod:`ttfs_deploy.train.ann_init` shares the simulation pieces):

1. Run the ANN on the calibration images (pixels in [0, 1]); ``lam_l`` is the ``percentile`` (99.9)
   of layer ``l``'s positive activations (``lam_0 = 1``). Normalised layer: ``W_l lam_{l-1} / lam_l``,
   ``b_l / lam_l``, so activations are mostly in [0, 1], the range a spike time in 0..T can code.
2. Each fire-once neuron ``j`` of layer ``l`` fires when its normalised input plus its bias exceeds
   ``alpha_l``: ``V_j > alpha_l - b_j``. The bias is folded into a per-neuron threshold, and the
   per-neuron threshold into the neuron's incoming weights: row ``j`` is multiplied by
   ``threshold / (alpha_l - b_j)`` and every neuron keeps the layer's threshold (100, as S4NN).
   This is exact (``V + b > a`` iff ``V c > threshold`` for ``c = threshold / (a - b) > 0``), needs
   no extra neuron or input channel, and the result is an ordinary fire-once network, so golden and
   Lava run it like any other. A neuron with ``b_j >= alpha_l`` would fire without input; its
   effective threshold is clamped to ``alpha_l / 20`` and the count is reported (``clamped``).
3. ``alpha`` (one for the hidden layers, one for the output layer) is chosen from a small grid by the
   converted network's accuracy on the calibration images (validation data is never used).

The fire-once neuron's potential is a step function of its inputs' spike times, where the ReLU unit
weights each input by its value; the first output to cross decides, where the ANN takes the largest
sum. The conversion is therefore approximate (docs/bring-your-own-model.md gives the measured gap);
``ttfs-deploy convert --finetune-epochs N`` continues with the temporal loss (``train.loop``).
"""

from __future__ import annotations

import pathlib
import re
from dataclasses import dataclass

import numpy as np
import torch

from ttfs_deploy.coding import encode_ttfs
from ttfs_deploy.data import Dataset
from ttfs_deploy.errors import TtfsError, short
from ttfs_deploy.semantics.readout import classify
from ttfs_deploy.train.ann_init import converted_spike_times
from ttfs_deploy.train.checkpoint import read_payload
from ttfs_deploy.train.epochs import pixels

__all__ = [
    "ConversionError",
    "ReluMlp",
    "Converted",
    "load_relu_mlp",
    "normalise",
    "fold_bias",
    "convert_relu_mlp",
    "HIDDEN_ALPHAS",
    "OUTPUT_ALPHAS",
]

HIDDEN_ALPHAS = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.7)
OUTPUT_ALPHAS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 1.0)
CLAMP_FRACTION = 0.05
_KEY = re.compile(r"^(?:(\d+)\.)?(weight|bias)$")


class ConversionError(TtfsError):
    """A PyTorch file that is not a ReLU MLP this converter can read, or one whose shapes differ from --arch."""


@dataclass(frozen=True)
class ReluMlp:
    """A ReLU MLP's float64 weights ``(n_out, n_in)`` and biases ``(n_out,)``, layer by layer."""

    weights: list[np.ndarray]
    biases: list[np.ndarray]

    @property
    def sizes(self) -> list[int]:
        return [self.weights[0].shape[1]] + [w.shape[0] for w in self.weights]

    def activations(self, images: np.ndarray) -> list[np.ndarray]:
        """Input (pixels in [0, 1]) and every layer's output (ReLU on hidden layers, logits last)."""
        x = pixels(images).double().numpy()
        out = [x]
        for k, (w, b) in enumerate(zip(self.weights, self.biases)):
            z = x @ w.T + b
            x = np.maximum(z, 0.0) if k < len(self.weights) - 1 else z
            out.append(x)
        return out

    def accuracy(self, data: Dataset) -> float:
        return float((self.activations(data.images)[-1].argmax(axis=1) == data.labels).mean())


def load_relu_mlp(path: str | pathlib.Path, sizes: list[int]) -> ReluMlp:
    """Read ``path`` (see module doc) and check it against ``sizes`` (``--arch``); one-line errors."""
    path = pathlib.Path(path)
    try:
        payload = read_payload(path)
    except TtfsError as err:
        raise ConversionError(f"{err} (save the model's state_dict(): torch.save(model.state_dict(), path))") from None
    state = payload.get("state_dict", payload) if isinstance(payload, dict) else None
    if not isinstance(state, dict) or not state:
        raise ConversionError(f"{path}: not a state_dict (expected a dict of tensors such as '0.weight')")
    modules: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in state.items():
        match = _KEY.match(str(key))
        if match is None or not isinstance(value, torch.Tensor):
            module = str(key).rsplit(".", 1)[0]
            raise ConversionError(
                f"{path}: module {short(module)}: parameter {short(str(key))} is not a Linear layer's weight or bias "
                "(only nn.Sequential of Linear and ReLU converts)"
            )
        modules.setdefault(int(match.group(1) or 0), {})[match.group(2)] = value
    weights, biases = [], []
    for index in sorted(modules):
        weight, bias = modules[index].get("weight"), modules[index].get("bias")
        if weight is None or weight.ndim != 2 or not weight.is_floating_point():
            shape = None if weight is None else tuple(weight.shape)
            raise ConversionError(
                f"{path}: module {index}: not a Linear layer (weight shape {shape}); convolutions and other "
                "layers are not supported"
            )
        if bias is not None and (bias.ndim != 1 or bias.shape[0] != weight.shape[0]):
            raise ConversionError(f"{path}: module {index}: bias shape {tuple(bias.shape)} does not match its weight")
        w = weight.detach().double().numpy()
        b = np.zeros(w.shape[0]) if bias is None else bias.detach().double().numpy()
        if not (np.isfinite(w).all() and np.isfinite(b).all()):
            raise ConversionError(f"{path}: module {index}: NaN or infinite parameters")
        weights.append(w)
        biases.append(b)
    found = [weights[0].shape[1]] + [w.shape[0] for w in weights]
    chained = all(a.shape[0] == b.shape[1] for a, b in zip(weights[:-1], weights[1:]))
    if not chained or found != list(sizes):
        shapes = ", ".join(f"{w.shape[0]}x{w.shape[1]}" for w in weights)
        raise ConversionError(
            f"{path}: the Linear layers are {shapes} but --arch says {'-'.join(map(str, sizes))}; "
            "give the model's own layer sizes"
        )
    return ReluMlp(weights, biases)


def normalise(mlp: ReluMlp, images: np.ndarray, percentile: float = 99.9) -> tuple[ReluMlp, list[float]]:
    """Data-based normalisation (step 1 of the module doc): the normalised MLP and ``lam`` per layer."""
    lam = [1.0]
    for act in mlp.activations(images)[1:]:
        positive = act[act > 0]
        lam.append(float(np.percentile(positive, percentile)) if positive.size else 1.0)
    weights = [w * lam[k] / lam[k + 1] for k, w in enumerate(mlp.weights)]
    biases = [b / lam[k + 1] for k, b in enumerate(mlp.biases)]
    return ReluMlp(weights, biases), lam


def fold_bias(weight: np.ndarray, bias: np.ndarray, alpha: float, threshold: float) -> tuple[np.ndarray, int]:
    """Step 2: fire-once weights for threshold ``threshold`` from a normalised layer and ``alpha``.

    Returns the weights and how many neurons' effective thresholds were clamped.
    """
    effective = alpha - bias
    floor = CLAMP_FRACTION * alpha
    clamped = int((effective < floor).sum())
    return weight * (threshold / np.maximum(effective, floor))[:, None], clamped


@dataclass(frozen=True)
class Converted:
    """A converted network: fire-once weights (threshold ``threshold`` in every layer) and provenance."""

    weights: list[np.ndarray]
    threshold: float
    alphas: tuple[float, float]
    lam: list[float]
    clamped: int
    calibration_accuracy: float
    ann_calibration_accuracy: float

    def summary(self) -> dict:
        return {
            "method": "data-based normalisation (p99.9) + bias folded into per-neuron thresholds",
            "alpha_hidden": self.alphas[0],
            "alpha_output": self.alphas[1],
            "lam": self.lam,
            "clamped_neurons": self.clamped,
            "calibration_accuracy": self.calibration_accuracy,
            "ann_calibration_accuracy": self.ann_calibration_accuracy,
        }


def _build(norm: ReluMlp, alphas: tuple[float, float], threshold: float) -> tuple[list[np.ndarray], int]:
    weights, clamped = [], 0
    last = len(norm.weights) - 1
    for k, (w, b) in enumerate(zip(norm.weights, norm.biases)):
        folded, n = fold_bias(w, b, alphas[1] if k == last else alphas[0], threshold)
        weights.append(folded)
        clamped += n
    return weights, clamped


def converted_accuracy(weights: list[np.ndarray], threshold: float, data: Dataset, T: int, zero_policy: str):
    """The fire-once network's :class:`RunResult` on ``data`` (float arithmetic, training's kernels)."""
    t_in = torch.from_numpy(encode_ttfs(data.images, T, zero_policy))
    tensors = [torch.from_numpy(w).float() for w in weights]
    times = converted_spike_times(tensors, [threshold] * len(tensors), t_in, T)
    return classify([t.numpy() for t in times], data.labels, T, "float")


def convert_relu_mlp(
    mlp: ReluMlp,
    calibration: Dataset,
    T: int = 256,
    zero_policy: str = "silent",
    threshold: float = 100.0,
    percentile: float = 99.9,
) -> Converted:
    """Convert ``mlp`` (module doc): normalise on ``calibration``, fold biases, pick the alphas by its accuracy."""
    norm, lam = normalise(mlp, calibration.images, percentile)
    hidden_grid = HIDDEN_ALPHAS if len(mlp.weights) > 1 else (1.0,)
    best = None
    for alpha_h in hidden_grid:
        for alpha_o in OUTPUT_ALPHAS:
            weights, clamped = _build(norm, (alpha_h, alpha_o), threshold)
            accuracy = converted_accuracy(weights, threshold, calibration, T, zero_policy).accuracy
            if best is None or accuracy > best[0]:  # ties keep the earlier grid point
                best = (accuracy, (alpha_h, alpha_o), weights, clamped)
    accuracy, alphas, weights, clamped = best
    return Converted(
        [w.astype(np.float32) for w in weights],
        threshold,
        alphas,
        lam,
        clamped,
        accuracy,
        mlp.accuracy(calibration),
    )
