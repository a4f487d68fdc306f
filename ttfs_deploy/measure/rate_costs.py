"""Spike, synaptic-op and neuron-update counts of a rate-coded LIF run, priced like a TTFS run.

The same definitions as :mod:`ttfs_deploy.measure.costs` (whose energy, ANN reference and reading
this module uses), read from spike rasters instead of spike times:

* steps are *hardware* steps from the sample's start: layer ``k``'s local step ``t`` is step ``t + k``
  (:func:`ttfs_deploy.semantics.lif.hardware_step`), so ``spikes_per_step`` has ``T + L`` entries
  and both codings' curves share one axis;
* spikes: every spike of a layer in the window (a LIF neuron may spike every step);
* synaptic ops: spikes x fan-out (the next layer's size);
* neuron updates: each LIF neuron is updated in each of its ``T`` steps; *active* in a step where
  its input layer delivered at least one spike, *idle* otherwise (a leaky neuron still decays then);
* window: ``T + L`` steps from the first input to the last output step (there is no early stop).
"""

from __future__ import annotations

import numpy as np

from ttfs_deploy.compiler.hardware import HardwareProfile
from ttfs_deploy.ir import NetworkIR
from ttfs_deploy.measure.costs import Costs, ann_reference, price, reading
from ttfs_deploy.semantics.lif import hardware_step

__all__ = ["count_rate", "profile_rate_network"]


def count_rate(rasters: list[np.ndarray], names: list[str]) -> tuple[list[dict], float]:
    """Per-layer mean counts from rasters (input first, each ``(n, T, size)``, local time); and the window."""
    n, T = rasters[0].shape[:2]
    L = len(rasters) - 1
    window = T + L
    layers = []
    for k, (raster, name) in enumerate(zip(rasters, names)):
        raster = np.asarray(raster)
        size = raster.shape[2]
        per_sample = raster.sum(axis=(1, 2), dtype=np.int64)
        fan_out = rasters[k + 1].shape[2] if k + 1 < len(rasters) else 0
        per_step = np.zeros(window)
        per_step[hardware_step(k, np.arange(T))] = raster.sum(axis=(0, 2), dtype=np.int64) / max(n, 1)
        layer = {
            "name": name,
            "size": size,
            "spikes": float(per_sample.mean()) if n else 0.0,
            "synaptic_ops": float(per_sample.mean() * fan_out) if n else 0.0,
            "active_updates": 0.0,
            "idle_updates": 0.0,
            "fraction_fired": float(raster.any(axis=1).mean()) if n else 0.0,
            "spikes_per_step": per_step.tolist(),
        }
        if k > 0:
            active_steps = np.asarray(rasters[k - 1]).any(axis=2).sum(axis=1)  # (n,) steps with input spikes
            layer["active_updates"] = float(size * active_steps.mean()) if n else 0.0
            layer["idle_updates"] = float(size * (T - active_steps).mean()) if n else 0.0
        layers.append(layer)
    return layers, float(window)


def profile_rate_network(rasters: list[np.ndarray], ir: NetworkIR, target: str, profile: HardwareProfile) -> Costs:
    """Count a rate-coded run of ``ir`` and price it under ``profile`` (the TTFS :class:`Costs` schema)."""
    from ttfs_deploy.compiler.mapping import map_network

    names = [layer.name for layer in ir.chain()]
    layers, window = count_rate(rasters, names)
    cores = map_network(ir, profile).cores
    return price(
        layers, window, rasters[0].shape[0], ir.T, False, target, profile, cores, ann_reference(ir.sizes), _reading
    )


def _reading(*args) -> dict:
    """:func:`ttfs_deploy.measure.costs.reading`, worded for LIF neurons (no early stop to suggest)."""
    result = reading(*args)
    result["text"] = [
        line.replace("TTFS ", "Rate-coded LIF ", 1)
        .replace("fire-once neurons", "LIF neurons")
        .replace("; this run simulated all T steps, early stop ends at the decision", "; fewer steps T")
        for line in result["text"]
    ]
    return result
