"""``compile``, ``run`` and ``targets``: turn a checkpoint into an integer network and run it."""

from __future__ import annotations

import argparse
import pathlib
import sys

from ttfs_deploy.cli.common import ON_THE_FLY, POSITIVE, check_output, json_text, limit, run_args, run_model

_TIED = {"membrane": "the largest final potential"}


def _print_run(result: dict, model: str, dataset_name: str, target: str, profile: str | None = None) -> None:
    ties = result["ties"]
    print(
        f"{model} on {dataset_name} (target {target}"
        + (f", profile {profile}" if profile else "")
        + f", n = {result['n']}):\n"
        f"  accuracy                    {result['accuracy']:.2%} "
        f"({ties} {'tie' if ties == 1 else 'ties'} for {_TIED.get(result.get('readout'), 'first spike')}; "
        f"counted wrong: {result['accuracy_strict']:.2%})\n"
        f"  mean decision step          {result['mean_decision_step']:.1f} of T = {result['T']}\n"
        f"  mean spikes until decision  {result['mean_spikes_until_decision']:.1f}\n"
        f"  mean spikes per inference   {result['mean_spikes_total']:.1f}"
    )


def cmd_run(args: argparse.Namespace) -> int:
    from ttfs_deploy.measure.trace import save_trace

    trace = check_output(args.trace, inputs=[args.model]) if args.trace else None
    dataset, outcome = run_model(args)
    if getattr(outcome.result, "reconstructions", None) is not None:  # a rate-coded autoencoder
        from ttfs_deploy.cli.rate_cmds import finish_recon_run

        return finish_recon_run(args, dataset, outcome)
    result = outcome.result.to_json() | {"early_stop": outcome.early_stop, "profile": outcome.profile}
    if trace is not None:
        save_trace(trace, outcome.trace())
    if args.json:
        print(json_text(result))
    else:
        _print_run(result, args.model, dataset.name, args.target, outcome.profile)
        if "causal" in result:  # a rate-coded classifier
            from ttfs_deploy.cli.rate_cmds import print_rate_extras

            print_rate_extras(result)
        if outcome.early_stop:
            print("  (early stop: each sample ended at its decision step, so later spikes were never issued)")
        if outcome.note:
            print(f"  note: {outcome.note}")
        if trace is not None:
            print(f"  spike trace written to {trace}")
    return 0


def cmd_compile(args: argparse.Namespace) -> int:
    from ttfs_deploy import data as data_mod
    from ttfs_deploy.compiler.pipeline import compile_network, float_or_converted
    from ttfs_deploy.ir import save_ir
    from ttfs_deploy.models import resolve_model

    out = check_output(args.output or pathlib.Path(args.model).with_suffix(".ttfs").name, inputs=[args.model])
    path = resolve_model(args.model)
    # a plain PyTorch MLP is converted as `ttfs-deploy convert` does, then compiled
    ir, note = float_or_converted(path, None if args.calibration == "none" else args.calibration)
    if note:
        print(f"note: {note}", file=sys.stderr)
    calibration = None if args.calibration == "none" else limit(data_mod.load(args.calibration), args.calibration_limit)
    validation = None if args.data == "none" else limit(data_mod.load(args.data), args.limit)
    result = compile_network(ir, args.target, args.profile, calibration, validation)
    save_ir(result.ir, out)
    summary = compile_summary(result, out, calibration, validation)
    if args.json:
        print(json_text(summary))
    else:
        print_compile_summary(summary)
    return 0


def compile_summary(result, out: pathlib.Path, calibration, validation) -> dict:
    """Plain-dict summary of a compile: layers, bit widths, cores and the quantisation accuracy change."""
    q = result.quant
    layers = []
    for layer, placement, exponent, pct in zip(
        result.ir.fire_once_layers(), result.placement.layers, q.weight_exponents, q.clip_percentiles
    ):
        layers.append(
            {
                "name": layer.name,
                "neurons": layer.size,
                "fan_in": layer.n_in,
                "synapses": placement.synapses,
                "cores": placement.cores,
                "weight_exponent": exponent,
                "threshold": int(layer.threshold),
                "clip_percentile": pct,
                "weight_range": [int(layer.weight.min()), int(layer.weight.max())],
            }
        )
    return {
        "output": str(out),
        "target": result.target,
        "profile": result.profile.name,
        "weight_bits": result.profile.weight_bits,
        "membrane_bits": result.profile.membrane_bits,
        "layers": layers,
        "cores": result.placement.cores,
        "unchecked_limits": result.placement.unchecked,
        "calibration_data": calibration.name if calibration else None,
        "n_calibration": q.n_calibration,
        "validation_data": validation.name if validation else None,
        "n_validation": q.n_validation,
        "float_accuracy": q.float_accuracy,
        "quantized_accuracy": q.quantized_accuracy,
        "accuracy_change": q.accuracy_change,
    }


def print_compile_summary(s: dict) -> None:
    print(
        f"compiled for {s['target']} under profile {s['profile']} "
        f"({s['weight_bits']}-bit weights, {s['membrane_bits']}-bit membrane) -> {s['output']}"
    )
    print(
        f"{'layer':<8}{'neurons':>9}{'fan-in':>8}{'synapses':>10}{'cores':>7}{'w exp':>7}{'threshold':>11}"
        f"{'weights':>12}"
    )
    for layer in s["layers"]:
        lo, hi = layer["weight_range"]
        print(
            f"{layer['name']:<8}{layer['neurons']:>9}{layer['fan_in']:>8}{layer['synapses']:>10}"
            f"{layer['cores']:>7}{layer['weight_exponent']:>7}{layer['threshold']:>11}{f'{lo}..{hi}':>12}"
        )
    print(
        f"Loihi cores used: {s['cores']}"
        + (
            f" (limits unknown in the profile, not checked: {', '.join(s['unchecked_limits'])})"
            if s["unchecked_limits"]
            else ""
        )
    )
    if s["accuracy_change"] is not None:
        print(
            f"clipping chosen on {s['calibration_data']} ({s['n_calibration']} samples); accuracy on "
            f"{s['validation_data']} ({s['n_validation']} samples, golden simulator): "
            f"float {s['float_accuracy']:.2%} -> integer {s['quantized_accuracy']:.2%} "
            f"({100 * s['accuracy_change']:+.1f} points)"
        )


def cmd_targets(args: argparse.Namespace) -> int:
    from ttfs_deploy import backends
    from ttfs_deploy.compiler.hardware import available_profiles, load_profile
    from ttfs_deploy.targets import TARGETS

    targets = []
    for name, target in TARGETS.items():
        missing = backends.missing(name)
        targets.append(
            {"name": name, "description": target.description, "available": missing is None, "missing": missing}
        )
    profiles = []
    for name in available_profiles():
        p = load_profile(name)
        profiles.append(
            {
                "name": p.name,
                "description": p.description,
                "weight_bits": p.weight_bits,
                "membrane_bits": p.membrane_bits,
                "cores": p.limit("cores"),
                "neurons_per_core": p.limit("neurons_per_core"),
                "fire_once": p.fire_once.get("mechanism"),
                "energy_is_estimate": p.energy_is_estimate,
                "path": p.path,
            }
        )
    if args.json:
        print(json_text({"targets": targets, "profiles": profiles}))
        return 0
    print("targets:")
    for t in targets:
        state = "available" if t["available"] else f"unavailable: {t['missing']}"
        print(f"  {t['name']:<10} {t['description']} [{state}]")
    print("hardware profiles (hardware_profiles/*.yaml):")
    for p in profiles:
        print(
            f"  {p['name']:<8} {p['description']}; {p['weight_bits']}-bit weights, {p['membrane_bits']}-bit "
            f"membrane, {p['cores']} Loihi cores x {p['neurons_per_core']} neurons, fire-once by {p['fire_once']}"
            + (", energy figures are estimates" if p["energy_is_estimate"] else "")
        )
    return 0


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Add this module's commands to the top-level parser."""
    from ttfs_deploy.compiler.pipeline import CALIBRATION_DATA, CALIBRATION_SAMPLES, DEFAULT_PROFILE
    from ttfs_deploy.pipelines.run import RUN_TARGETS

    p = sub.add_parser(
        "run",
        help="run a model on a target and report accuracy, decision step and spikes",
        description="Run a checkpoint (.pt) or compiled artifact (.ttfs) on a target. "
        "--json prints the per-sample schema shared by every target.",
    )
    p.add_argument("model", help="checkpoint (.pt) or compiled artifact (.ttfs)")
    run_args(p, RUN_TARGETS, "float", None, ON_THE_FLY)
    p.add_argument("--trace", help="write per-layer spike times to this .npz file")
    p.add_argument("--out", help="autoencoders: write the reconstructions to this .npy file (uint8, N x 28 x 28)")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser(
        "compile",
        help="quantize and compile a checkpoint for a target (writes a .ttfs artifact)",
        description="Quantize a checkpoint under a hardware profile, map it onto cores, check the "
        "profile's limits and write the compiled artifact.",
    )
    p.add_argument("model", help="checkpoint (.pt)")
    p.add_argument("--target", default="loihi-sim", choices=["golden", "loihi-sim", "loihi-hw"])
    p.add_argument("--profile", default=DEFAULT_PROFILE, help="hardware profile name or YAML path (see `targets`)")
    p.add_argument(
        "--calibration",
        default=CALIBRATION_DATA,
        help="data that choose each layer's clipping level ('none': no clipping)",
    )
    p.add_argument("--calibration-limit", type=POSITIVE, default=CALIBRATION_SAMPLES, help="calibration samples used")
    p.add_argument(
        "--data",
        default="mnist-5k:val",
        help="validation data on which the float → integer accuracy change is reported ('none' to skip)",
    )
    p.add_argument("--limit", type=POSITIVE, help="only the first N validation samples")
    p.add_argument("-o", "--output", help="artifact to write (default: MODEL name with .ttfs, here)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_compile)

    p = sub.add_parser(
        "targets",
        help="list targets and hardware profiles",
        description="List run targets (with what a hardware target is missing) and profiles.",
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_targets)
