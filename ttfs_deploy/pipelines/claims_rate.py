"""TTFS against rate coding on whole networks: the claims report's whole-network table (issue 12).

Every model runs compiled on the golden simulator over the same digits: TTFS models with early stop
(their decision is causal: the first output spike), rate-coded LIF models over their whole window
(decision step = the oracle bound, with the causal lead rule beside it). Counts and energy come from
the profiler (:mod:`ttfs_deploy.measure.costs`, :mod:`ttfs_deploy.measure.rate_costs`) under each
hardware profile; the same-shape dense ANN's MACs from :func:`ttfs_deploy.measure.costs.ann_reference`.
"""

from __future__ import annotations

import pathlib

import numpy as np

from ttfs_deploy.compiler.hardware import load_profile
from ttfs_deploy.data import Dataset
from ttfs_deploy.measure.costs import network_costs
from ttfs_deploy.pipelines.run import run_target
from ttfs_deploy.semantics.rate import spikes_until
from ttfs_deploy.semantics.readout import lead_decision_steps

LEADS = 6  # causal rules swept in the claims table: a lead of 1..LEADS spikes

__all__ = ["SPIKES_PLOT", "whole_network_row", "whole_network", "whole_network_markdown", "plot_spikes_per_step"]


def whole_network_row(model: pathlib.Path, data: Dataset, profiles: list[str], rate: bool) -> dict:
    """One model's row: accuracy, spikes, ops, updates, decision latency, energy per profile, ANN MACs."""
    outcome = run_target(str(model), "golden", data, profile=profiles[0], early_stop=None if rate else True)
    result = outcome.result.to_json()
    row = {
        "model": model.name,
        "coding": "rate (LIF)" if rate else "TTFS (fire-once)",
        "T": result["T"],
        "accuracy": result["accuracy"],
        "accuracy_strict": result["accuracy_strict"],
        "mean_decision_step": result["mean_decision_step"],
        "mean_spikes_until_decision": result["mean_spikes_until_decision"],
        "mean_spikes_total": result["mean_spikes_total"],
        "causal": result.get("causal"),
        "causal_by_lead": _lead_sweep(outcome.times, data.labels) if rate else None,
        "energy_nj": {},
    }
    for name in profiles:
        prof = network_costs(outcome.times, outcome.ir, not rate, "golden", load_profile(name))
        row["synaptic_ops"] = sum(layer.synaptic_ops for layer in prof.layers)
        row["neuron_updates"] = sum(layer.active_updates + layer.idle_updates for layer in prof.layers)
        row["window_steps"] = prof.mean_window_steps
        row["ann_macs"] = prof.ann["macs"]
        row["spikes_per_step"] = [sum(values) for values in zip(*(layer.spikes_per_step for layer in prof.layers))]
        row["energy_nj"][name] = {"value": prof.energy_total_nj, "estimate": prof.energy_is_estimate}
    return row


def _lead_sweep(rasters: list, labels) -> list[dict]:
    """The causal lead-``k`` rule for k = 1..LEADS: accuracy, mean decision step, spikes until it."""
    L, T = len(rasters) - 1, rasters[0].shape[1]
    rows = []
    for lead in range(1, LEADS + 1):
        prediction, local = lead_decision_steps(rasters[-1], lead)
        decision = np.where(prediction >= 0, local + L, T + L)
        rows.append(
            {
                "lead": lead,
                "accuracy": float(np.mean(prediction == labels)),
                "mean_decision_step": float(decision.mean()),
                "mean_spikes_until_decision": float(spikes_until(rasters, decision).mean()),
            }
        )
    return rows


def whole_network(
    ttfs_models: list[pathlib.Path], rate_models: list[pathlib.Path], data: Dataset, profiles: list[str]
) -> list[dict]:
    """Rows for every TTFS and rate-coded model (same digits, same profiles)."""
    return [whole_network_row(m, data, profiles, False) for m in ttfs_models] + [
        whole_network_row(m, data, profiles, True) for m in rate_models
    ]


def whole_network_markdown(rows: list[dict]) -> list[str]:
    """The whole-network table as Markdown lines."""
    if not rows:
        return []
    profiles = list(rows[0]["energy_nj"])
    lines = [
        "",
        "## Whole networks: TTFS against rate coding (golden, compiled, same digits)",
        "",
        "| model | coding | T | accuracy | decision step | spikes to decision | spikes per inference | "
        "synaptic ops | neuron updates | window | "
        + " | ".join(f"energy {p} (nJ)" for p in profiles)
        + " | ANN MACs |",
        "|---|---|---|---|---|---|---|---|---|---|" + "---|" * len(profiles) + "---|",
    ]
    for r in rows:
        energy = " | ".join(
            "unknown" if e["value"] is None else f"{e['value']:,.0f}{' (est.)' if e['estimate'] else ''}"
            for e in r["energy_nj"].values()
        )
        lines.append(
            f"| {r['model']} | {r['coding']} | {r['T']} | {r['accuracy']:.1%} | {r['mean_decision_step']:.1f} | "
            f"{r['mean_spikes_until_decision']:,.0f} | {r['mean_spikes_total']:,.0f} | {r['synaptic_ops']:,.0f} | "
            f"{r['neuron_updates']:,.0f} | {r['window_steps']:.1f} | {energy} | {r['ann_macs']:,} |"
        )
    causal = [r for r in rows if r["causal"]]
    if causal:
        lines += [
            "",
            "Rate-coded decision steps: the table's is the oracle bound (the running arg-max never "
            "changes after it); a chip can only apply a causal rule:",
            "",
            "| model | causal rule | accuracy | decision step | spikes to decision |",
            "|---|---|---|---|---|",
        ]
        for r in causal:
            for c in r["causal_by_lead"] or []:
                lines.append(
                    f"| {r['model']} | lead of {c['lead']} spikes (else the window's arg-max) | {c['accuracy']:.1%} | "
                    f"{c['mean_decision_step']:.1f} | {c['mean_spikes_until_decision']:,.0f} |"
                )
    lines += ["", "![spikes per step, both codings](spikes_per_step.png) (`claims --out` writes it)"]
    lines += [
        "",
        "TTFS rows stop at the first output spike (early stop; ops and updates until then); rate rows "
        "run the whole window (T + L steps). Energy: synaptic ops and neuron updates priced by each "
        "profile; Loihi 2 figures are estimates from Loihi 1.",
    ]
    return lines


SPIKES_PLOT = "spikes_per_step.png"


def plot_spikes_per_step(rows: list[dict], path: pathlib.Path) -> None:
    """Mean spikes (all layers) per hardware step from the sample's start, every model on one axis
    (TTFS until the decision, as run with early stop; rate over its whole window), log-scaled steps."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    for r in rows:
        steps = range(len(r["spikes_per_step"]))
        ax.plot([s + 1 for s in steps], r["spikes_per_step"], label=f"{r['model']} ({r['coding']}, T = {r['T']})")
    ax.set_xscale("log")
    ax.set_xlabel("hardware step from the sample's start + 1 (log)")
    ax.set_ylabel("mean spikes per step (input + hidden + output)")
    ax.set_title("Spikes per step: TTFS against rate coding")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
