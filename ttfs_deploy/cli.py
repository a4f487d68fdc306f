"""``ttfs-deploy`` command line: parse arguments, call the library, print. No logic lives here.

Every user error (bad file, unknown name, impossible size) becomes one line on stderr and exit
status 2; nothing is half-written.
"""
from __future__ import annotations

import argparse
import json
import pathlib
import sys

__all__ = ["main", "UsageError"]


class UsageError(ValueError):
    """A bad command-line value that argparse cannot catch itself."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, like every other user error
        sys.stderr.write(f"{self.prog}: error: {message} (see --help)\n")
        raise SystemExit(2)


def _limit(data, limit: int | None):
    if limit is None:
        return data
    if limit <= 0:
        raise UsageError(f"--limit must be a positive number of samples, got {limit}")
    return data.head(limit)


def _run(args: argparse.Namespace):
    """Run ``args.model`` on ``args.target`` over ``args.data`` (first ``args.limit``): (dataset, Outcome)."""
    from . import data as data_mod
    from .runner import run_target

    dataset = _limit(data_mod.load(args.data), args.limit)
    return dataset, run_target(args.model, args.target, dataset, profile=args.profile, early_stop=args.early_stop,
                               progress=not args.json)


def _check_output(path: str) -> pathlib.Path:
    out = pathlib.Path(path)
    if out.is_dir():
        raise UsageError(f"output {out} is a directory; give a file name such as {out / 'model.pt'}")
    if not out.parent.exists():
        raise UsageError(f"output directory {out.parent} does not exist")
    return out


def _floats(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None
    if any(v <= 0 for v in values):
        raise argparse.ArgumentTypeError(f"values must be positive, got {text!r}")
    return values


def cmd_train(args: argparse.Namespace) -> int:
    from . import data as data_mod
    from .checkpoint import load_checkpoint, save_checkpoint
    from .nn.model import parse_arch
    from .reproducible import PINNED_KERNELS, cpu_kernels
    from .train import TrainConfig, config_dict, evaluate, train

    try:
        sizes = parse_arch(args.arch)
    except ValueError as err:
        raise UsageError(str(err)) from None
    out = _check_output(args.output)
    train_set = _limit(data_mod.load(args.data), args.limit)
    val_set = data_mod.load(args.val_data)
    for name, ds in (("--data", train_set), ("--val-data", val_set)):
        if ds.images.shape[1] != sizes[0]:
            raise UsageError(f"{name} {ds.name} has {ds.images.shape[1]} pixels per image but --arch "
                             f"{args.arch} expects {sizes[0]} inputs")
        if ds.n_classes > sizes[-1]:
            raise UsageError(f"{name} {ds.name} has {ds.n_classes} classes but --arch {args.arch} has "
                             f"only {sizes[-1]} outputs")
    n_layers = len(sizes) - 1
    lr = args.lr * n_layers if len(args.lr) == 1 else args.lr
    thresholds = args.threshold * n_layers if len(args.threshold) == 1 else args.threshold
    if len(lr) != n_layers or len(thresholds) != n_layers:
        raise UsageError(f"--lr and --threshold take 1 or {n_layers} values for --arch {args.arch}")
    if args.epochs <= 0 or args.batch_size <= 0 or args.gamma <= 0 or args.ann_epochs < 0:
        raise UsageError("--epochs, --batch-size and --gamma must be positive, --ann-epochs not negative")
    kernels = cpu_kernels()
    if kernels != PINNED_KERNELS:
        print(f"ttfs-deploy: warning: PyTorch runs its {kernels['aten']} kernels with MKL_CBWR="
              f"{kernels['mkl_cbwr'] or 'unset'} (environment); this run repeats only on CPUs like this one",
              file=sys.stderr)
    initial, init_info = None, None
    if args.init_from:
        start = load_checkpoint(args.init_from)
        if start.model.sizes != sizes or start.T != args.T:
            raise UsageError(f"--init-from {args.init_from} is {'-'.join(map(str, start.model.sizes))} with "
                             f"T = {start.T}, but this run is {args.arch} with T = {args.T}")
        initial = [w.detach() for w in start.model.weights]
    elif args.init == "ann":
        from .ann_init import ann_initial_weights

        converted = ann_initial_weights(sizes, list(thresholds), args.T, args.zero_policy, train_set,
                                        args.ann_epochs, args.shift, args.seed, progress=not args.json)
        initial, init_info = converted.weights, converted.summary()
        if not args.json:
            print(f"ANN start: binary network {converted.ann_train_accuracy:.2%} on the first 1,000 training "
                  f"digits, converted to fire-once {converted.calibration_accuracy:.2%} (output quantile "
                  f"{converted.output_quantile:g})", file=sys.stderr)
    cfg = TrainConfig(arch=tuple(sizes), loss=args.loss, epochs=args.epochs, seed=args.seed,
                      batch_size=args.batch_size, lr=tuple(lr), lr_final_fraction=args.lr_final,
                      decay=args.decay, norm=args.norm, gamma=args.gamma,
                      T=args.T, zero_policy=args.zero_policy, thresholds=tuple(thresholds), shift=args.shift,
                      init_from=pathlib.Path(args.init_from).name if args.init_from else None,
                      init="checkpoint" if args.init_from else args.init, ann_epochs=args.ann_epochs)
    model, logs = train(cfg, train_set, val_set, progress=not args.json, initial_weights=initial)
    final = evaluate(model, val_set, cfg.zero_policy).to_json()
    metrics = {"val_data": val_set.name, "val_accuracy": final["accuracy"],
               "val_accuracy_strict": final["accuracy_strict"],
               "val_mean_decision_step": final["mean_decision_step"],
               "val_mean_spikes_until_decision": final["mean_spikes_until_decision"],
               "epochs": [vars(log) for log in logs]}
    train_info = config_dict(cfg) | {"data": train_set.name, "n_train": len(train_set.labels), "cpu_kernels": kernels}
    if init_info is not None:
        train_info["ann_init"] = init_info
    save_checkpoint(out, model, cfg.zero_policy, train_set.shape, metrics, train_info)
    if args.json:
        print(json.dumps({"output": str(out), **metrics}))
    else:
        print(f"saved {out}: {val_set.name} accuracy {final['accuracy']:.2%} "
              f"(ties counted wrong: {final['accuracy_strict']:.2%}), mean decision step "
              f"{final['mean_decision_step']:.1f}, mean spikes until decision "
              f"{final['mean_spikes_until_decision']:.1f}")
    return 0


def _print_run(result: dict, model: str, dataset_name: str, target: str) -> None:
    print(f"{model} on {dataset_name} (target {target}, n = {result['n']}):\n"
          f"  accuracy                    {result['accuracy']:.2%} "
          f"({result['ties']} ties for first spike; counted wrong: {result['accuracy_strict']:.2%})\n"
          f"  mean decision step          {result['mean_decision_step']:.1f} of T = {result['T']}\n"
          f"  mean spikes until decision  {result['mean_spikes_until_decision']:.1f}\n"
          f"  mean spikes per inference   {result['mean_spikes_total']:.1f}")


def cmd_run(args: argparse.Namespace) -> int:
    from .trace import save_trace

    trace = _check_output(args.trace) if args.trace else None
    dataset, outcome = _run(args)
    result = outcome.result.to_json() | {"early_stop": outcome.early_stop}
    if trace is not None:
        save_trace(trace, outcome)
    if args.json:
        print(json.dumps(result))
    else:
        _print_run(result, args.model, dataset.name, args.target)
        if outcome.early_stop:
            print("  (early stop: each sample ended at its decision step, so later spikes were never issued)")
        if outcome.note:
            print(f"  note: {outcome.note}")
        if trace is not None:
            print(f"  spike trace written to {trace}")
    return 0


def cmd_compile(args: argparse.Namespace) -> int:
    from . import data as data_mod
    from .compiler import compile_network, load_network
    from .ir import save_ir

    out = _check_output(args.output or pathlib.Path(args.model).with_suffix(".ttfs").name)
    ir = load_network(args.model)
    calibration = None if args.calibration == "none" else _limit(data_mod.load(args.calibration),
                                                                 args.calibration_limit)
    validation = None if args.data == "none" else _limit(data_mod.load(args.data), args.limit)
    result = compile_network(ir, args.target, args.profile, calibration, validation)
    save_ir(result.ir, out)
    summary = compile_summary(result, out, calibration, validation)
    if args.json:
        print(json.dumps(summary))
    else:
        print_compile_summary(summary)
    return 0


def compile_summary(result, out: pathlib.Path, calibration, validation) -> dict:
    """Plain-dict summary of a compile: layers, bit widths, cores and the quantisation accuracy change."""
    q = result.quant
    layers = []
    for layer, placement, exponent, pct in zip(result.ir.fire_once_layers(), result.placement.layers,
                                               q.weight_exponents, q.clip_percentiles):
        layers.append({"name": layer.name, "neurons": layer.size, "fan_in": layer.n_in,
                       "synapses": placement.synapses, "cores": placement.cores, "weight_exponent": exponent,
                       "threshold": int(layer.threshold), "clip_percentile": pct,
                       "weight_range": [int(layer.weight.min()), int(layer.weight.max())]})
    return {"output": str(out), "target": result.target, "profile": result.profile.name,
            "weight_bits": result.profile.weight_bits, "membrane_bits": result.profile.membrane_bits,
            "layers": layers, "cores": result.placement.cores, "unchecked_limits": result.placement.unchecked,
            "calibration_data": calibration.name if calibration else None, "n_calibration": q.n_calibration,
            "validation_data": validation.name if validation else None, "n_validation": q.n_validation,
            "float_accuracy": q.float_accuracy, "quantized_accuracy": q.quantized_accuracy,
            "accuracy_change": q.accuracy_change}


def print_compile_summary(s: dict) -> None:
    print(f"compiled for {s['target']} under profile {s['profile']} "
          f"({s['weight_bits']}-bit weights, {s['membrane_bits']}-bit membrane) -> {s['output']}")
    print(f"{'layer':<8}{'neurons':>9}{'fan-in':>8}{'synapses':>10}{'cores':>7}{'w exp':>7}{'threshold':>11}"
          f"{'weights':>12}")
    for layer in s["layers"]:
        lo, hi = layer["weight_range"]
        print(f"{layer['name']:<8}{layer['neurons']:>9}{layer['fan_in']:>8}{layer['synapses']:>10}"
              f"{layer['cores']:>7}{layer['weight_exponent']:>7}{layer['threshold']:>11}{f'{lo}..{hi}':>12}")
    print(f"cores used: {s['cores']}" + (f" (limits unknown in the profile, not checked: "
                                          f"{', '.join(s['unchecked_limits'])})" if s["unchecked_limits"] else ""))
    if s["accuracy_change"] is not None:
        print(f"clipping chosen on {s['calibration_data']} ({s['n_calibration']} samples); accuracy on "
              f"{s['validation_data']} ({s['n_validation']} samples, golden simulator): "
              f"float {s['float_accuracy']:.2%} -> integer {s['quantized_accuracy']:.2%} "
              f"({100 * s['accuracy_change']:+.1f} points)")


def cmd_targets(args: argparse.Namespace) -> int:
    from .backends import loihi_hw
    from .hardware import available_profiles, load_profile
    from .runner import RUN_TARGETS, TARGET_HELP

    import importlib.util

    missing = {"loihi-hw": loihi_hw.missing(),
               "loihi-sim": None if importlib.util.find_spec("lava") else "lava-nc is not installed"}
    targets = [{"name": t, "description": TARGET_HELP[t], "available": missing.get(t) is None,
                "missing": missing.get(t)} for t in RUN_TARGETS]
    profiles = []
    for name in available_profiles():
        p = load_profile(name)
        profiles.append({"name": p.name, "description": p.description, "weight_bits": p.weight_bits,
                         "membrane_bits": p.membrane_bits, "cores": p.limit("cores"),
                         "neurons_per_core": p.limit("neurons_per_core"), "fire_once": p.fire_once.get("mechanism"),
                         "energy_is_estimate": p.energy_is_estimate, "path": p.path})
    if args.json:
        print(json.dumps({"targets": targets, "profiles": profiles}))
        return 0
    print("targets:")
    for t in targets:
        state = "available" if t["available"] else f"unavailable: {t['missing']}"
        print(f"  {t['name']:<10} {t['description']} [{state}]")
    print("hardware profiles (hardware_profiles/*.yaml):")
    for p in profiles:
        print(f"  {p['name']:<8} {p['description']}; {p['weight_bits']}-bit weights, {p['membrane_bits']}-bit "
              f"membrane, {p['cores']} cores x {p['neurons_per_core']} neurons, fire-once by {p['fire_once']}"
              + (", energy figures are estimates" if p["energy_is_estimate"] else ""))
    return 0


def cmd_baseline(args: argparse.Namespace) -> int:
    from . import data as data_mod
    from .ann_baseline import train_ann
    from .nn.model import parse_arch

    try:
        sizes = parse_arch(args.arch)
    except ValueError as err:
        raise UsageError(str(err)) from None
    train_set, val_set = data_mod.load(args.data), data_mod.load(args.val_data)
    if train_set.images.shape[1] != sizes[0]:
        raise UsageError(f"--data {train_set.name} has {train_set.images.shape[1]} pixels per image but --arch "
                         f"{args.arch} expects {sizes[0]} inputs")
    result = train_ann(sizes, train_set, val_set, args.epochs, args.shift, args.seed, progress=not args.json)
    if args.json:
        print(json.dumps(result))
    else:
        print(f"ANN {args.arch} (ReLU, Adam, {args.epochs} epochs, shift {args.shift}): "
              f"{val_set.name} accuracy {result['val_accuracy']:.2%}")
    return 0


def _profiled(args: argparse.Namespace):
    """Run ``args.model`` on ``args.target`` and profile the trace; returns (report dict, outcome, names)."""
    from .hardware import load_profile
    from .profile import profile_network

    hw = load_profile(args.profile)
    dataset, outcome = _run(args)
    prof = profile_network(outcome.times, outcome.ir, outcome.early_stop, args.target, hw).to_json()
    names = [layer.name for layer in outcome.ir.chain()]
    report = {"model": str(args.model), "data": dataset.name, "command": " ".join(["ttfs-deploy", *sys.argv[1:]]),
              "run": outcome.result.to_json() | {"early_stop": outcome.early_stop}, "profile": prof,
              "note": outcome.note}
    return report, outcome, names


def cmd_profile(args: argparse.Namespace) -> int:
    from .report import write_report

    report, outcome, names = _profiled(args)
    written = write_report(args.out, report, outcome.times, names) if args.out else []
    if args.json:
        summary = {k: v for k, v in report.items() if k != "run"}
        summary["run"] = {k: v for k, v in report["run"].items() if k != "samples"}
        print(json.dumps(summary | {"written": [str(p) for p in written]}))
        return 0
    prof, run = report["profile"], report["run"]
    print(f"{args.model} on {report['data']} (target {args.target}, profile {prof['profile']}, n = {prof['n']}, "
          f"early stop {prof['early_stop']}):")
    print(f"  accuracy {run['accuracy']:.2%}, mean decision step {run['mean_decision_step']:.1f}, "
          f"spikes until decision {run['mean_spikes_until_decision']:.1f}, per inference {run['mean_spikes_total']:.1f}")
    print(f"  {'layer':<8}{'neurons':>8}{'spikes':>9}{'fired':>8}{'syn ops':>10}{'active upd':>12}{'idle upd':>10}")
    for layer in prof["layers"]:
        print(f"  {layer['name']:<8}{layer['size']:>8}{layer['spikes']:>9.1f}{layer['fraction_fired']:>8.1%}"
              f"{layer['synaptic_ops']:>10.0f}{layer['active_updates']:>12.0f}{layer['idle_updates']:>10.0f}")
    if prof["energy_total_nj"] is None:
        print("  energy: unknown (the profile lacks a per-op figure)")
    else:
        tag = " (ESTIMATE: " + prof["energy_pj"]["synaptic_spike_op"]["source"] + ")" if prof["energy_is_estimate"] else ""
        print(f"  energy per inference: {prof['energy_total_nj']:.1f} nJ{tag}")
        for key, term in prof["energy_pj"].items():
            print(f"    {key:<24}{term['ops']:>10.0f} ops x {term['per_op_pj']} pJ  [{term['source']}]")
    ann = prof["ann"]
    print(f"  dense ANN of the same shape: {ann['macs']:,} MACs = {ann['energy_fp32_nj']:.1f} nJ (fp32) / "
          f"{ann['energy_int8_nj']:.1f} nJ (int8) [{ann['sources']['fp32']}]")
    for path in written:
        print(f"  wrote {path}")
    return 0


def cmd_budget_check(args: argparse.Namespace) -> int:
    from .budget import check_budget, load_budget

    budget = load_budget(args.budget)
    report, _, _ = _profiled(args)
    checks = check_budget(budget, report["run"], report["profile"])
    if args.json:
        print(json.dumps({"passed": all(c.passed for c in checks),
                          "checks": [{"name": c.name, "limit": c.limit, "measured": c.measured, "kind": c.kind,
                                      "passed": c.passed} for c in checks]}))
    else:
        print(f"{'limit':<30}{'budget':>12}{'measured':>12}  result")
        for c in checks:
            measured = "unknown" if c.measured is None else f"{c.measured:.4g}"
            print(f"{c.name:<30}{c.limit:>12.4g}{measured:>12}  {'pass' if c.passed else 'FAIL'}")
        print("budget " + ("met" if all(c.passed for c in checks) else "NOT met"))
    return 0 if all(c.passed for c in checks) else 1


def cmd_claims(args: argparse.Namespace) -> int:
    from . import claims as claims_mod
    from . import data as data_mod

    models = [pathlib.Path(m) for m in args.models] if args.models else sorted(SHIPPED_MODELS.glob("mnist-*.pt"))
    dataset = _limit(data_mod.load(args.data), args.limit)
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
    from .trace import save_trace

    out = _check_output(args.output)
    _, outcome = _run(args)
    save_trace(out, outcome)
    summary = {"output": str(out), "target": args.target, "n": outcome.result.n, "early_stop": outcome.early_stop,
               "accuracy": outcome.result.accuracy}
    print(json.dumps(summary) if args.json else f"recorded {outcome.result.n} samples on {args.target} "
          f"(early stop {outcome.early_stop}, accuracy {outcome.result.accuracy:.2%}) -> {out}")
    return 0


def cmd_trace_diff(args: argparse.Namespace) -> int:
    from .trace import diff_traces, load_trace

    diff = diff_traces(load_trace(args.a), load_trace(args.b))
    if args.json:
        print(json.dumps({"equal": diff.equal, "first": diff.first, "samples_differing": diff.samples_differing,
                          "spikes_differing": diff.spikes_differing,
                          "predictions_differing": diff.predictions_differing,
                          "decision_steps_differing": diff.decision_steps_differing, "n": diff.n,
                          "shape_problem": diff.shape_problem}))
    else:
        print(diff.message())
    return 0 if diff.equal else 1


SHIPPED_MODELS = pathlib.Path(__file__).resolve().parents[1] / "models"


def cmd_demo(args: argparse.Namespace) -> int:
    import time

    import numpy as np

    from . import data as data_mod
    from .backends.golden import early_stop_view
    from .compiler import CALIBRATION_DATA, CALIBRATION_SAMPLES, compile_network, load_network
    from .ir import save_ir
    from .profile import build as build_profile
    from .report import write_report
    from .runner import run_target

    models = sorted(SHIPPED_MODELS.glob("mnist-*.pt"))
    if not models:
        raise UsageError(f"no shipped models found in {SHIPPED_MODELS}")
    out_dir = pathlib.Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    val = _limit(data_mod.load("mnist-5k:val"), args.limit)
    lava_set = _limit(val, min(args.lava_limit, len(val.labels)))
    calibration = data_mod.load(CALIBRATION_DATA).head(CALIBRATION_SAMPLES)
    rows = []

    def log(message: str) -> None:
        if not args.json:
            print(message, flush=True)

    for path in models:
        log(f"== {path.name}")
        row = {"model": path.name}
        row["float"] = run_target(str(path), "float", val).result.to_json()
        log(f"  float (PyTorch) on {val.name}: accuracy {row['float']['accuracy']:.2%}")
        compiled = compile_network(load_network(path), "loihi-sim", args.profile, calibration, val)
        artifact = out_dir / path.with_suffix(".ttfs").name
        save_ir(compiled.ir, artifact)
        row["compiled"] = {"artifact": str(artifact), "profile": args.profile, "cores": compiled.placement.cores,
                           "weight_exponents": compiled.quant.weight_exponents}
        log(f"  compiled for loihi-sim under {args.profile}: {compiled.placement.cores} cores, 8-bit weights -> "
            f"{artifact}")
        golden_run = run_target(str(artifact), "golden", val)
        row["golden"] = golden_run.result.to_json()
        log(f"  golden (integer) on {val.name}: accuracy {row['golden']['accuracy']:.2%}")
        start = time.perf_counter()
        lava_run = run_target(str(artifact), "loihi-sim", lava_set, progress=not args.json)
        seconds = time.perf_counter() - start
        row["loihi_sim"] = lava_run.result.to_json() | {"seconds": seconds}
        golden_view = run_target(str(artifact), "golden", lava_set)
        expected = early_stop_view(golden_view.times, compiled.ir.T)
        row["loihi_sim_equals_golden"] = all(np.array_equal(a, b) for a, b in zip(expected, lava_run.times))
        log(f"  loihi-sim (Lava CPU simulator, early stop) on the first {len(lava_set.labels)}: accuracy "
            f"{row['loihi_sim']['accuracy']:.2%}, {len(lava_set.labels) / seconds:.1f} samples/s, every spike equal "
            f"to golden: {'yes' if row['loihi_sim_equals_golden'] else 'NO'}")
        names = [layer.name for layer in compiled.ir.chain()]
        prof = build_profile(lava_run.times, names, compiled.ir.sizes, compiled.ir.T, True, "loihi-sim",
                             compiled.profile, compiled.placement.cores).to_json()
        report_dir = out_dir / f"report-{path.stem}"
        write_report(report_dir, {"model": str(artifact), "data": lava_set.name, "run": row["loihi_sim"],
                                  "profile": prof, "command": "ttfs-deploy demo (loihi-sim run)"},
                     lava_run.times, names)
        row["energy_nj"], row["report"] = prof["energy_total_nj"], str(report_dir / "report.html")
        log(f"  profiled the loihi-sim trace: {prof['energy_total_nj']:.0f} nJ per inference under {args.profile}"
            f"{' (estimate)' if prof['energy_is_estimate'] else ''}; report: {row['report']}")
        rows.append(row)
    if args.json:
        print(json.dumps(rows))
        return 0 if all(r["loihi_sim_equals_golden"] for r in rows) else 1
    print(f"\nshipped TTFS models (784-400-10, T = 256) on {val.name}: {len(val.labels)} held-out real MNIST digits\n")
    print(f"{'model':<22}{'float':>8}{'integer':>9}{'ties wrong':>12}{'decision step':>15}{'spikes to decide':>18}"
          f"{'spikes total':>14}")
    for r in rows:
        g = r["golden"]
        print(f"{r['model']:<22}{r['float']['accuracy']:>8.1%}{g['accuracy']:>9.1%}{g['accuracy_strict']:>12.1%}"
              f"{g['mean_decision_step']:>15.1f}{g['mean_spikes_until_decision']:>18.1f}{g['mean_spikes_total']:>14.1f}")
    print("\nfloat: PyTorch model; integer: compiled 8-bit network on the golden simulator (the columns after it "
          "are\nfrom that run); decision step: first output spike (of 256); spikes to decide: input + hidden + output "
          "spikes\nup to it; 'ties wrong' counts a tie for the first output spike as an error.\n"
          f"compiled artifacts and profile reports (report.html, report.md, report.json, plots): {out_dir}/")
    return 0 if all(r["loihi_sim_equals_golden"] for r in rows) else 1


def _early_stop_args(p: argparse.ArgumentParser) -> None:
    group = p.add_mutually_exclusive_group()
    group.add_argument("--early-stop", dest="early_stop", action="store_true", default=None,
                       help="end each sample at its first output spike (default on loihi-sim/loihi-hw)")
    group.add_argument("--no-early-stop", dest="early_stop", action="store_false",
                       help="simulate all T steps of every sample (default on golden)")


def _run_args(p: argparse.ArgumentParser, targets: tuple[str, ...], target: str, profile: str,
              profile_help: str) -> None:
    """The options every command that runs a model shares: target, profile, data, limit, early stop, --json."""
    from .data import DATA_SPECS

    p.add_argument("--target", default=target, choices=targets, metavar="TARGET", help=" | ".join(targets))
    p.add_argument("--profile", default=profile, help=profile_help)
    p.add_argument("--data", default="mnist-5k:val", help=f"data: {DATA_SPECS}")
    p.add_argument("--limit", type=int, help="only the first N samples")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    _early_stop_args(p)


ON_THE_FLY = "hardware profile when a .pt is compiled on the fly"


def build_parser() -> argparse.ArgumentParser:
    from .compiler import CALIBRATION_DATA, CALIBRATION_SAMPLES
    from .data import DATA_SPECS
    from .runner import RUN_TARGETS
    parser = _Parser(prog="ttfs-deploy", description="Train time-to-first-spike networks and deploy them.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("train", help="train a TTFS classifier (S4NN / Aggressive TTFS) in PyTorch",
                       description="Train a fire-once TTFS classifier with the S4NN temporal gradient. The same "
                                   "seed gives the same checkpoint bit for bit on any x86-64 CPU and core count "
                                   "(PyTorch's portable kernels are pinned; docs/training.md).")
    p.add_argument("--arch", default="784-400-10", help="layer sizes, e.g. 784-400-10")
    p.add_argument("--loss", choices=["aggressive", "s4nn"], default="aggressive",
                   help="Aggressive TTFS (seed 000) or S4NN relative targets")
    p.add_argument("--data", default="mnist-5k:train", help=f"training data: {DATA_SPECS}")
    p.add_argument("--val-data", default="mnist-5k:val", help="validation data, evaluated after each epoch")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--seed", type=int, default=0, help="seeds the start, shuffling and shifts")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=_floats, default=(0.2,), help="learning rate, one or one per layer (comma-separated)")
    p.add_argument("--lr-final", type=float, default=0.1,
                   help="the learning rate decays linearly per epoch to this fraction of its start")
    p.add_argument("--threshold", type=_floats, default=(100.0,), help="firing threshold(s)")
    p.add_argument("--decay", type=float, default=1e-6, help="weight decay per sample (S4NN: 1e-6)")
    p.add_argument("--norm", choices=["l1", "l2", "none"], default="l2", help="per-layer error normalisation")
    p.add_argument("--gamma", type=int, default=3,
                   help="S4NN loss: outputs within this many steps of the earliest are pushed to it + gamma (S4NN: 3)")
    p.add_argument("--T", type=int, default=256, help="simulation steps")
    p.add_argument("--zero-policy", choices=["silent", "last"], default="silent",
                   help="black pixels: never spike (S4NN) or spike at step T-1")
    p.add_argument("--shift", type=int, default=2, help="augment with random shifts up to this many pixels")
    p.add_argument("--limit", type=int, help="use only the first N training samples")
    p.add_argument("--init", choices=["ann", "s4nn"], default="ann",
                   help="start from a converted binary-hidden network of the same shape (ann, default) or from "
                        "S4NN's uniform random weights (s4nn)")
    p.add_argument("--ann-epochs", type=int, default=30, help="training epochs of that network (--init ann)")
    p.add_argument("--init-from", help="start from this checkpoint's weights (fine-tuning); overrides --init")
    p.add_argument("-o", "--output", required=True, help="checkpoint to write (.pt)")
    p.add_argument("--json", action="store_true", help="print the final metrics as JSON (no progress bar)")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("run", help="run a model on a target and report accuracy, decision step and spikes",
                       description="Run a checkpoint (.pt) or compiled artifact (.ttfs) on a target. "
                                   "--json prints the per-sample schema shared by every target.")
    p.add_argument("model", help="checkpoint (.pt) or compiled artifact (.ttfs)")
    _run_args(p, RUN_TARGETS, "float", "loihi2", ON_THE_FLY)
    p.add_argument("--trace", help="write per-layer spike times to this .npz file")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("compile", help="quantize and compile a checkpoint for a target (writes a .ttfs artifact)",
                       description="Quantize a checkpoint under a hardware profile, map it onto cores, check the "
                                   "profile's limits and write the compiled artifact.")
    p.add_argument("model", help="checkpoint (.pt)")
    p.add_argument("--target", default="loihi-sim", choices=["golden", "loihi-sim", "loihi-hw"])
    p.add_argument("--profile", default="loihi2", help="hardware profile name or YAML path (see `targets`)")
    p.add_argument("--calibration", default=CALIBRATION_DATA,
                   help="data that choose each layer's clipping level ('none': no clipping)")
    p.add_argument("--calibration-limit", type=int, default=CALIBRATION_SAMPLES, help="calibration samples used")
    p.add_argument("--data", default="mnist-5k:val",
                   help="validation data on which the float → integer accuracy change is reported ('none' to skip)")
    p.add_argument("--limit", type=int, help="only the first N validation samples")
    p.add_argument("-o", "--output", help="artifact to write (default: MODEL name with .ttfs, here)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_compile)

    p = sub.add_parser("targets", help="list targets and hardware profiles",
                       description="List run targets (with what a hardware target is missing) and profiles.")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_targets)

    def profiled_args(p):
        _run_args(p, ("golden", "loihi-sim"), "golden", "loihi1", "hardware profile for energy figures (see `targets`)")

    p = sub.add_parser("profile", help="count spikes, synaptic ops and neuron updates; estimate energy",
                       description="Profile a run: per-layer and per-step counts from the spike trace, energy and "
                                   "time per inference from the hardware profile, and a dense-ANN comparison.")
    p.add_argument("model", help="checkpoint (.pt, compiled on the fly) or artifact (.ttfs)")
    profiled_args(p)
    p.add_argument("--out", help="write report.json, report.md, report.html and plots into this folder")
    p.set_defaults(func=cmd_profile)

    p = sub.add_parser("budget", help="spike budgets: `budget check BUDGET.yaml MODEL`",
                       description="Check a model's run against a spike budget (exit 0 pass, 1 fail, 2 bad input).")
    budget_sub = p.add_subparsers(dest="budget_command", required=True, parser_class=_Parser)
    p = budget_sub.add_parser("check", help="check a budget file against a run",
                              description="Run the model, profile it and compare with every limit in the budget.")
    p.add_argument("budget", help="budget YAML file")
    p.add_argument("model", help="checkpoint (.pt) or artifact (.ttfs)")
    profiled_args(p)
    p.set_defaults(func=cmd_budget_check)

    p = sub.add_parser("claims", help="measure seed 000's sparsity and latency claims beside the paper's figures",
                       description="Input spikes per image (count vs TTFS coding), Aggressive vs S4NN accuracy, "
                                   "decision step, spikes and energy, per digit too. All measured; paper figures labelled.")
    p.add_argument("--models", nargs="*", help="checkpoints (default: the shipped models)")
    p.add_argument("--data", default="mnist-5k:val", help=f"data: {DATA_SPECS}")
    p.add_argument("--limit", type=int, help="only the first N samples")
    p.add_argument("--profiles", default="loihi1,loihi2", help="comma-separated hardware profiles for energy")
    p.add_argument("--out", help="write claims.json and claims.md into this folder")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_claims)

    p = sub.add_parser("trace", help="golden spike traces: `trace record` and `trace diff`",
                       description="Record a run's per-layer spike times, or compare two recorded traces.")
    trace_sub = p.add_subparsers(dest="trace_command", required=True, parser_class=_Parser)
    p = trace_sub.add_parser("record", help="run a model and store its spike trace (.npz)",
                             description="Run a model on a target and store every layer's spike times.")
    p.add_argument("model", help="checkpoint (.pt) or artifact (.ttfs)")
    _run_args(p, ("golden", "loihi-sim", "loihi-hw"), "golden", "loihi2", ON_THE_FLY)
    p.add_argument("-o", "--output", required=True, help="trace file to write (.npz)")
    p.set_defaults(func=cmd_trace_record)
    p = trace_sub.add_parser("diff", help="compare two traces: first differing sample, layer and neuron",
                             description="Compare two traces spike for spike (exit 0 equal, 1 different, 2 bad input).")
    p.add_argument("a")
    p.add_argument("b")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_trace_diff)

    p = sub.add_parser("baseline", help="train the same-shape ReLU ANN as an accuracy reference",
                       description="Train a ReLU MLP of the same shape (Adam, cross-entropy) and report accuracy.")
    p.add_argument("--arch", default="784-400-10")
    p.add_argument("--data", default="mnist-5k:train")
    p.add_argument("--val-data", default="mnist-5k:val")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--shift", type=int, default=0, help="augment with random shifts up to this many pixels")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_baseline)

    p = sub.add_parser("demo", help="the README's main command: shipped models through the whole pipeline",
                       description="For each shipped model: evaluate in PyTorch, compile for loihi-sim, run the "
                                   "integer network on the golden simulator and on Lava, check they agree, print.")
    p.add_argument("--profile", default="loihi2", help="hardware profile to compile for")
    p.add_argument("--limit", type=int, help="only the first N of the 500 validation digits")
    p.add_argument("--lava-limit", type=int, default=200, help="digits streamed through Lava per model")
    p.add_argument("--out", default="out/demo", help="folder for the compiled artifacts")
    p.add_argument("--json", action="store_true", help="print one JSON list, a row per model")
    p.set_defaults(func=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``ttfs-deploy`` console script; returns the exit status."""
    from .reproducible import pin_cpu_kernels

    pin_cpu_kernels()  # before any tensor operation: a seeded run gives the same bits on any CPU
    from .backends.lava_sim import BackendUnavailable, LavaRunError
    from .budget import BudgetError
    from .trace import TraceError
    from .backends.loihi_hw import HardwareUnavailable
    from .checkpoint import CheckpointError
    from .data import DataError
    from .hardware import ProfileError
    from .ir import IRError
    from .mapping import MappingError
    from .quantize import QuantizationError

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (UsageError, DataError, CheckpointError, IRError, ProfileError, QuantizationError, MappingError,
            HardwareUnavailable, BackendUnavailable, BudgetError, TraceError) as err:
        sys.stderr.write(f"ttfs-deploy: error: {err}\n")
        return 2
    except LavaRunError as err:  # the simulator failed or hung: not the user's input, but no traceback either
        sys.stderr.write(f"ttfs-deploy: Lava run failed: {err}\n")
        return 1
    except KeyboardInterrupt:
        sys.stderr.write("ttfs-deploy: interrupted\n")
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
