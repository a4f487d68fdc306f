"""Profile reports: ``report.json``, ``report.md`` and ``report.html`` with plots (matplotlib, Agg).

Plots: spike raster of the first sample, spikes per step, cumulative spikes and accuracy-if-stopped
at each step, and energy by operation and by layer.
"""

from __future__ import annotations

import base64
import html
import json
import pathlib

import numpy as np

__all__ = ["write_report", "PLOTS"]

PLOTS = ("raster.png", "spikes_per_step.png", "cumulative.png", "energy.png")


def _accuracy_if_stopped(samples: list[dict], T: int) -> np.ndarray:
    """Accuracy at each step s if every sample were read out at s (undecided samples count wrong)."""
    steps = np.arange(T + 1)
    decided = np.array([[s["decision_step"] <= t and s["prediction"] == s["label"] for t in steps] for s in samples])
    return decided.mean(axis=0) if len(samples) else np.zeros(T + 1)


def _plots(out: pathlib.Path, times: list[np.ndarray], names: list[str], profile: dict, run: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    T = profile["T"]
    fig, ax = plt.subplots(figsize=(7, 4))
    offset = 0
    for k, (t, name) in enumerate(zip(times, names)):
        if t.ndim == 3:  # a rate-coded (n, T, size) raster: the first sample's spikes at their hardware steps
            steps, fired = np.nonzero(t[0])
            ax.scatter(steps + k, fired + offset, s=4, label=f"{name} ({len(fired)} spikes)")
            offset += t.shape[2]
            continue
        row = t[0]
        fired = np.nonzero(row < T)[0]
        ax.scatter(row[fired], fired + offset, s=4, label=f"{name} ({len(fired)} spikes)")
        offset += len(row)
    window = max(T, len(profile["layers"][0]["spikes_per_step"]))  # rate: T + layers hardware steps
    ax.set(xlabel="step", ylabel="neuron (layers stacked)", title="spike raster, first sample", xlim=(0, window))
    ax.legend(loc="upper right", fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "raster.png", dpi=100)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(7, 3.5))
    for layer in profile["layers"]:
        ax.plot(layer["spikes_per_step"], label=layer["name"])
    ax.set(xlabel="step", ylabel="mean spikes", title="spikes per step (mean per inference)", yscale="symlog")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "spikes_per_step.png", dpi=100)
    plt.close(fig)

    total = np.sum([layer["spikes_per_step"] for layer in profile["layers"]], axis=0)
    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.plot(np.cumsum(total), color="tab:blue")
    ax.set(xlabel="step", ylabel="cumulative spikes (mean)", title="cumulative spikes and accuracy if stopped")
    ax2 = ax.twinx()
    ax2.plot(_accuracy_if_stopped(run["samples"], T)[:T], color="tab:red")
    ax2.set_ylabel("accuracy if read out at this step", color="tab:red")
    fig.tight_layout()
    fig.savefig(out / "cumulative.png", dpi=100)
    plt.close(fig)

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(8, 3.5))
    terms = profile["energy_pj"]
    a1.bar(list(terms), [t["value"] or 0 for t in terms.values()])
    a1.set(title="energy by operation (pJ)")
    a1.tick_params(axis="x", labelsize=6, rotation=20)
    per_layer = []
    for layer in profile["layers"]:
        value = 0.0
        for key, ops_key in (
            ("synaptic_spike_op", "synaptic_ops"),
            ("neuron_update_active", "active_updates"),
            ("neuron_update_inactive", "idle_updates"),
        ):
            value += layer[ops_key] * (terms[key]["per_op_pj"] or 0)
        per_layer.append(value)
    a2.bar([layer["name"] for layer in profile["layers"]], per_layer)
    a2.set(title="energy by layer (pJ)")
    fig.tight_layout()
    fig.savefig(out / "energy.png", dpi=100)
    plt.close(fig)


def _markdown(report: dict) -> str:
    run, prof = report["run"], report["profile"]
    lines = [
        f"# Spike and energy profile: {report['model']}",
        "",
        f"Target `{prof['target']}`, profile `{prof['profile']}`, data `{report['data']}` "
        f"({prof['n']} samples), T = {prof['T']}, early stop: {prof['early_stop']}.",
        "",
        f"Command: `{report['command']}`",
        "",
        "| figure | value |",
        "|---|---|",
        f"| accuracy | {run['accuracy']:.2%} (ties wrong: {run['accuracy_strict']:.2%}) |",
        f"| mean decision step | {run['mean_decision_step']:.1f} |",
        f"| mean spikes until decision | {run['mean_spikes_until_decision']:.1f} |",
        f"| mean spikes per inference | {run['mean_spikes_total']:.1f} |",
        f"| mean simulated window (steps) | {prof['mean_window_steps']:.1f} |",
        f"| Loihi cores used (profile `{prof['profile']}`) | {prof['cores']} |",
    ]
    energy = (
        "unknown (a per-op figure is missing)"
        if prof["energy_total_nj"] is None
        else f"{prof['energy_total_nj']:.1f} nJ"
        + (" (ESTIMATE: per-op figures of another chip, see Energy terms)" if prof["energy_is_estimate"] else "")
    )
    lines.append(f"| energy per inference | {energy} |")
    if prof["time_us"] is not None:
        lines.append(f"| compute time per inference (estimate, ops x per-op time / cores) | {prof['time_us']:.2f} µs |")
    ann = prof["ann"]
    with_reads = (
        f"; with each weight read once {ann['energy_fp32_with_reads_nj']:,.1f} nJ fp32, "
        f"{ann['energy_int8_with_reads_nj']:,.1f} nJ int8"
        if "energy_fp32_with_reads_nj" in ann
        else ""
    )
    lines += [
        f"| dense ANN, same shape | {ann['macs']:,} MACs: {ann['energy_fp32_nj']:.1f} nJ fp32, "
        f"{ann['energy_int8_nj']:.1f} nJ int8 counting MACs only{with_reads} |",
        "",
        "## Per layer (mean per inference)",
        "",
        "| layer | neurons | spikes | fired | synaptic ops | active updates | idle updates |",
        "|---|---|---|---|---|---|---|",
    ]
    for layer in prof["layers"]:
        lines.append(
            f"| {layer['name']} | {layer['size']} | {layer['spikes']:.1f} | {layer['fraction_fired']:.1%} | "
            f"{layer['synaptic_ops']:.0f} | {layer['active_updates']:.0f} | {layer['idle_updates']:.0f} |"
        )
    lines += ["", "## Energy terms", "", "| operation | ops | pJ per op | pJ | source |", "|---|---|---|---|---|"]
    for key, term in prof["energy_pj"].items():
        value = "—" if term["value"] is None else f"{term['value']:.0f}"
        lines.append(f"| {key} | {term['ops']:.0f} | {term['per_op_pj']} | {value} | {term['source']} |")
    lines += [
        "",
        f"ANN figures: {ann['sources']['fp32']}; {ann['sources']['int8']}; weight reads: "
        f"{ann['sources'].get('weight_reads', 'not counted')}.",
        "",
    ]
    if prof.get("reading", {}).get("text"):
        lines += ["## What the energy figures say", ""] + [f"- {line}" for line in prof["reading"]["text"]] + [""]
    lines += [f"![{name}]({name})" for name in PLOTS]
    return "\n".join(lines) + "\n"


def _html(markdown: str, out: pathlib.Path) -> str:
    body = []
    for line in markdown.splitlines():
        if line.startswith("!["):
            name = line[line.index("(") + 1 : -1]
            data = base64.b64encode((out / name).read_bytes()).decode()
            body.append(f'<img alt="{html.escape(name)}" src="data:image/png;base64,{data}">')
        elif line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            body.append(f"<h{level}>{_inline(line.lstrip('# '))}</h{level}>")
        elif line.startswith("|---"):
            continue
        elif line.startswith("|"):
            cells = "".join(f"<td>{_inline(c.strip())}</td>" for c in line.strip("|").split("|"))
            body.append(f"<tr>{cells}</tr>")
        elif line.startswith("- "):
            body.append(f"<p>&bull; {_inline(line[2:])}</p>")
        elif line:
            body.append(f"<p>{_inline(line)}</p>")
    text = "\n".join(body)
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>ttfs-deploy profile</title>"
        "<style>body{font-family:sans-serif;max-width:60em;margin:auto}td{border:1px solid #ccc;padding:2px 6px}"
        "table{border-collapse:collapse;margin:1em 0}</style></head><body>\n" + _tables(text) + "\n</body></html>\n"
    )


def _inline(text: str) -> str:
    """Escape for HTML and turn Markdown `code` spans into <code> (no literal backticks in the page)."""
    parts = html.escape(text).split("`")
    if len(parts) % 2 == 0:  # an unmatched backtick: leave the text as it is
        return html.escape(text)
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))


def _tables(text: str) -> str:
    """Wrap each run of table rows in its own <table>."""
    out, in_table = [], False
    for line in text.splitlines():
        is_row = line.startswith("<tr>")
        if is_row and not in_table:
            out.append("<table>")
        if not is_row and in_table:
            out.append("</table>")
        in_table = is_row
        out.append(line)
    if in_table:
        out.append("</table>")
    return "\n".join(out)


def write_report(
    out: str | pathlib.Path, report: dict, times: list[np.ndarray], names: list[str]
) -> list[pathlib.Path]:
    """Write report.json, report.md, report.html and the PNG plots into ``out``; returns the paths."""
    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    _plots(out, times, names, report["profile"], report["run"])
    (out / "report.json").write_text(json.dumps(report, indent=1))
    markdown = _markdown(report)
    (out / "report.md").write_text(markdown)
    (out / "report.html").write_text(_html(markdown, out))
    return [out / name for name in ("report.json", "report.md", "report.html", *PLOTS)]
