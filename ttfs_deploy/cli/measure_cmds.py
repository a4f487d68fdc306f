"""``profile``, ``budget check``, ``claims`` and ``trace``: what a run cost and whether it changed."""

from __future__ import annotations

import argparse
import pathlib
import shlex
import sys

from ttfs_deploy.cli.common import (
    ON_THE_FLY,
    POSITIVE,
    Parser,
    check_output,
    check_output_folder,
    json_text,
    limit,
    run_args,
    run_model,
)


def _profiled(args: argparse.Namespace, check=None):
    """Run ``args.model`` on ``args.target`` and cost the trace; returns (report dict, outcome, names, costs).

    The report dict is the JSON edge (printing, report files); budgets take the typed ``outcome.result``
    and ``costs``."""
    from ttfs_deploy.compiler.hardware import load_profile
    from ttfs_deploy.measure.costs import network_costs

    dataset, outcome = run_model(args, check)
    hw = load_profile(outcome.profile)
    costs = network_costs(outcome.times, outcome.ir, outcome.early_stop, args.target, hw)
    prof = costs.to_json()
    names = [layer.name for layer in outcome.ir.chain()]
    report = {
        "model": str(args.model),
        "data": dataset.name,
        "command": " ".join(["ttfs-deploy", *map(shlex.quote, sys.argv[1:])]),
        "run": outcome.result.to_json() | {"early_stop": outcome.early_stop},
        "profile": prof,
        "note": outcome.note,
    }
    return report, outcome, names, costs


def cmd_profile(args: argparse.Namespace) -> int:
    from ttfs_deploy.fileio import atomic_dir
    from ttfs_deploy.measure.report import PLOTS, write_report

    if args.out:  # checked before the run; the report appears whole or not at all
        check_output_folder(args.out, ("report.json", "report.md", "report.html", *PLOTS))
    report, outcome, names, _ = _profiled(args)
    written = []
    if args.out:
        written = atomic_dir(args.out, lambda folder: write_report(folder, report, outcome.times, names))
    if args.json:
        summary = {k: v for k, v in report.items() if k != "run"}
        summary["run"] = {k: v for k, v in report["run"].items() if k != "samples"}
        print(json_text(summary | {"written": [str(p) for p in written]}))
        return 0
    prof, run = report["profile"], report["run"]
    print(
        f"{args.model} on {report['data']} (target {args.target}, profile {prof['profile']}, n = {prof['n']}, "
        f"early stop {prof['early_stop']}):"
    )
    if report["note"]:
        print(f"  note: {report['note']}")
    print(
        f"  accuracy {run['accuracy']:.2%}, mean decision step {run['mean_decision_step']:.1f}, "
        f"spikes until decision {run['mean_spikes_until_decision']:.1f}, per inference {run['mean_spikes_total']:.1f}"
    )
    print(f"  {'layer':<8}{'neurons':>8}{'spikes':>9}{'fired':>8}{'syn ops':>10}{'active upd':>12}{'idle upd':>10}")
    for layer in prof["layers"]:
        print(
            f"  {layer['name']:<8}{layer['size']:>8}{layer['spikes']:>9.1f}{layer['fraction_fired']:>8.1%}"
            f"{layer['synaptic_ops']:>10.0f}{layer['active_updates']:>12.0f}{layer['idle_updates']:>10.0f}"
        )
    if prof["energy_total_nj"] is None:
        print("  energy: unknown (the profile lacks a per-op figure)")
    else:
        tag = f" ({_estimate_of(prof['energy_pj'])})" if prof["energy_is_estimate"] else ""
        print(f"  energy per inference: {prof['energy_total_nj']:.1f} nJ{tag}")
        for key, term in prof["energy_pj"].items():
            print(f"    {key:<24}{term['ops']:>10.0f} ops x {term['per_op_pj']} pJ  [{term['source']}]")
    ann = prof["ann"]
    print(
        f"  dense ANN of the same shape: {ann['macs']:,} MACs = {ann['energy_fp32_nj']:.1f} nJ (fp32) / "
        f"{ann['energy_int8_nj']:.1f} nJ (int8) MAC-only [{ann['sources']['fp32']}]; with each weight read once: "
        f"{ann['energy_fp32_with_reads_nj']:.1f} / {ann['energy_int8_with_reads_nj']:.1f} nJ "
        f"[{ann['sources']['weight_reads']}]"
    )
    if prof["reading"].get("text"):
        print("  reading:")
        for line in prof["reading"]["text"]:
            print(f"    {line}")
    for path in written:
        print(f"  wrote {path}")
    return 0


def _estimate_of(terms: dict) -> str:
    """The estimate's source, said once: 'ESTIMATE from Loihi 1, ...' (never 'ESTIMATE: ESTIMATE ...')."""
    source = terms["synaptic_spike_op"]["source"]
    return source if source.upper().startswith("ESTIMATE") else f"ESTIMATE: {source}"


def _run_facts(report: dict) -> dict:
    """What a budget or profile result was measured on: model, data, target, profile, samples, early stop."""
    prof = report["profile"]
    return {
        "model": report["model"],
        "data": report["data"],
        "target": prof["target"],
        "profile": prof["profile"],
        "n": prof["n"],
        "early_stop": prof["early_stop"],
    }


def _facts_line(facts: dict) -> str:
    return (
        f"{facts['model']} on {facts['data']} (target {facts['target']}, profile {facts['profile']}, "
        f"n = {facts['n']}, early stop {facts['early_stop']})"
    )


def cmd_budget_check(args: argparse.Namespace) -> int:
    from ttfs_deploy.measure.budget import check_budget, load_budget

    budget = load_budget(args.budget)
    report, outcome, _, costs = _profiled(args, lambda ir: budget.check_layers([layer.name for layer in ir.chain()]))
    checks = check_budget(budget, outcome.result, costs)
    facts = _run_facts(report)
    passed = all(c.passed for c in checks)
    if args.json:
        rows = [
            {"name": c.name, "limit": c.limit, "measured": _round(c.measured), "kind": c.kind, "passed": c.passed}
            for c in checks
        ]
        print(json_text({"passed": passed, "checks": rows, **facts, "note": report["note"]}))
    else:
        print(f"{args.budget} against {_facts_line(facts)}:")
        if report["note"]:
            print(f"note: {report['note']}")
        print(f"{'limit':<30}{'budget':>12}{'measured':>12}  result")
        for c in checks:
            measured = "unknown" if c.measured is None else f"{c.measured:.4g}"
            print(f"{c.name:<30}{c.limit:>12.4g}{measured:>12}  {'pass' if c.passed else 'FAIL'}")
        print("budget " + ("met" if passed else "NOT met"))
    return 0 if passed else 1


def _round(value: float | None) -> float | None:
    """A measured float for JSON without binary noise (0.81, not 0.8099999999999999)."""
    return None if value is None else float(f"{value:.12g}")


def _margin(text: str) -> float:
    try:
        value = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a margin such as 10% or 0.1, got {text!r}") from None
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"margin must be at least 0 % and under 100 %, got {text!r}")
    return value


def cmd_budget_init(args: argparse.Namespace) -> int:
    from ttfs_deploy.measure.budget import budget_from_run, load_budget, write_budget

    out = check_output(args.output)
    report, outcome, _, costs = _profiled(args)
    budget = budget_from_run(outcome.result, costs, args.margin)
    facts = _run_facts(report)
    run, prof = report["run"], report["profile"]
    energy = "unknown" if prof["energy_total_nj"] is None else f"{prof['energy_total_nj']:,.0f} nJ"
    comments = [
        f"Spike budget written by `{report['command']}`",
        f"from a measured run: {_facts_line(facts)}.",
        f"Measured: {run['mean_spikes_total']:.1f} spikes per inference, {run['mean_spikes_until_decision']:.1f} "
        f"until the decision, decision step {run['mean_decision_step']:.1f}, {energy}, accuracy {run['accuracy']:.1%}.",
        f"Limits: measured x (1 + {args.margin:.0%}); min_accuracy: measured x (1 - {args.margin:.0%}).",
    ]
    write_budget(out, budget, comments)
    load_budget(out)  # what we wrote reads back as a valid budget
    if args.json:
        print(json_text({"output": str(out), "margin": args.margin, **facts, **budget.to_file_dict()}))
    else:
        print(f"wrote {out} from {_facts_line(facts)}, margin {args.margin:.0%}:")
        for key, value in budget.to_file_dict()["budget"].items():
            print(f"  {key}: {value}")
    return 0


def cmd_claims(args: argparse.Namespace) -> int:
    from ttfs_deploy import data as data_mod
    from ttfs_deploy.compiler.hardware import load_profile
    from ttfs_deploy.errors import UsageError
    from ttfs_deploy.fileio import atomic_dir, regular_file
    from ttfs_deploy.limits import MAX_CHECKPOINT_BYTES
    from ttfs_deploy.models import SHIPPED_DIR
    from ttfs_deploy.pipelines import claims as claims_mod
    from ttfs_deploy.pipelines.claims_rate import SPIKES_PLOT, plot_spikes_per_step

    # the MNIST models share --data; ae-fashion-rate is measured on Fashion-MNIST (models/ae-fashion-rate.md)
    shipped = sorted(SHIPPED_DIR.glob("mnist-*.pt")) + sorted(SHIPPED_DIR.glob("ae-mnist-*.pt"))
    models = [pathlib.Path(m) for m in args.models] if args.models else shipped
    for name in args.profiles.split(","):  # every input and the output folder checked before the work
        load_profile(name)
    for model in models:
        regular_file(model, MAX_CHECKPOINT_BYTES, UsageError, "model")
    if args.out:
        check_output_folder(args.out, ("claims.json", "claims.md", SPIKES_PLOT))
    dataset = limit(data_mod.load(args.data), args.limit)
    report = claims_mod.claims(models, dataset, args.profiles.split(","))
    text = claims_mod.markdown(report)
    if args.out:

        def write(folder: pathlib.Path) -> list[pathlib.Path]:
            (folder / "claims.json").write_text(json_text(report, indent=1))
            (folder / "claims.md").write_text(text)
            if not report["whole_network"]:
                return [folder / "claims.json", folder / "claims.md"]
            plot_spikes_per_step(report["whole_network"], folder / SPIKES_PLOT)
            return [folder / "claims.json", folder / "claims.md", folder / SPIKES_PLOT]

        atomic_dir(args.out, write)
    if args.json:
        print(json_text(report))
    else:
        print(text)
        if args.out:
            print(f"wrote {pathlib.Path(args.out) / 'claims.json'} and claims.md")
    return 0


def cmd_trace_record(args: argparse.Namespace) -> int:
    from ttfs_deploy.measure.trace import save_trace

    out = check_output(args.output, inputs=[args.model])
    _, outcome = run_model(args)
    save_trace(out, outcome.trace())
    summary = {
        "output": str(out),
        "target": args.target,
        "n": outcome.result.n,
        "early_stop": outcome.early_stop,
        "accuracy": outcome.result.accuracy,
        "profile": outcome.profile,
        "note": outcome.note,
    }
    if args.json:
        print(json_text(summary))
        return 0
    print(
        f"recorded {outcome.result.n} samples on {args.target} (profile {outcome.profile}, early stop "
        f"{outcome.early_stop}, accuracy {outcome.result.accuracy:.2%}) -> {out}"
    )
    if outcome.note:
        print(f"  note: {outcome.note}")
    return 0


def cmd_trace_diff(args: argparse.Namespace) -> int:
    from ttfs_deploy.measure.trace import diff_traces, load_trace

    diff = diff_traces(load_trace(args.a), load_trace(args.b))
    if args.json:
        print(
            json_text(
                {
                    "equal": diff.equal,
                    "first": diff.first,
                    "samples_differing": diff.samples_differing,
                    "spikes_differing": diff.spikes_differing,
                    "predictions_differing": diff.predictions_differing,
                    "decision_steps_differing": diff.decision_steps_differing,
                    "n": diff.n,
                    "shape_problem": diff.shape_problem,
                    "view": diff.view,
                    "first_decision_steps": diff.first_decision,
                }
            )
        )
    else:
        print(diff.message())
    return 0 if diff.equal else 1


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Add this module's commands to the top-level parser."""
    from ttfs_deploy.data import DATA_SPECS

    def profiled_args(p):
        run_args(
            p, ("golden", "loihi-sim"), "golden", None, "hardware profile for compiling and energy (see `targets`)"
        )

    p = sub.add_parser(
        "profile",
        help="count spikes, synaptic ops and neuron updates; estimate energy",
        description="Profile a run: per-layer and per-step counts from the spike trace, energy and "
        "time per inference from the hardware profile, and a dense-ANN comparison.",
    )
    p.add_argument("model", help="checkpoint (.pt, compiled as `compile` does) or artifact (.ttfs)")
    profiled_args(p)
    p.add_argument("--out", help="write report.json, report.md, report.html and plots into this folder")
    p.set_defaults(func=cmd_profile)

    p = sub.add_parser(
        "budget",
        help="spike budgets: `budget check BUDGET.yaml MODEL`, `budget init MODEL -o BUDGET.yaml`",
        description="Check a model's run against a spike budget (exit 0 pass, 1 fail, 2 bad input), or "
        "write a budget from a measured run.",
    )
    budget_sub = p.add_subparsers(dest="budget_command", required=True, parser_class=Parser)
    p = budget_sub.add_parser(
        "check",
        help="check a budget file against a run",
        description="Run the model, profile it and compare with every limit in the budget.",
    )
    p.add_argument("budget", help="budget YAML file")
    p.add_argument("model", help="checkpoint (.pt) or artifact (.ttfs)")
    profiled_args(p)
    p.set_defaults(func=cmd_budget_check)
    p = budget_sub.add_parser(
        "init",
        help="write a budget from a measured run, with a margin",
        description="Run the model, profile it and write a budget it meets: every max limit is the measured "
        "mean x (1 + margin), min_accuracy the measured accuracy x (1 - margin), plus max_spikes per layer. "
        "For a HIL suite (early stop on every target) add --early-stop.",
    )
    p.add_argument("model", help="checkpoint (.pt) or artifact (.ttfs)")
    profiled_args(p)
    p.add_argument("--margin", type=_margin, default="10%", help="headroom over the measured figures, e.g. 10%% or 0.1")
    p.add_argument("-o", "--output", required=True, help="budget file to write (.yaml)")
    p.set_defaults(func=cmd_budget_init)

    p = sub.add_parser(
        "claims",
        help="measure seed 000's sparsity and latency claims beside the paper's figures",
        description="Input spikes per image (count vs TTFS coding), Aggressive vs S4NN accuracy, "
        "decision step, spikes and energy, per digit too. All measured; paper figures labelled.",
    )
    p.add_argument("--models", nargs="*", help="checkpoints (default: the shipped models)")
    p.add_argument("--data", default="mnist-5k:val", help=f"data: {DATA_SPECS}")
    p.add_argument("--limit", type=POSITIVE, help="only the first N samples")
    p.add_argument("--profiles", default="loihi1,loihi2", help="comma-separated hardware profiles for energy")
    p.add_argument("--out", help="write claims.json and claims.md into this folder")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_claims)

    p = sub.add_parser(
        "trace",
        help="golden spike traces: `trace record` and `trace diff`",
        description="Record a run's per-layer spike times, or compare two recorded traces.",
    )
    trace_sub = p.add_subparsers(dest="trace_command", required=True, parser_class=Parser)
    p = trace_sub.add_parser(
        "record",
        help="run a model and store its spike trace (.npz)",
        description="Run a model on a target and store every layer's spike times.",
    )
    p.add_argument("model", help="checkpoint (.pt) or artifact (.ttfs)")
    run_args(p, ("golden", "loihi-sim", "loihi-hw"), "golden", None, ON_THE_FLY)
    p.add_argument("-o", "--output", required=True, help="trace file to write (.npz)")
    p.set_defaults(func=cmd_trace_record)
    p = trace_sub.add_parser(
        "diff",
        help="compare two traces: first differing sample, layer and neuron",
        description="Compare two traces spike for spike (exit 0 equal, 1 different, 2 bad input).",
    )
    p.add_argument("a", help="trace file (.npz), e.g. the stored golden trace")
    p.add_argument("b", help="trace file (.npz) to compare with A")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_trace_diff)
