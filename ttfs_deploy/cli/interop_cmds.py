"""``convert`` (a plain PyTorch ReLU MLP → fire-once TTFS checkpoint) and ``export`` (netx / NIR)."""

from __future__ import annotations

import argparse
import math
import sys

from ttfs_deploy.cli.common import NON_NEGATIVE, POSITIVE, SEED, STEPS, check_output, float_in, int_in, print_json
from ttfs_deploy.errors import UsageError

FORMATS = ("nir", "netx")


def _result(run) -> dict:
    summary = run.to_json()
    return {k: summary[k] for k in ("accuracy", "accuracy_strict", "mean_decision_step", "mean_spikes_until_decision")}


def cmd_convert(args: argparse.Namespace) -> int:
    import torch

    from ttfs_deploy import data as data_mod
    from ttfs_deploy.interop.convert import convert_relu_mlp, converted_result, load_relu_mlp
    from ttfs_deploy.train.checkpoint import save_checkpoint
    from ttfs_deploy.train.loop import TrainConfig, config_dict, evaluate, train
    from ttfs_deploy.train.model import TTFSClassifier, parse_arch

    try:
        sizes = parse_arch(args.arch)
    except ValueError as err:
        raise UsageError(str(err)) from None
    readout = args.readout.replace("-", "_")  # the IR's spelling (NetworkIR.readout)
    if args.finetune_epochs and readout == "membrane":
        raise UsageError("--finetune-epochs trains a first-spike read-out; add --readout first-spike")
    out = check_output(args.output, inputs=[args.model])
    mlp = load_relu_mlp(args.model, sizes)
    calib_full = data_mod.load(args.calib_data)
    calib = calib_full.head(args.calib_limit)
    val = data_mod.load(args.val_data)
    for name, ds in (("--calib-data", calib), ("--val-data", val)):
        data_mod.check_labels(ds, sizes[-1])
        if ds.images.shape[1] != sizes[0]:
            raise UsageError(
                f"{name} {ds.name} has {ds.images.shape[1]} pixels per image but --arch expects {sizes[0]}"
            )
    converted = convert_relu_mlp(
        mlp, calib, args.T, args.zero_policy, args.threshold, args.percentile, args.levels, readout
    )
    report = {
        "ann": {"accuracy": mlp.accuracy(val)},
        "converted": _result(
            converted_result(converted.weights, converted.thresholds, readout, val, args.T, args.zero_policy)
        ),
        "conversion": converted.summary(),
        "val_data": val.name,
        "calib_data": f"{calib.name} (first {len(calib.labels)})",
    }
    thresholds = tuple(converted.thresholds)
    initial = [torch.from_numpy(w) for w in converted.weights]
    if args.finetune_epochs:
        cfg = TrainConfig(
            arch=tuple(converted.sizes),
            loss=args.loss,
            epochs=args.finetune_epochs,
            seed=args.seed,
            lr=(args.lr,) * (len(sizes) - 1),
            T=args.T,
            zero_policy=args.zero_policy,
            thresholds=thresholds,
            init="checkpoint",
            init_from=f"converted from {args.model}",
        )
        model, _ = train(cfg, calib_full, val, progress=not args.json, initial_weights=initial)
        report["finetuned"] = {**_result(evaluate(model, val, args.zero_policy)), "epochs": args.finetune_epochs}
        train_info = config_dict(cfg) | {"data": calib_full.name}
    else:
        model = TTFSClassifier(converted.sizes, list(thresholds), args.T)
        with torch.no_grad():
            for weight, start in zip(model.weights, initial):
                weight.copy_(start)
        train_info = {"data": calib.name}
    final = report.get("finetuned", report["converted"])
    metrics = {"val_data": val.name, "val_accuracy": final["accuracy"], "conversion": report}
    train_info["converted_from"] = {"file": str(args.model), **converted.summary()}
    save_checkpoint(out, model, args.zero_policy, calib.shape, metrics, train_info, readout=readout)
    if args.json:
        print_json({"output": str(out), **report})
        return 0
    print(f"{'network':<12} {'accuracy':>9} {'decision step':>14} {'spikes to decide':>17}  ({val.name})")
    print(f"{'ANN (ReLU)':<12} {report['ann']['accuracy']:>9.2%} {'':>14} {'':>17}")
    for key in ("converted", "finetuned"):
        if key in report:
            row = report[key]
            print(
                f"{key:<12} {row['accuracy']:>9.2%} {row['mean_decision_step']:>14.1f} "
                f"{row['mean_spikes_until_decision']:>17.1f}"
            )
    print(f"saved {out}", file=sys.stderr)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from ttfs_deploy.compiler.pipeline import load_network

    out = check_output(args.output, inputs=[args.model])
    ir = load_network(args.model)
    if args.format == "netx" and ir.neuron == "lif" and not ir.is_quantized:
        from ttfs_deploy.compiler.pipeline import compile_network

        ir = compile_network(ir, "loihi-sim").ir  # netx holds fixed point: compiled as `compile` does
    if args.format == "nir":
        from ttfs_deploy.interop.nir_io import write_nir

        write_nir(ir, out)
    else:
        from ttfs_deploy.interop.netx import write_netx

        write_netx(ir, out)
    kinds = "fire-once" if ir.neuron == "fire_once" else "LIF"
    print(f"wrote {out}: {args.format} graph of {'-'.join(map(str, ir.sizes))} {kinds} network (T = {ir.T})")
    return 0


def _input_norm(text: str) -> tuple[float, float]:
    parts = text.split(",")
    try:
        mean, std = (float(x) for x in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected MEAN,STD (two numbers), got {text!r}") from None
    if not (math.isfinite(mean) and math.isfinite(std) and std > 0):
        raise argparse.ArgumentTypeError(f"MEAN must be finite and STD > 0, got {text!r}")
    return mean, std


def cmd_import(args: argparse.Namespace) -> int:
    from ttfs_deploy.interop.netx import read_netx
    from ttfs_deploy.ir import save_ir

    out = check_output(args.output, inputs=[args.model])
    ir = read_netx(args.model, steps=args.steps, input_norm=args.input_norm)
    save_ir(ir, out)
    print(f"wrote {out}: {'-'.join(map(str, ir.sizes))} LIF network from {args.model} (T = {ir.T})")
    return 0


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Add ``convert`` and ``export`` to the top-level parser."""
    from ttfs_deploy.data import DATA_SPECS

    p = sub.add_parser(
        "convert",
        help="convert a plain PyTorch ReLU MLP (state_dict) to a fire-once TTFS checkpoint",
        description="Convert an nn.Sequential of Linear/ReLU (its state_dict, read with weights_only=True) "
        "to a fire-once TTFS network: data-based normalisation, each hidden unit as --levels fire-once neurons "
        "with graded thresholds (a thermometer code of its activation), biases folded into thresholds, the class "
        "read from the output layer's potential (--readout membrane) or its first spike; calibrated on "
        "--calib-data; optional fine-tuning with the temporal loss (docs/bring-your-own-model.md).",
    )
    p.add_argument("model", help="PyTorch state_dict file (.pt) of the ReLU MLP")
    p.add_argument("--arch", required=True, help="the MLP's layer sizes, e.g. 784-400-10")
    p.add_argument("--calib-data", default="mnist-5k:train", help=f"calibration (and fine-tuning) data: {DATA_SPECS}")
    p.add_argument("--calib-limit", type=POSITIVE, default=1000, help="calibration samples (first N of --calib-data)")
    p.add_argument("--val-data", default="mnist-5k:val", help="data the side-by-side accuracies are measured on")
    p.add_argument("--T", type=STEPS, default=256, help="simulation steps")
    p.add_argument("--zero-policy", choices=["silent", "last"], default="silent", help="black pixels' coding")
    p.add_argument("--threshold", type=float_in(1e-6, 1e12, "a threshold"), default=100.0, help="firing threshold")
    p.add_argument(
        "--percentile", type=float_in(50.0, 100.0, "a percentile"), default=99.9, help="activation normalisation"
    )
    p.add_argument(
        "--levels", type=int_in(1, 64, "a number of levels"), default=4, help="fire-once neurons per hidden unit"
    )
    p.add_argument(
        "--readout",
        choices=["membrane", "first-spike"],
        default="membrane",
        help="class from the output layer's final potential (non-spiking integrator) or its first spike",
    )
    p.add_argument("--finetune-epochs", type=NON_NEGATIVE, default=0, help="temporal-loss epochs after conversion")
    p.add_argument("--loss", choices=["aggressive", "s4nn"], default="s4nn", help="fine-tuning loss")
    p.add_argument("--lr", type=float_in(1e-9, 100.0, "a learning rate"), default=0.2, help="fine-tuning rate")
    p.add_argument("--seed", type=SEED, default=0, help="fine-tuning seed")
    p.add_argument("-o", "--output", required=True, help="checkpoint to write (.pt)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_convert)

    p = sub.add_parser(
        "export",
        help="write a model as a NIR graph (.nir) or a lava-dl netx file (.net)",
        description="Export a model (.pt, .ttfs, .nir, .net) to another tool's format; what the format cannot "
        "express exactly is refused with the reason (docs/bring-your-own-model.md).",
    )
    p.add_argument("model", help="model file or shipped model name")
    p.add_argument("--format", choices=FORMATS, required=True, help="nir (the nir package) or netx (lava-dl HDF5)")
    p.add_argument("-o", "--output", required=True, help="file to write (.nir / .net)")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser(
        "import",
        help="read a lava-dl netx file (.net) into a compiled artifact (.ttfs), choosing the steps per sample",
        description="Read a netx file as the fixed-point LIF network Lava builds from it and save it as a .ttfs "
        "artifact; --steps sets the window when the file has no simulation/tSample.",
    )
    p.add_argument("model", help="netx file (.net)")
    p.add_argument("--steps", type=STEPS, help="steps per sample (default: the file's simulation/tSample)")
    p.add_argument(
        "--input-norm",
        type=_input_norm,
        metavar="MEAN,STD",
        help="for an input layer with a neuron (lava-dl's dense input through its bias): how images were "
        "normalised in training, torchvision Normalize on pixels scaled to 0..1 (0,1: pixels / 255)",
    )
    p.add_argument("-o", "--output", required=True, help="artifact to write (.ttfs)")
    p.set_defaults(func=cmd_import)
