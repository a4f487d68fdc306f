"""ANN → TTFS conversion: a plain PyTorch ReLU MLP (with biases) becomes a fire-once checkpoint.

Input: a ``state_dict`` of an ``nn.Sequential`` of ``Linear`` and ``ReLU`` modules (keys ``0.weight``,
``0.bias``, ``2.weight``, ...), or a dict holding one under ``"state_dict"``, read with
``torch.load(weights_only=True)`` through the checkpoint reader's checks (regular file, size caps,
zip members declared sane). ReLU has no parameters, so a ReLU after every ``Linear`` but the last is
assumed; any other parameter (BatchNorm, a conv kernel, a 3-D weight) is refused naming the module.

Why not one spiking neuron per ReLU unit: a fire-once neuron's potential is a step function of its
inputs' spike times (a pixel adds its full weight once it has spiked), so on near-binary digits a
hidden neuron either fires early or not at all, and its spike carries one bit of its ReLU's value;
the first output to cross its threshold then decides on partial sums. Measured on the example MLP
(docs/bring-your-own-model.md), one neuron per unit with a first-spike read-out reaches 85 % against
the ANN's 96 %, while the arg-max of the output potentials once every hidden spike has arrived
reaches 95 %. The conversion therefore carries each unit's value in *how many* neurons fire and reads
the class from the output potential:

1. **Normalise** (Diehl et al. 2015; Rueckauer et al. 2017): on the calibration images (pixels in
   [0, 1]) ``lam_l`` is the ``percentile`` (99.9) of layer ``l``'s positive activations (``lam_0 = 1``);
   layer ``l`` becomes ``W_l lam_{l-1} / lam_l``, ``b_l / lam_l``, so activations are mostly in [0, 1].
2. **Levels** (a thermometer code of each unit's activation): every hidden unit ``j`` becomes
   ``levels`` = K fire-once neurons; neuron ``m`` fires when the unit's normalised input plus its bias
   exceeds ``alpha_m = scale (m + 1/2) / K``, so the number that fire is ``round(K h_j / scale)`` (capped
   at K). The bias is folded into each neuron's threshold and that into its incoming weights, exactly:
   row ``j`` times ``threshold / (alpha_m - b_j)`` with every neuron at the layer threshold (100, as
   S4NN): ``V + b > a`` iff ``V c > threshold`` for ``c = threshold / (a - b) > 0``. A neuron with
   ``b_j >= alpha_m`` would fire without input; its effective threshold is clamped to ``alpha_m / 20``
   and counted (``clamped``). The next layer's weight from each of the K copies is ``W / K``
   (times ``scale``), so it receives ``W h`` up to the quantisation of ``h`` to K levels.
3. **Read-out** (``readout="membrane"``, the default): the output layer is a non-spiking integrator
   (:attr:`ttfs_deploy.ir.FireOnceLayer.integrator`); the class is the arg-max of its potential at the
   window's end, ``W_out h + b_out``. Its bias comes through a *bias neuron* added to the last hidden
   layer (weights ``1.01 threshold`` from every pixel, or from the previous layer's bias neuron), which
   fires one step after the first input spike of any non-blank image; its output weight is ``b_out``.
   ``readout="first_spike"`` keeps a fire-once output layer (bias folded with ``alpha_out``), the first
   output spike decides, and ``alpha_out`` is picked with ``scale``.
4. ``scale`` (and ``alpha_out``) are chosen from small grids by the converted network's accuracy on
   the calibration images (golden's float semantics; validation data is never used).

The converted network is an ordinary fire-once network (wider: ``K H + 1`` hidden neurons), so
golden, Lava, profiles, budgets and HIL tests run it like any other. ``ttfs-deploy convert
--finetune-epochs N`` continues with the temporal loss (first-spike read-out only).
"""

from __future__ import annotations

import pathlib
import re
from dataclasses import dataclass, replace

import numpy as np
import torch

from ttfs_deploy.coding import encode_ttfs
from ttfs_deploy.data import Dataset
from ttfs_deploy.errors import TtfsError, short
from ttfs_deploy.ir import NetworkIR
from ttfs_deploy.ir.network import READOUTS, from_checkpoint_weights
from ttfs_deploy.semantics import classify, integrator_membrane, simulate
from ttfs_deploy.train.checkpoint import read_payload
from ttfs_deploy.train.epochs import pixels

__all__ = [
    "ConversionError",
    "ReluMlp",
    "Converted",
    "load_relu_mlp",
    "converted_network",
    "normalise",
    "fold_bias",
    "expand",
    "converted_result",
    "convert_relu_mlp",
    "LEVEL_SCALES",
    "OUTPUT_ALPHAS",
]

LEVEL_SCALES = (0.5, 0.75, 1.0, 1.5, 2.0)  # alpha_m = scale (m + 1/2) / K
OUTPUT_ALPHAS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 1.0)
CLAMP_FRACTION = 0.05
BIAS_NEURON_WEIGHT = 1.01  # x threshold: one incoming spike makes the bias neuron fire
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


def load_relu_mlp(path: str | pathlib.Path, sizes: list[int] | None = None) -> ReluMlp:
    """Read ``path`` (see module doc) and check it against ``sizes`` (``--arch``; None: the sizes the
    Linear layers have); one-line errors."""
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
    if not chained or (sizes is not None and found != list(sizes)):
        shapes = ", ".join(f"{w.shape[0]}x{w.shape[1]}" for w in weights)
        if sizes is None:
            raise ConversionError(f"{path}: the Linear layers ({shapes}) do not chain into an MLP")
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
    """A converted network: fire-once weights (every spiking layer at ``threshold``) and provenance."""

    weights: list[np.ndarray]
    threshold: float
    readout: str
    levels: int
    scale: float
    alpha_out: float | None
    lam: list[float]
    clamped: int
    calibration_accuracy: float
    ann_calibration_accuracy: float
    ann_sizes: tuple[int, ...] = ()  # the source ANN's layer sizes

    @property
    def sizes(self) -> list[int]:
        return [self.weights[0].shape[1]] + [w.shape[0] for w in self.weights]

    @property
    def thresholds(self) -> list[float]:
        """Per layer; an integrator read-out has none (0)."""
        return layer_thresholds(len(self.weights), self.threshold, self.readout)

    def network(self, T: int, zero_policy: str, image_shape) -> NetworkIR:
        """The float network (IR) this conversion made."""
        return from_checkpoint_weights(self.weights, self.thresholds, T, zero_policy, image_shape, readout=self.readout)

    def summary(self) -> dict:
        return {
            "method": f"data-based normalisation (p99.9), {self.levels} threshold levels per unit, "
            f"biases folded into thresholds, {self.readout} read-out",
            "ann_arch": list(self.ann_sizes),
            "readout": self.readout,
            "levels": self.levels,
            "level_scale": self.scale,
            "alpha_output": self.alpha_out,
            "lam": self.lam,
            "clamped_neurons": self.clamped,
            "calibration_accuracy": self.calibration_accuracy,
            "ann_calibration_accuracy": self.ann_calibration_accuracy,
        }


def layer_thresholds(n_layers: int, threshold: float, readout: str) -> list[float]:
    """Every spiking layer at ``threshold``; a membrane read-out's integrator has none (0)."""
    return [threshold] * (n_layers - 1) + [0.0 if readout == "membrane" else threshold]


def expand(
    norm: ReluMlp, levels: int, scale: float, threshold: float, readout: str, alpha_out: float = 1.0
) -> tuple[list[np.ndarray], int]:
    """Steps 2-3 of the module doc: the converted network's float weights, layer by layer, and how many
    neurons' thresholds were clamped. Hidden neurons are ordered level-major (level ``m`` of unit ``j``
    is neuron ``m H + j``); with ``readout="membrane"`` the bias neuron is the last hidden neuron."""
    alphas = scale * (np.arange(levels) + 0.5) / levels
    membrane = readout == "membrane"
    last = len(norm.weights) - 1
    weights, clamped = [], 0
    for k, (w, b) in enumerate(zip(norm.weights, norm.biases)):
        # what each spike of the previous layer is worth: a pixel counts whole, a level counts scale / K
        w_in = w if k == 0 else np.tile(w, (1, levels)) * (scale / levels)
        if k == last:
            if membrane:
                weights.append(np.concatenate([w_in, b[:, None]], axis=1))  # the bias neuron carries b_out
            else:
                folded, n = fold_bias(w_in, b, alpha_out, threshold)
                weights.append(folded)
                clamped += n
            break
        rows = []
        for alpha in alphas:
            folded, n = fold_bias(w_in, b, alpha, threshold)
            rows.append(folded)
            clamped += n
        layer = np.concatenate(rows, axis=0)
        if k > 0 and membrane:
            layer = np.concatenate([layer, np.zeros((len(layer), 1))], axis=1)  # the previous bias neuron
        if membrane:
            bias_row = np.zeros((1, layer.shape[1]))
            if k == 0:
                bias_row[:] = BIAS_NEURON_WEIGHT * threshold  # any pixel's spike
            else:
                bias_row[0, -1] = BIAS_NEURON_WEIGHT * threshold  # the previous bias neuron's spike
            layer = np.concatenate([layer, bias_row], axis=0)
        weights.append(layer)
    return weights, clamped


def converted_result(
    weights: list[np.ndarray], thresholds: list[float], readout: str, data: Dataset, T: int, zero_policy: str
):
    """The float network's :class:`RunResult` on ``data`` (golden's float semantics)."""
    ir = from_checkpoint_weights(weights, thresholds, T, zero_policy, data.shape, readout=readout)
    times = simulate(ir, encode_ttfs(data.images, T, zero_policy))
    return classify(times, data.labels, T, "float", integrator_membrane(ir, times))


def convert_relu_mlp(
    mlp: ReluMlp,
    calibration: Dataset,
    T: int = 256,
    zero_policy: str = "silent",
    threshold: float = 100.0,
    percentile: float = 99.9,
    levels: int = 4,
    readout: str = "membrane",
) -> Converted:
    """Convert ``mlp`` (module doc): normalise on ``calibration``, expand to ``levels`` per unit, pick the
    grid point by the calibration accuracy."""
    if readout not in READOUTS:
        raise ConversionError(f"readout must be one of {', '.join(READOUTS)}, got {short(readout)}")
    if readout == "membrane" and len(mlp.weights) < 2:
        raise ConversionError(
            "a membrane read-out needs a hidden layer to carry the output bias; use --readout first-spike"
        )
    norm, lam = normalise(mlp, calibration.images, percentile)
    thresholds = layer_thresholds(len(mlp.weights), threshold, readout)
    best = None
    for scale in LEVEL_SCALES:
        for alpha_out in (None,) if readout == "membrane" else OUTPUT_ALPHAS:
            weights, clamped = expand(norm, levels, scale, threshold, readout, alpha_out or 1.0)
            accuracy = converted_result(weights, thresholds, readout, calibration, T, zero_policy).accuracy
            if best is None or accuracy > best[0]:  # ties keep the earlier grid point
                best = (accuracy, scale, alpha_out, weights, clamped)
    accuracy, scale, alpha_out, weights, clamped = best
    return Converted(
        [w.astype(np.float32) for w in weights],
        threshold,
        readout,
        levels,
        scale,
        alpha_out,
        lam,
        clamped,
        accuracy,
        mlp.accuracy(calibration),
        tuple(mlp.sizes),
    )


def converted_network(path: str | pathlib.Path, calibration: Dataset, T: int = 256) -> tuple[NetworkIR, str]:
    """A plain PyTorch ReLU MLP state_dict converted on the fly as ``ttfs-deploy convert`` does with its
    defaults (layer sizes from the file; 4 levels, membrane read-out, silent black pixels), calibrated on
    the first 1,000 images of ``calibration``: (float network, one sentence saying so)."""
    mlp = load_relu_mlp(path)
    if calibration.images.shape[1] != mlp.sizes[0]:
        raise ConversionError(
            f"{path} takes {mlp.sizes[0]} inputs but the calibration data {calibration.name} has "
            f"{calibration.images.shape[1]} pixels per image; give --calibration DATA of the model's input size"
        )
    calib = calibration.head(1000)
    converted = convert_relu_mlp(mlp, calib, T)
    ir = converted.network(T, "silent", calib.shape)
    ir = replace(ir, meta={**ir.meta, "ann_sizes": list(mlp.sizes)})
    note = (
        f"{pathlib.Path(path).name} is a plain PyTorch ReLU MLP ({'-'.join(map(str, mlp.sizes))}), converted as "
        f"`ttfs-deploy convert` does ({converted.levels} levels, {converted.readout} read-out, calibrated on "
        f"{len(calib.labels)} samples of {calib.name}; calibration accuracy {converted.calibration_accuracy:.1%})"
    )
    return ir, note
