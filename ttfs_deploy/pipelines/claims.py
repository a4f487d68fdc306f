"""Seed 000's sparsity and latency claims, measured on this project's models and data.

Every figure here is computed from data and spike traces at run time; the paper's figures are
constants labelled as the paper's (Kotariya & Ganguly 2021, Sec. 3.1-3.2; full 60k MNIST, T = 256).
"""

from __future__ import annotations

import pathlib

import numpy as np

from ttfs_deploy.coding import count_spikes_rate, count_spikes_ttfs
from ttfs_deploy.compiler.hardware import load_profile
from ttfs_deploy.data import Dataset
from ttfs_deploy.measure.costs import network_costs
from ttfs_deploy.pipelines.run import run_target

__all__ = ["PAPER", "input_coding", "model_claims", "claims"]

PAPER = {  # seed 000's figures, not measured here
    "input_spikes": {"rate_count": 173745, "rate_inverted": 26175, "ttfs": 784},
    "aggressive": {"accuracy": 0.967, "mean_decision_step": 59.7, "mean_spikes_until_decision": 194.0},
    "s4nn": {"accuracy": 0.974, "mean_decision_step": 89.7, "mean_spikes_until_decision": 218.3},
}


def input_coding(data: Dataset, T: int = 256) -> dict:
    """Mean input spikes per image under count coding, inverted count coding and TTFS (both zero policies)."""
    return {
        "rate_count": float(count_spikes_rate(data.images).mean()),
        "rate_inverted": float(count_spikes_rate(data.images, inverted=True).mean()),
        "ttfs": float(count_spikes_ttfs(data.images, T, "last").mean()),
        "ttfs_silent_zeros": float(count_spikes_ttfs(data.images, T, "silent").mean()),
    }


def _per_digit(samples: list[dict]) -> dict:
    out = {}
    for digit in sorted({s["label"] for s in samples}):
        rows = [s for s in samples if s["label"] == digit]
        out[str(digit)] = {
            "n": len(rows),
            "accuracy": float(np.mean([s["prediction"] == s["label"] for s in rows])),
            "mean_decision_step": float(np.mean([s["decision_step"] for s in rows])),
            "mean_spikes_until_decision": float(np.mean([s["spikes_until_decision"] for s in rows])),
        }
    return out


def model_claims(model: pathlib.Path, data: Dataset, profiles: list[str], rate_input_spikes: float) -> dict:
    """Accuracy, latency, spikes, fraction fired, per digit, and energy per profile for one model."""
    outcome = run_target(str(model), "golden", data, profile=profiles[0], early_stop=True)
    result = outcome.result.to_json()
    ir = outcome.ir
    neurons = sum(ir.sizes)
    row = {
        "model": model.name,
        "accuracy": result["accuracy"],
        "accuracy_strict": result["accuracy_strict"],
        "mean_decision_step": result["mean_decision_step"],
        "mean_spikes_until_decision": result["mean_spikes_until_decision"],
        # seed 000 counts every input pixel as a neuron that can fire (784 + 400 + 10 = 1194)
        "fraction_of_neurons_fired_until_decision": result["mean_spikes_until_decision"] / neurons,
        "neurons": neurons,
        "per_digit": _per_digit(result["samples"]),
        "energy": {},
    }
    for name in profiles:
        hw = load_profile(name)
        prof = network_costs(outcome.times, ir, True, "golden", hw)
        syn = hw.energy_pj.get("synaptic_spike_op")
        row["energy"][name] = {
            "ttfs_nj_early_stop": prof.energy_total_nj,
            "estimate": hw.energy_is_estimate,
            # input layer alone under count coding: every input spike is a synaptic op to each hidden neuron
            "rate_input_synaptic_ops_nj": None if syn is None else rate_input_spikes * ir.sizes[1] * syn.value / 1000,
            "ann_fp32_nj": prof.ann["energy_fp32_nj"],
            "ann_int8_nj": prof.ann["energy_int8_nj"],
        }
    return row


def claims(models: list[pathlib.Path], data: Dataset, profiles: list[str]) -> dict:
    """The whole claims report as a plain dict (measured figures beside the paper's).

    Rate-coded LIF models (``pipelines.run_rate.is_rate_model``) appear only in ``whole_network``.
    """
    from ttfs_deploy.pipelines.autoencoder import autoencoder_row
    from ttfs_deploy.pipelines.claims_rate import whole_network
    from ttfs_deploy.pipelines.run_rate import rate_task

    coding = input_coding(data)
    tasks = {m: rate_task(m) for m in models}
    rate = [m for m in models if tasks[m] == "classify"]
    ttfs = [m for m in models if tasks[m] is None]
    return {
        "data": data.name,
        "n": len(data.labels),
        "input_spikes_per_image": coding,
        "paper": PAPER,
        "models": [model_claims(m, data, profiles, coding["rate_count"]) for m in ttfs],
        "whole_network": whole_network(ttfs, rate, data, profiles),
        "autoencoders": [autoencoder_row(m, data) for m in models if tasks[m] == "autoencode"],
    }


def markdown(report: dict) -> str:
    """Human-readable claims table (Markdown)."""
    c, p = report["input_spikes_per_image"], report["paper"]
    lines = [
        f"# TTFS vs rate claims (seed 000) on {report['data']} ({report['n']} images)",
        "",
        "## Input spikes per image",
        "",
        "| coding | measured | paper (60k MNIST) |",
        "|---|---|---|",
        f"| count (rate) coding, 255 - p spikes per pixel | {c['rate_count']:,.0f} | {p['input_spikes']['rate_count']:,} |",
        f"| inverted count coding, p spikes per pixel | {c['rate_inverted']:,.0f} | {p['input_spikes']['rate_inverted']:,} |",
        f"| TTFS, black pixels spike at T-1 | {c['ttfs']:,.0f} | {p['input_spikes']['ttfs']} |",
        f"| TTFS, black pixels silent | {c['ttfs_silent_zeros']:,.1f} | — |",
        "",
        "## Models (golden simulator, compiled, early stop)",
        "",
        "| model | accuracy | ties wrong | decision step | spikes until decision | neurons fired | "
        "paper: accuracy / step / spikes |",
        "|---|---|---|---|---|---|---|",
    ]
    for m in report["models"]:
        key = "aggressive" if "aggressive" in m["model"] else "s4nn"
        pp = p[key]
        lines.append(
            f"| {m['model']} | {m['accuracy']:.1%} | {m['accuracy_strict']:.1%} | {m['mean_decision_step']:.1f} | "
            f"{m['mean_spikes_until_decision']:.1f} | {m['fraction_of_neurons_fired_until_decision']:.1%} "
            f"of {m['neurons']} | {pp['accuracy']:.1%} / {pp['mean_decision_step']} / "
            f"{pp['mean_spikes_until_decision']} |"
        )
    lines += [
        "",
        "## Energy per inference (nJ)",
        "",
        "| model | profile | TTFS (early stop) | count-coded input, input synapses only | dense ANN fp32 | ANN int8 |",
        "|---|---|---|---|---|---|",
    ]
    for m in report["models"]:
        for name, e in m["energy"].items():
            tag = " (estimate)" if e["estimate"] else ""
            ttfs = "unknown" if e["ttfs_nj_early_stop"] is None else f"{e['ttfs_nj_early_stop']:,.0f}{tag}"
            rate = (
                "unknown" if e["rate_input_synaptic_ops_nj"] is None else f"{e['rate_input_synaptic_ops_nj']:,.0f}{tag}"
            )
            lines.append(
                f"| {m['model']} | {name} | {ttfs} | {rate} | {e['ann_fp32_nj']:,.0f} | {e['ann_int8_nj']:,.0f} |"
            )
    lines += [
        "",
        "## Per digit",
        "",
        "| model | digit | n | accuracy | decision step | spikes until decision |",
        "|---|---|---|---|---|---|",
    ]
    for m in report["models"]:
        for digit, d in m["per_digit"].items():
            lines.append(
                f"| {m['model']} | {digit} | {d['n']} | {d['accuracy']:.1%} | {d['mean_decision_step']:.1f} | "
                f"{d['mean_spikes_until_decision']:.1f} |"
            )
    from ttfs_deploy.pipelines.autoencoder import autoencoder_markdown
    from ttfs_deploy.pipelines.claims_rate import whole_network_markdown

    lines += whole_network_markdown(report.get("whole_network", []))
    lines += autoencoder_markdown(report.get("autoencoders", []))
    lines += [
        "",
        "Paper figures are Kotariya & Ganguly 2021 (seed 000), full 60k MNIST; everything else is measured "
        "by `ttfs-deploy claims`. Energy: TTFS from the profiler (synaptic ops and neuron updates until the "
        "decision); count-coded input counts only the synaptic ops its input spikes cause in the first layer "
        "(a lower bound); ANN from Horowitz 2014 MAC energies.",
    ]
    return "\n".join(lines) + "\n"
