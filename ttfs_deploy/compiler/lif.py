"""Compile rate-coded LIF networks: float LIF IR → Lava bit-accurate integers under a hardware profile.

Per layer (docs/lif.md): weights ``q = clip(round(W c / 2^e), -2^(b-1), 2^(b-1) - 1)`` with ``b`` the
profile's weight bits and ``c = 2^e q_max / max|W|`` (no clipping), threshold ``vth_int = round(vth c)``
(Lava compares ``v`` with ``vth_int << 6`` and adds ``a << 6`` to ``u``, so ``v / 64`` is the float
``v`` times ``c``), current decay ``du_int = round(4096 du) - 1`` (Lava adds 1: ``du = 1`` → 4095, full
decay), voltage decay ``dv_int = round(4096 dv)``, both clipped to 0..4095. Scaling weights and threshold by
the same ``c`` leaves spikes unchanged, so only rounding changes what the network does.

``e`` is the largest exponent in the profile's range for which the largest synaptic input a step can
bring (all positive or all negative weights of a neuron at once) fits Lava's signed 16-bit ``a_in``
(:data:`ttfs_deploy.ir.lif.LIF_INPUT_LIMITS`) and ``vth_int`` fits 17 bits.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ttfs_deploy.compiler.hardware import HardwareProfile, load_profile
from ttfs_deploy.compiler.mapping import MappingError, check
from ttfs_deploy.compiler.quantize import QuantizationError, QuantReport
from ttfs_deploy.errors import UsageError
from ttfs_deploy.ir import InputLayer, NetworkIR
from ttfs_deploy.ir.lif import LIF_FIELD_LIMITS, LIF_INPUT_LIMITS, LifLayer, RateCoding

__all__ = ["rate_network_ir", "quantize_lif", "input_reach", "check_lif_input", "compile_rate"]


def rate_network_ir(ckpt) -> NetworkIR:
    """The float IR of a :class:`ttfs_deploy.train.lif_checkpoint.RateCheckpoint`."""
    model = ckpt.model
    layers = [InputLayer("input", model.sizes[0])]
    for k, weight in enumerate(model.weights):
        w = weight.detach().double().numpy()
        layers.append(LifLayer(f"fc{k + 1}", w, vth=model.vth, du=model.du, dv=model.dv))
    edges = tuple((a.name, b.name) for a, b in zip(layers, layers[1:]))
    rate = RateCoding(ckpt.scheme, ckpt.max_rate, model.task)
    ir = NetworkIR(tuple(layers), edges, model.T, "silent", ckpt.image_shape, rate=rate)
    ir.chain()
    return ir


def input_reach(q: np.ndarray, exponent: int) -> int:
    """The largest ``|a|`` one step can bring: a neuron's positive (or negative) mantissas all at once, shifted."""
    q = q.astype(np.int64)
    worst = int(
        max(np.where(q > 0, q, 0).sum(axis=1).max(initial=0), (-np.where(q < 0, q, 0)).sum(axis=1).max(initial=0))
    )
    return worst << exponent if exponent >= 0 else worst >> -exponent


def _decay(value: float, offset: int) -> int:
    low, high = LIF_FIELD_LIMITS["du"]
    return int(np.clip(round(value * 4096) - offset, low, high))


def _quantize_layer(layer: LifLayer, profile: HardwareProfile) -> tuple[LifLayer, int, float]:
    w = np.asarray(layer.weight, dtype=np.float64)
    q_max = 2 ** (profile.weight_bits - 1) - 1
    level = float(np.abs(w).max()) if w.size and np.abs(w).max() > 0 else 1.0
    unit = level / q_max
    q = np.clip(np.round(w / unit), -q_max - 1, q_max).astype(np.int32)
    lo, hi = profile.weight_exponent_range
    vth_high = LIF_FIELD_LIMITS["vth"][1]
    for e in range(hi, lo - 1, -1):
        if input_reach(q, e) <= LIF_INPUT_LIMITS[1] and round(layer.vth * 2.0**e / unit) <= vth_high:
            break
    else:
        raise QuantizationError(
            f"layer {layer.name}: no weight exponent in {lo}..{hi} keeps a step's input within 16 bits "
            f"and vth within 17 bits"
        )
    scale = 2.0**e / unit
    bias = round(layer.bias_mant * scale * 64)
    bias_exp = 0
    while not LIF_FIELD_LIMITS["bias_mant"][0] <= bias >> bias_exp <= LIF_FIELD_LIMITS["bias_mant"][1]:
        bias_exp += 1
        if bias_exp > LIF_FIELD_LIMITS["bias_exp"][1]:
            raise QuantizationError(f"layer {layer.name}: bias {layer.bias_mant:g} does not fit 13 bits << 7")
    quantized = LifLayer(
        layer.name,
        q,
        vth=int(round(layer.vth * scale)),
        du=_decay(layer.du, 1),
        dv=_decay(layer.dv, 0),
        bias_mant=bias >> bias_exp,
        bias_exp=bias_exp,
        refractory=layer.refractory,
    )
    return quantized, e, scale


def quantize_lif(ir: NetworkIR, profile: HardwareProfile) -> tuple[NetworkIR, QuantReport]:
    """Quantise a float LIF network under ``profile`` (accuracies are measured by the caller)."""
    if ir.is_quantized:
        raise QuantizationError("network is already quantized")
    results = [_quantize_layer(layer, profile) for layer in ir.chain()[1:]]
    by_name = {r[0].name: r[0] for r in results}
    quant = {
        "profile": profile.name,
        "weight_bits": profile.weight_bits,
        "membrane_bits": profile.membrane_bits,
        "weight_exponents": [r[1] for r in results],
    }
    layers = tuple(by_name.get(layer.name, layer) for layer in ir.layers)
    quantized = replace(ir, layers=layers, quant=quant, delay=profile.stage_delay_steps)
    report = QuantReport(
        profile.name,
        [r[1] for r in results],
        [r[2] for r in results],
        [100.0] * len(results),
        [r[0].vth for r in results],
        None,
        None,
        0,
        0,
    )
    return quantized, report


def check_lif_input(ir: NetworkIR) -> None:
    """Every layer's largest one-step input fits Lava's signed 16-bit ``a_in`` (else :class:`MappingError`)."""
    if not ir.is_quantized:
        return
    for layer, e in zip(ir.chain()[1:], ir.quant.weight_exponents):
        reach = input_reach(np.asarray(layer.weight), e)
        if reach > LIF_INPUT_LIMITS[1]:
            raise MappingError(
                f"layer {layer.name}: a step's synaptic input reaches {reach}; Lava's LIF a_in holds "
                f"{LIF_INPUT_LIMITS[0]}..{LIF_INPUT_LIMITS[1]} (16 bits)"
            )


def compile_rate(ir: NetworkIR, target: str, profile_name: str):
    """Quantise, map and check a float LIF network (the rate-network half of ``compile_network``)."""
    from ttfs_deploy.compiler.pipeline import TARGETS, CompileResult

    if target not in TARGETS:
        raise UsageError(f"cannot compile for target {target!r}; compile targets: {', '.join(TARGETS)}")
    profile = load_profile(profile_name)
    quantized, report = quantize_lif(ir, profile)
    quantized = replace(quantized, meta={**quantized.meta, "target": target})
    check_lif_input(quantized)
    placement = check(quantized, profile, target)
    return CompileResult(quantized, target, profile, placement, report)
