"""Float IR → quantized IR under a hardware profile (independent of any backend).

Per fire-once layer, integer weights are ``q = clip(round(W * c / 2^e), -2^(b-1), 2^(b-1) - 1)``
(``b`` = the profile's weight bits) and the integer threshold is ``round(threshold * c)``, where the
positive layer scale ``c`` and the exponent ``e`` are chosen here. Scaling a layer's weights and
threshold by the same ``c`` leaves every spike time unchanged, so only rounding and clipping can change
what the network does.

* ``e`` is the largest exponent in the profile's range for which the worst-case membrane
  ``sum_i |q_ji| * 2^e`` and the threshold still fit the profile's membrane and threshold widths:
  a large ``e`` gives the threshold the finest resolution relative to the weights.
* ``c`` maps a chosen clipping level of ``|W|`` onto the largest mantissa. Candidate clipping levels
  (the maximum and a few high percentiles) are each simulated on calibration data with the golden
  simulator, layer by layer; the least clipping whose decisions agree with the float network's
  within ``AGREEMENT_MARGIN`` samples of the best level is kept. Agreement rather than accuracy because what
  quantization should preserve is the float model's behaviour; the margin because a difference of one or two
  calibration digits is chance, and chasing it picked clippings that lost accuracy on held-out
  data.
  Without calibration data the maximum is used (no clipping). The accuracy change is reported on
  separate validation data.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ttfs_deploy.compiler.hardware import HardwareProfile
from ttfs_deploy.errors import TtfsError
from ttfs_deploy.ir import FireOnceLayer, NetworkIR
from ttfs_deploy.semantics import classify, integrator_membrane, simulate

__all__ = ["QuantizationError", "QuantReport", "quantize_layer", "quantize"]

CLIP_PERCENTILES = (100.0, 99.99, 99.9, 99.5)  # least clipping first
AGREEMENT_MARGIN = 3  # calibration samples of agreement that clipping must gain to be chosen


class QuantizationError(TtfsError):
    """The network cannot be represented under the profile (the message says which limit)."""


@dataclass(frozen=True)
class QuantReport:
    """What quantization chose and what it cost (accuracies are fractions on the calibration data)."""

    profile: str
    weight_exponents: list[int]
    scales: list[float]
    clip_percentiles: list[float]
    thresholds: list[int]
    float_accuracy: float | None
    quantized_accuracy: float | None
    n_calibration: int
    n_validation: int

    @property
    def accuracy_change(self) -> float | None:
        """Quantized minus float accuracy (fraction; negative = loss)."""
        if self.float_accuracy is None or self.quantized_accuracy is None:
            return None
        return self.quantized_accuracy - self.float_accuracy


def _largest_exponent(q: np.ndarray, threshold_int_at_e0: float, profile: HardwareProfile) -> int:
    """Largest e in the profile's range with the worst-case membrane and the threshold in range."""
    lo, hi = profile.weight_exponent_range
    worst = float(np.abs(q).sum(axis=1).max()) if q.size else 0.0
    v_max = 2 ** (profile.membrane_bits - 1) - 1
    th_max = 2**profile.threshold_bits - 1
    for e in range(hi, lo - 1, -1):
        if worst * 2.0**e <= v_max and abs(threshold_int_at_e0) * 2.0**e <= th_max:
            return e
    return lo


def quantize_layer(
    layer: FireOnceLayer, profile: HardwareProfile, clip_percentile: float = 100.0
) -> tuple[FireOnceLayer, int, float]:
    """Quantize one layer; returns the integer layer, its weight exponent and its scale ``c``."""
    w = np.asarray(layer.weight, dtype=np.float64)
    q_max = 2 ** (profile.weight_bits - 1) - 1
    level = float(np.percentile(np.abs(w), clip_percentile)) if w.size else 0.0
    if level <= 0:
        level = float(np.abs(w).max()) if w.size and np.abs(w).max() > 0 else 1.0
    unit = level / q_max  # float weight per mantissa step at e = 0 (c = 1 / unit)
    q = np.clip(np.round(w / unit), -q_max - 1, q_max)
    e = _largest_exponent(q, layer.threshold / unit, profile)
    scale = 2.0**e / unit
    threshold = int(round(layer.threshold * scale))
    if threshold >= 2**profile.threshold_bits:
        raise QuantizationError(
            f"layer {layer.name}: threshold {layer.threshold:g} needs {threshold.bit_length()} bits after scaling, "
            f"profile {profile.name} allows {profile.threshold_bits}"
        )
    if threshold < 0:
        raise QuantizationError(f"layer {layer.name}: negative threshold {layer.threshold:g} is not supported")
    return FireOnceLayer(layer.name, q.astype(np.int32), threshold, layer.integrator), e, scale


def _with_layers(
    ir: NetworkIR, quantized: list[FireOnceLayer], exponents: list[int], profile: HardwareProfile
) -> NetworkIR:
    by_name = {layer.name: layer for layer in quantized}
    layers = tuple(by_name.get(layer.name, layer) for layer in ir.layers)
    quant = {
        "profile": profile.name,
        "weight_bits": profile.weight_bits,
        "membrane_bits": profile.membrane_bits,
        "weight_exponents": exponents,
    }
    return replace(ir, layers=layers, quant=quant, delay=profile.stage_delay_steps)


def quantize(
    ir: NetworkIR,
    profile: HardwareProfile,
    calibration: tuple[np.ndarray, np.ndarray] | None = None,
    validation: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[NetworkIR, QuantReport]:
    """Quantize a float IR under ``profile``.

    Parameters
    ----------
    ir : float network (``ir.quant is None``)
    profile : target hardware profile (bit widths and exponent range)
    calibration : optional ``(t_in, labels)``: input spike times (n, inputs) in steps and labels, used
        to pick each layer's clipping level by the integer network's accuracy (ttfs_deploy.semantics).
    validation : optional ``(t_in, labels)`` on which the float → integer accuracy change is reported
        (keep it apart from the calibration data, or the reported change is optimistic).
    """
    if ir.is_quantized:
        raise QuantizationError("network is already quantized")
    float_layers = ir.fire_once_layers()

    def decisions(candidate: NetworkIR, data: tuple[np.ndarray, np.ndarray]):
        times = simulate(candidate, data[0])
        result = classify(times, data[1], candidate.T, "golden", integrator_membrane(candidate, times))
        return np.array([sample.prediction for sample in result.samples]), result.accuracy

    def accuracy(candidate: NetworkIR, data: tuple[np.ndarray, np.ndarray]) -> float:
        return decisions(candidate, data)[1]

    chosen = [100.0] * len(float_layers)
    if calibration is not None:
        float_predictions = decisions(ir, calibration)[0]
        # greedy, layer by layer: the least clipping whose decisions agree with the float model's about as
        # often as the best level's (within AGREEMENT_MARGIN samples: a digit or two is chance)
        margin = AGREEMENT_MARGIN / len(float_predictions)
        for k in range(len(float_layers)):
            agreement = []
            for pct in CLIP_PERCENTILES:
                trial = chosen[:k] + [pct] + chosen[k + 1 :]
                predictions = decisions(_build(ir, float_layers, trial, profile)[0], calibration)[0]
                agreement.append(float(np.mean(predictions == float_predictions)))
            best = max(agreement)
            chosen[k] = next(pct for pct, a in zip(CLIP_PERCENTILES, agreement) if a >= best - margin)
    quantized, exponents, scales = _build(ir, float_layers, chosen, profile)
    float_acc = accuracy(ir, validation) if validation is not None else None
    quant_acc = accuracy(quantized, validation) if validation is not None else None
    report = QuantReport(
        profile.name,
        exponents,
        scales,
        chosen,
        [layer.threshold for layer in quantized.fire_once_layers()],
        float_acc,
        quant_acc,
        0 if calibration is None else len(calibration[1]),
        0 if validation is None else len(validation[1]),
    )
    return quantized, report


def _build(
    ir: NetworkIR, float_layers: list[FireOnceLayer], percentiles: list[float], profile: HardwareProfile
) -> tuple[NetworkIR, list[int], list[float]]:
    results = [quantize_layer(layer, profile, pct) for layer, pct in zip(float_layers, percentiles)]
    layers = [r[0] for r in results]
    exponents = [r[1] for r in results]
    return _with_layers(ir, layers, exponents, profile), exponents, [r[2] for r in results]
