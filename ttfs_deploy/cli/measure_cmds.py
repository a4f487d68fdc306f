"""``profile``, ``budget check``, ``claims`` and ``trace``: what a run cost and whether it changed."""

from __future__ import annotations

import argparse
import json
import pathlib
import sys

from ttfs_deploy.cli.common import ON_THE_FLY, Parser, check_output, limit, run_args, run_model


def _profiled(args: argparse.Namespace):
    """Run ``args.model`` on ``args.target`` and profile the trace; returns (report dict, outcome, names)."""
    from ttfs_deploy.compiler.hardware import load_profile
    from ttfs_deploy.measure.costs import profile_network

    hw = load_profile(args.profile)
    dataset, outcome = run_model(args)
    prof = profile_network(outcome.times, outcome.ir, outcome.early_stop, args.target, hw).to_json()
    names = [layer.name for layer in outcome.ir.chain()]
    report = {
        "model": str(args.model),
        "data": dataset.name,
        "command": " ".join(["ttfs-deploy", *sys.argv[1:]]),
        "run": outcome.result.to_json() | {"early_stop": outcome.early_stop},
        "profile": prof,
        "note": outcome.note,
    }
    return report, outcome, names


def cmd_profile(args: argparse.Namespace) -> int:
    from ttfs_deploy.measure.report import write_report

    report, outcome, names = _profiled(args)
    written = write_report(args.out, report, outcome.times, names) if args.out else []
    if args.json:
        summary = {k: v for k, v in report.items() if k != "run"}
        summary["run"] = {k: v for k, v in report["run"].items() if k != "samples"}
        print(json.dumps(summary | {"written": [str(p) for p in written]}))
        return 0
    prof, run = report["profile"], report["run"]
    print(
        f"{args.model} on {report['data']} (target {args.target}, profile {prof['profile']}, n = {prof['n']}, "
        f"early stop {prof['early_stop']}):"
    )
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
        tag = (
            " (ESTIMATE: " + prof["energy_pj"]["synaptic_spike_op"]["source"] + ")"
            if prof["energy_is_estimate"]
            else ""
        )
        print(f"  energy per inference: {prof['energy_total_nj']:.1f} nJ{tag}")
        for key, term in prof["energy_pj"].items():
            print(f"    {key:<24}{term['ops']:>10.0f} ops x {term['per_op_pj']} pJ  [{term['source']}]")
    ann = prof["ann"]
    print(
        f"  dense ANN of the same shape: {ann['macs']:,} MACs = {ann['energy_fp32_nj']:.1f} nJ (fp32) / "
        f"{ann['energy_int8_nj']:.1f} nJ (int8) [{ann['sources']['fp32']}]"
    )
    for path in written:
        print(f"  wrote {path}")
    return 0


def cmd_budget_check(args: argparse.Namespace) -> int:
    from ttfs_deploy.measure.budget import check_budget, load_budget

    budget = load_budget(args.budget)
    report, _, _ = _profiled(args)
    checks = check_budget(budget, report["run"], report["profile"])
    if args.json:
        print(
            json.dumps(
                {
                    "passed": all(c.passed for c in checks),
                    "checks": [
                        {"name": c.name, "limit": c.limit, "measured": c.measured, "kind": c.kind, "passed": c.passed}
                        for c in checks
                    ],
                }
            )
        )
    else:
        print(f"{'limit':<30}{'budget':>12}{'measured':>12}  result")
        for c in checks:
            measured = "unknown" if c.measured is None else f"{c.measured:.4g}"
            print(f"{c.name:<30}{c.limit:>12.4g}{measured:>12}  {'pass' if c.passed else 'FAIL'}")
        print("budget " + ("met" if all(c.passed for c in checks) else "NOT met"))
    return 0 if all(c.passed for c in checks) else 1


def cmd_claims(args: argparse.Namespace) -> int:
    from ttfs_deploy import data as data_mod
    from ttfs_deploy.models import SHIPPED_DIR
    from ttfs_deploy.pipelines import claims as claims_mod

    models = [pathlib.Path(m) for m in args.models] if args.models else sorted(SHIPPED_DIR.glob("mnist-*.pt"))
    dataset = limit(data_mod.load(args.data), args.limit)
    report = claims_mod.claims(models, dataset, args.profiles.split(","))
    text = claims_mod.markdown(report)
    if args.out:
        out = pathlib.Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "claims.json").write_text(json.dumps(report, indent=1))
        (out / "claims.md").write_text(text)
    if args.json:
        print(json.dumps(report))
    else:
        print(text)
        if args.out:
            print(f"wrote {pathlib.Path(args.out) / 'claims.json'} and claims.md")
    return 0


def cmd_trace_record(args: argparse.Namespace) -> int:
    from ttfs_deploy.measure.trace import save_trace

    out = check_output(args.output)
    _, outcome = run_model(args)
    save_trace(out, outcome.trace())
    summary = {
        "output": str(out),
        "target": args.target,
        "n": outcome.result.n,
        "early_stop": outcome.early_stop,
        "accuracy": outcome.result.accuracy,
    }
    print(
        json.dumps(summary)
        if args.json
        else f"recorded {outcome.result.n} samples on {args.target} "
        f"(early stop {outcome.early_stop}, accuracy {outcome.result.accuracy:.2%}) -> {out}"
    )
    return 0


def cmd_trace_diff(args: argparse.Namespace) -> int:
    from ttfs_deploy.measure.trace import diff_traces, load_trace

    diff = diff_traces(load_trace(args.a), load_trace(args.b))
    if args.json:
        print(
            json.dumps(
                {
                    "equal": diff.equal,
                    "first": diff.first,
                    "samples_differing": diff.samples_differing,
                    "spikes_differing": diff.spikes_differing,
                    "predictions_differing": diff.predictions_differing,
                    "decision_steps_differing": diff.decision_steps_differing,
                    "n": diff.n,
                    "shape_problem": diff.shape_problem,
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
        run_args(p, ("golden", "loihi-sim"), "golden", "loihi1", "hardware profile for energy figures (see `targets`)")

    p = sub.add_parser(
        "profile",
        help="count spikes, synaptic ops and neuron updates; estimate energy",
        description="Profile a run: per-layer and per-step counts from the spike trace, energy and "
        "time per inference from the hardware profile, and a dense-ANN comparison.",
    )
    p.add_argument("model", help="checkpoint (.pt, compiled on the fly) or artifact (.ttfs)")
    profiled_args(p)
    p.add_argument("--out", help="write report.json, report.md, report.html and plots into this folder")
    p.set_defaults(func=cmd_profile)

    p = sub.add_parser(
        "budget",
        help="spike budgets: `budget check BUDGET.yaml MODEL`",
        description="Check a model's run against a spike budget (exit 0 pass, 1 fail, 2 bad input).",
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

    p = sub.add_parser(
        "claims",
        help="measure seed 000's sparsity and latency claims beside the paper's figures",
        description="Input spikes per image (count vs TTFS coding), Aggressive vs S4NN accuracy, "
        "decision step, spikes and energy, per digit too. All measured; paper figures labelled.",
    )
    p.add_argument("--models", nargs="*", help="checkpoints (default: the shipped models)")
    p.add_argument("--data", default="mnist-5k:val", help=f"data: {DATA_SPECS}")
    p.add_argument("--limit", type=int, help="only the first N samples")
    p.add_argument("--profiles", default="loihi1,loihi2", help="comma-separated hardware profiles for energy")
    p.add_argument("--out", help="write claims.json and claims.md into this folder")
    p.add_argument("--json", action="store_true")
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
    run_args(p, ("golden", "loihi-sim", "loihi-hw"), "golden", "loihi2", ON_THE_FLY)
    p.add_argument("-o", "--output", required=True, help="trace file to write (.npz)")
    p.set_defaults(func=cmd_trace_record)
    p = trace_sub.add_parser(
        "diff",
        help="compare two traces: first differing sample, layer and neuron",
        description="Compare two traces spike for spike (exit 0 equal, 1 different, 2 bad input).",
    )
    p.add_argument("a")
    p.add_argument("b")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_trace_diff)
