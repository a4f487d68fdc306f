"""``loihi-sim`` for rate-coded LIF networks: Lava's stock Dense + LIF on Lava's Loihi CPU simulator.

Graph (one compiled graph streams every sample)::

    RasterSource → Dense → LIFReset → Dense → ... → LIFReset
                               ↓ s_out                 ↓ s_out
                               └──────▶ RasterRecorder ◀┘ ── one message per sample (external pipe) ──▶ host

* The neurons are Lava's ``lava.proc.lif.process.LIFReset``: the stock ``LIF`` plus a reset of ``u``
  and ``v`` every ``reset_interval`` steps, run by ``PyLifResetModelBitAcc`` (the same
  ``AbstractPyLifModelFixed`` arithmetic as ``PyLifModelBitAcc``) under ``Loihi2SimCfg(select_tag=
  "fixed_pt")``; float IRs run ``PyLifResetModelFloat`` (``floating_pt``). The synapses are Lava's
  ``Dense`` with the mixed-sign weight encoding of :mod:`ttfs_deploy.backends.lava_sim`.
* Streaming: samples follow each other every ``T`` steps (sample ``j`` starts at Lava step
  ``S = 1 + j T``). Dense delays a step, so layer ``k`` works on sample ``j`` in Lava steps
  ``S + k .. S + k + T - 1``; its reset is at ``S + k`` (``reset_offset = (1 + k) mod T``), so each
  layer sees exactly the sample's ``T`` steps of its input: the model's local time
  (:mod:`ttfs_deploy.semantics.lif`). The run lasts ``n T + L`` steps (``L`` layers), no early stop.
* Only source and read-out are ours (:mod:`.lava_procs.rate_process`); a Loihi board would run the
  same Dense + LIF graph through lava-loihi, with its own spike I/O instead.

Lava is imported lazily, as in :mod:`ttfs_deploy.backends.lava_sim`, whose run-and-stop machinery
(deadline, dead-worker detection, clean stop on signals) this module uses.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ttfs_deploy.backends import lava_sim
from ttfs_deploy.backends.lava_sim import BackendUnavailable
from ttfs_deploy.compiler.mapping import check_target
from ttfs_deploy.ir import IRError, NetworkIR
from ttfs_deploy.ir.lif import INTEGRATOR_FIELDS
from ttfs_deploy.semantics.lif import check_raster

__all__ = ["simulate", "simulate_lif", "missing"]

_PIPE_BUFFER = 256


def _lava() -> dict[str, Any]:
    lava = lava_sim._lava()  # imports Lava (or raises BackendUnavailable) the one way this project does
    try:
        from lava.proc.lif.process import LIFReset

        from ttfs_deploy.backends.lava_procs.rate_process import MembraneRecorder, RasterRecorder, RasterSource
    except ImportError as exc:
        raise BackendUnavailable(f"the loihi-sim target needs Lava's LIF processes ({exc})") from None
    return {
        **lava,
        "LIFReset": LIFReset,
        "RasterSource": RasterSource,
        "RasterRecorder": RasterRecorder,
        "MembraneRecorder": MembraneRecorder,
    }


def missing() -> str | None:
    """None when Lava is installed here, else what to install."""
    return lava_sim.missing()


def _neuron_args(ir: NetworkIR, layer: Any) -> dict:
    if layer.integrator:  # netx's neuron for a layer without one, as golden runs it
        return {**INTEGRATOR_FIELDS, "bias_mant": int(layer.bias_mant), "bias_exp": int(layer.bias_exp)}
    if ir.is_quantized:
        return {
            "vth": int(layer.vth),
            "du": int(layer.du),
            "dv": int(layer.dv),
            "bias_mant": int(layer.bias_mant),
            "bias_exp": int(layer.bias_exp),
        }
    return {"vth": float(layer.vth), "du": float(layer.du), "dv": float(layer.dv), "bias_mant": float(layer.bias_mant)}


def _build(ir: NetworkIR, spikes: np.ndarray, lava: dict) -> tuple:
    layers = ir.chain()[1:]
    n, T = spikes.shape[0], ir.T
    source = lava["RasterSource"](spikes=spikes, name="source")
    recorder = lava["RasterRecorder"](
        sizes=[layer.size for layer in layers], T=T, n_samples=n, buffer_size=min(n, _PIPE_BUFFER), name="recorder"
    )
    membrane = None
    upstream = source.s_out
    for k, (layer, watch) in enumerate(zip(layers, recorder.watch_ports()), start=1):
        dense = lava["Dense"](name=f"dense_{layer.name}", **lava_sim._dense_args(ir, k - 1, layer.weight, lava))
        neuron = lava["LIFReset"](
            shape=(layer.size,), reset_interval=T, reset_offset=(1 + k) % T, name=layer.name, **_neuron_args(ir, layer)
        )
        upstream.connect(dense.s_in)
        dense.a_out.connect(neuron.a_in)
        neuron.s_out.connect(watch)
        upstream = neuron.s_out
        if layer.integrator:
            membrane = lava["MembraneRecorder"](
                size=layer.size, layer=k, T=T, n_samples=n, buffer_size=min(n, _PIPE_BUFFER), name="membrane"
            )
            membrane.v_in.connect_var(neuron.v)
    tag = "fixed_pt" if ir.is_quantized else "floating_pt"
    return source, recorder, membrane, lava["Loihi2SimCfg"](select_tag=tag)


def _unpack(bits: int):
    return lambda words: np.unpackbits(np.asarray(words, dtype=np.int32).view(np.uint8))[:bits]


def simulate(
    ir: NetworkIR, spikes: np.ndarray, early_stop: bool = False, timeout_s: float | None = None
) -> list[np.ndarray]:
    """Stream every sample's input raster through Lava; return per-layer rasters (input first, local time).

    Equal to :func:`ttfs_deploy.semantics.lif.simulate_rate` spike for spike. ``early_stop`` is
    refused: a rate sample always runs its ``T`` steps here (the decision step is read out afterwards).
    """
    return simulate_lif(ir, spikes, early_stop, timeout_s)[0]


def simulate_lif(
    ir: NetworkIR, spikes: np.ndarray, early_stop: bool = False, timeout_s: float | None = None
) -> tuple[list[np.ndarray], np.ndarray | None]:
    """:func:`simulate`'s rasters and an integrator read-out's membrane ``v`` per local step (int64
    ``(n, T, n_out)``, read from the stock LIF's ``v`` by :class:`MembraneRecorder`; None without one),
    as :func:`ttfs_deploy.semantics.lif.simulate_lif` returns them."""
    layers = ir.chain()
    if ir.neuron != "lif":
        raise IRError("this is a fire-once (TTFS) network; the LIF Lava graph runs rate-coded LIF networks")
    if early_stop:
        raise IRError("early stop is not available for rate-coded networks on loihi-sim (each sample runs T steps)")
    check_target(ir, "loihi-sim")
    for layer in layers[1:]:
        if layer.refractory:
            raise BackendUnavailable(
                f"layer {layer.name!r}: refractory {layer.refractory}: Lava's bit-accurate LIF has no refractory "
                "period (refractory must be 0 on loihi-sim)"
            )
    spikes = check_raster(spikes, layers[0].size, ir.T)
    n, T = spikes.shape[0], ir.T
    sizes = [layer.size for layer in layers[1:]]
    integrator = layers[-1].integrator
    if integrator and not ir.is_quantized:
        raise IRError("an integrator read-out runs quantised (netx) networks only")
    if n == 0:
        empty = np.zeros((0, T, sizes[-1]), np.int64) if integrator else None
        return [spikes] + [np.zeros((0, T, s), dtype=np.uint8) for s in sizes], empty
    lava = _lava()
    source, recorder, membrane, run_cfg = _build(ir, spikes, lava)
    bits = T * sum(sizes)

    def receivers() -> list:
        ports = [(recorder.receive_port(), _unpack(bits), bits, np.uint8)]
        if membrane is not None:
            ports.append((membrane.receive_port(), lambda v: v, T * sizes[-1], np.int64))
        return ports

    flat, *rest = lava_sim.run_collecting(source, run_cfg, receivers, n, T, timeout_s, lava)
    rasters, offset = [spikes], 0
    for size in sizes:
        rasters.append(np.ascontiguousarray(flat[:, offset : offset + T * size].reshape(n, T, size)))
        offset += T * size
    return rasters, (rest[0].reshape(n, T, sizes[-1]) if rest else None)
