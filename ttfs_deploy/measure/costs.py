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
  per MAC (Horowitz, ISSCC 2014, 45 nm) — MAC-only, and MAC + weight reads: each weight fetched once
  per inference in 64-bit SRAM words, priced by the smallest of Horowitz's SRAM sizes that holds the
  weights (8 KB: 10 pJ, 32 KB: 20 pJ, 1 MB: 100 pJ per read; larger sets get the 1 MB figure, a lower
  bound). Loihi's per-op figures already include its synapse-memory reads, so the second line is the
  like-for-like one;
* reading: which term dominates, TTFS against both ANN lines, and what would lower the energy.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from ttfs_deploy.compiler.hardware import HardwareProfile
from ttfs_deploy.ir import NetworkIR
from ttfs_deploy.ir.network import layer_sizes
from ttfs_deploy.semantics import decision_steps

__all__ = [
    "ANN_MAC_PJ",
    "SRAM_READ_PJ",
    "reading",
    "LayerCounts",
    "Costs",
    "count",
    "energy",
    "ann_reference",
    "build",
    "price",
    "network_costs",
]

ANN_MAC_PJ = {
    "fp32": (4.6, "Horowitz, ISSCC 2014 (45 nm): fp32 multiply-add"),
    "int8": (0.23, "Horowitz, ISSCC 2014 (45 nm): int8 multiply-add"),
}

# Horowitz, ISSCC 2014 (45 nm): energy of one 64-bit SRAM read by array size (bytes -> pJ)
SRAM_READ_PJ = ((8 * 1024, 10.0), (32 * 1024, 20.0), (1024 * 1024, 100.0))
SRAM_SOURCE = "Horowitz, ISSCC 2014 (45 nm): 64-bit SRAM read, 8 KB 10 pJ / 32 KB 20 pJ / 1 MB 100 pJ"
TERM_WORDS = {
    "synaptic_spike_op": "synaptic ops",
    "neuron_update_active": "active neuron updates",
    "neuron_update_inactive": "idle neuron updates",
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
class Costs:
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
    reading: dict = field(default_factory=dict)  # see :func:`reading`

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


def _weight_reads(n_weights: int, bytes_per_weight: int) -> tuple[int, float, str]:
    """64-bit reads to fetch every weight once, pJ per read, and the SRAM size that figure is for."""
    size = n_weights * bytes_per_weight
    reads = math.ceil(size / 8)
    for capacity, pj in SRAM_READ_PJ:
        if size <= capacity:
            label = f"{capacity // 1024} KB" if capacity < 1024 * 1024 else "1 MB"
            return reads, pj, f"{label} SRAM"
    return reads, SRAM_READ_PJ[-1][1], "1 MB SRAM figure (the weights exceed 1 MB: a lower bound)"


def ann_reference(sizes: list[int], what: str = "the same-shape dense ANN") -> dict:
    """MACs and energy of the dense ANN of layer ``sizes`` (one inference): MAC-only and with weight reads.

    ``what`` names it in the reading (a converted network is compared with the ANN it came from)."""
    macs = sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
    ann = {
        "arch": "-".join(map(str, sizes)),
        "what": what,
        "macs": macs,
        **{f"energy_{kind}_nj": macs * pj / 1000 for kind, (pj, _) in ANN_MAC_PJ.items()},
        "sources": {kind: src for kind, (_, src) in ANN_MAC_PJ.items()} | {"weight_reads": SRAM_SOURCE},
    }
    for kind, nbytes in (("fp32", 4), ("int8", 1)):
        reads, pj, sram = _weight_reads(macs, nbytes)
        ann[f"weight_reads_{kind}"] = {"reads_64bit": reads, "pj_per_read": pj, "sram": sram}
        ann[f"energy_{kind}_with_reads_nj"] = ann[f"energy_{kind}_nj"] + reads * pj / 1000
    return ann


def reading(layers: list[dict], terms: dict, total_nj: float | None, ann: dict, window: float, T: int) -> dict:
    """What the energy figures say: TTFS against the ANN, the dominant term, and what would lower it."""
    if total_nj is None or total_nj <= 0:
        return {"text": ["energy unknown under this profile: no reading"]}
    shares = {key: term["value"] / 1000 / total_nj for key, term in terms.items()}
    dominant = max(shares, key=shares.get)
    syn_pj = terms["synaptic_spike_op"]["per_op_pj"]
    input_share = layers[0]["synaptic_ops"] * syn_pj / 1000 / total_nj if len(layers) > 1 else 0.0
    neurons = sum(layer["size"] for layer in layers[1:])
    fan_out = layers[1]["size"] if len(layers) > 1 else 0
    ratios = {
        f"{kind}_{line}": total_nj / ann[f"energy_{kind}{suffix}_nj"]
        for kind in ("fp32", "int8")
        for line, suffix in (("mac_only", ""), ("with_reads", "_with_reads"))
    }
    step_pj = neurons * terms["neuron_update_inactive"]["per_op_pj"]
    text = [
        f"TTFS {total_nj:,.0f} nJ per inference against {ann['what']} ({ann['arch']}): {ann['energy_fp32_nj']:,.0f} nJ "
        f"fp32 / {ann['energy_int8_nj']:,.0f} nJ int8 counting MACs only ({ratios['fp32_mac_only']:.2f}x / "
        f"{ratios['int8_mac_only']:.1f}x the ANN), {ann['energy_fp32_with_reads_nj']:,.0f} nJ fp32 / "
        f"{ann['energy_int8_with_reads_nj']:,.0f} nJ int8 with each weight read once from SRAM "
        f"({ratios['fp32_with_reads']:.2f}x / {ratios['int8_with_reads']:.2f}x). Loihi's per-op figures include "
        "its synapse-memory reads, so the with-reads line is the like-for-like one.",
        f"Largest term: {TERM_WORDS[dominant]}, {shares[dominant]:.0%} of the total ("
        + ", ".join(f"{TERM_WORDS[k]} {v:.0%}" for k, v in shares.items() if k != dominant)
        + f"). Input spikes cause {input_share:.0%} of the total: each reaches all {fan_out} neurons of the "
        f"first layer. Idle updates: all {neurons} fire-once neurons are updated in every step of the "
        f"{window:.1f}-step window, also in steps with no input.",
        f"What would lower it: earlier decisions (each step of the window costs about {step_pj / 1000:,.1f} nJ "
        f"of neuron updates{'' if window < T else '; this run simulated all T steps, early stop ends at the decision'}),"
        f" fewer idle updates (a chip that skips neurons without input, or fewer neurons), fewer input spikes "
        f"(each costs {fan_out} synaptic ops = {fan_out * syn_pj / 1000:.1f} nJ).",
    ]
    return {
        "dominant_term": dominant,
        "shares": shares,
        "input_spike_share": input_share,
        "ratio_to_ann": ratios,
        "nj_per_window_step": step_pj / 1000,
        "text": text,
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
    ann_sizes: list[int] | None = None,
) -> Costs:
    """Count a trace and price it under ``profile``; ``ann_sizes``: the ANN to compare with, when the
    network was converted from one of another shape (default: the same shape)."""
    layers, window = count(times, names, T, early_stop)
    ann = ann_reference(sizes) if ann_sizes is None else ann_reference(ann_sizes, "the ANN it was converted from")
    return price(layers, window, times[0].shape[0], T, early_stop, target, profile, cores, ann)


def price(
    layers: list[dict],
    window: float,
    n: int,
    T: int,
    early_stop: bool,
    target: str,
    profile: HardwareProfile,
    cores: int,
    ann: dict,
    words=reading,
) -> Costs:
    """:class:`Costs` of counted ``layers`` (over ``n`` samples, mean ``window`` steps) under ``profile``;
    ``words`` writes the reading (TTFS wording by default; rate networks pass their own)."""
    terms, total, time_us = energy(layers, profile, cores)
    return Costs(
        target,
        profile.name,
        n,
        T,
        early_stop,
        window,
        [LayerCounts(**layer) for layer in layers],
        terms,
        total,
        profile.energy_is_estimate,
        time_us,
        cores,
        ann,
        words(layers, terms, total, ann, window, T),
    )


def network_costs(
    times: list[np.ndarray], ir: NetworkIR, early_stop: bool, target: str, profile: HardwareProfile
) -> Costs:
    """:func:`build` for a run of ``ir``: layer names, sizes, ``T`` and cores (from the mapper) come from the IR."""
    from ttfs_deploy.compiler.mapping import map_network

    if ir.neuron == "lif":  # rasters, not spike times
        from ttfs_deploy.measure.rate_costs import profile_rate_network

        return profile_rate_network(times, ir, target, profile)
    names = [layer.name for layer in ir.chain()]
    source = layer_sizes(ir.meta.get("ann_sizes"))  # set by load_network for a `ttfs-deploy convert` checkpoint
    cores = map_network(ir, profile).cores
    return build(times, names, ir.sizes, ir.T, early_stop, target, profile, cores, source)
