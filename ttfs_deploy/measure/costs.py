"""Spike, synaptic-op and neuron-update counts from a spike trace, and energy/time from a profile.

Counts come only from the backend's per-layer spike times, so golden and loihi-sim give identical
counts for identical traces. Definitions (per inference, averaged over samples):

* spikes: spikes issued by each layer (input layer included) within the simulated window;
* synaptic ops: spikes of a layer x its fan-out (the next layer's size; dense connections);
* neuron updates: every fire-once neuron is updated once per simulated step; an update is *active*
  in a step where its input layer delivered at least one spike (a dense layer then changes every
  neuron's membrane), *idle* otherwise;
* window: ``T`` steps, or decision step + 1 when the run stopped early;
* energy: synaptic ops x E(synaptic spike op) + active x E(active update) + idle x E(idle update),
  each figure taken from the hardware profile with its source; time: the same ops x per-op times,
  divided by the cores used (they work in parallel), an estimate labelled as such;
* dense ANN of the same shape: MACs = sum of n_in x n_out, at 4.6 pJ (fp32) and 0.23 pJ (int8)
  per MAC (Horowitz, ISSCC 2014, 45 nm).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from ttfs_deploy.compiler.hardware import HardwareProfile
from ttfs_deploy.ir import NetworkIR
from ttfs_deploy.semantics import decision_steps

__all__ = ["ANN_MAC_PJ", "LayerCounts", "Profile", "count", "energy", "ann_reference", "build", "profile_network"]

ANN_MAC_PJ = {
    "fp32": (4.6, "Horowitz, ISSCC 2014 (45 nm): fp32 multiply-add"),
    "int8": (0.23, "Horowitz, ISSCC 2014 (45 nm): int8 multiply-add"),
}


@dataclass(frozen=True)
class LayerCounts:
    """Mean counts per inference for one layer."""

    name: str
    size: int
    spikes: float
    synaptic_ops: float
    active_updates: float
    idle_updates: float
    fraction_fired: float
    spikes_per_step: list[float]  # mean spikes at each step 0..T-1


@dataclass(frozen=True)
class Profile:
    """Counts for a whole run plus the energy/time estimate under a hardware profile."""

    target: str
    profile: str
    n: int
    T: int
    early_stop: bool
    mean_window_steps: float
    layers: list[LayerCounts]
    energy_pj: dict  # term -> {"value", "per_op_pj", "source"}
    energy_total_nj: float | None
    energy_is_estimate: bool
    time_us: float | None
    cores: int
    ann: dict

    def to_json(self) -> dict:
        return asdict(self)


def count(times: list[np.ndarray], names: list[str], T: int, early_stop: bool) -> tuple[list[dict], float]:
    """Per-layer mean counts from spike times (input first, each (n, size), ``T`` = none).

    Returns the per-layer counts (dicts of :class:`LayerCounts` fields) and the mean window in steps.
    """
    n = times[0].shape[0]
    decision = decision_steps(times[-1], T)
    window = np.where(early_stop & (decision < T), decision + 1, T) if n else np.zeros(0)
    layers = []
    for k, (t, name) in enumerate(zip(times, names)):
        size = t.shape[1]
        fired = t < T
        fan_out = times[k + 1].shape[1] if k + 1 < len(times) else 0
        per_step = np.zeros(T)
        np.add.at(per_step, t[fired], 1)
        layer = {
            "name": name,
            "size": size,
            "spikes": float(fired.sum() / max(n, 1)),
            "synaptic_ops": float(fired.sum() * fan_out / max(n, 1)),
            "active_updates": 0.0,
            "idle_updates": 0.0,
            "fraction_fired": float(fired.mean()) if n else 0.0,
            "spikes_per_step": (per_step / max(n, 1)).tolist(),
        }
        if k > 0:  # fire-once layer: one update per neuron per simulated step
            source = times[k - 1]
            active_steps = np.array([len(np.unique(row[row < w])) for row, w in zip(source, window)])
            layer["active_updates"] = float(size * active_steps.mean()) if n else 0.0
            layer["idle_updates"] = float(size * (window - active_steps).mean()) if n else 0.0
        layers.append(layer)
    return layers, float(window.mean()) if n else 0.0


def _figure(profile: HardwareProfile, key: str) -> tuple[float | None, str]:
    fig = profile.energy_pj.get(key)
    return (None, "not in profile") if fig is None else (fig.value, fig.source)


def energy(layers: list[dict], profile: HardwareProfile, cores: int) -> tuple[dict, float | None, float | None]:
    """Energy terms (pJ per inference, each with its per-op figure and source), total nJ, time in µs."""
    totals = {
        "synaptic_spike_op": sum(layer["synaptic_ops"] for layer in layers),
        "neuron_update_active": sum(layer["active_updates"] for layer in layers),
        "neuron_update_inactive": sum(layer["idle_updates"] for layer in layers),
    }
    terms, known = {}, True
    for key, ops in totals.items():
        per_op, source = _figure(profile, key)
        terms[key] = {
            "ops": ops,
            "per_op_pj": per_op,
            "value": None if per_op is None else ops * per_op,
            "source": source,
        }
        known &= per_op is not None
    total = sum(term["value"] for term in terms.values()) / 1000 if known else None
    time_terms = [(totals[key], profile.time_ns.get(key)) for key in totals]
    time_us = (
        sum(ops * fig.value for ops, fig in time_terms) / max(cores, 1) / 1000
        if all(fig is not None and fig.value is not None for _, fig in time_terms)
        else None
    )
    return terms, total, time_us


def ann_reference(sizes: list[int]) -> dict:
    """MACs and energy of a dense ANN of the same shape (one inference)."""
    macs = sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
    return {
        "macs": macs,
        **{f"energy_{kind}_nj": macs * pj / 1000 for kind, (pj, _) in ANN_MAC_PJ.items()},
        "sources": {kind: src for kind, (_, src) in ANN_MAC_PJ.items()},
    }


def build(
    times: list[np.ndarray],
    names: list[str],
    sizes: list[int],
    T: int,
    early_stop: bool,
    target: str,
    profile: HardwareProfile,
    cores: int,
) -> Profile:
    """Count a trace and price it under ``profile``."""
    layers, window = count(times, names, T, early_stop)
    terms, total, time_us = energy(layers, profile, cores)
    return Profile(
        target,
        profile.name,
        times[0].shape[0],
        T,
        early_stop,
        window,
        [LayerCounts(**layer) for layer in layers],
        terms,
        total,
        profile.energy_is_estimate,
        time_us,
        cores,
        ann_reference(sizes),
    )


def profile_network(
    times: list[np.ndarray], ir: NetworkIR, early_stop: bool, target: str, profile: HardwareProfile
) -> Profile:
    """:func:`build` for a run of ``ir``: layer names, sizes, ``T`` and cores (from the mapper) come from the IR."""
    from ttfs_deploy.compiler.mapping import map_network

    names = [layer.name for layer in ir.chain()]
    return build(times, names, ir.sizes, ir.T, early_stop, target, profile, map_network(ir, profile).cores)
