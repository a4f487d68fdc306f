"""``train-rate`` (rate-coded LIF classifier or seed 002 autoencoder) and what ``run`` prints for autoencoders."""

from __future__ import annotations

import argparse

import numpy as np

from ttfs_deploy.cli.common import (
    NON_NEGATIVE,
    POSITIVE,
    SEED,
    STEPS,
    check_output,
    float_in,
    json_text,
    kernels_in_use,
    limit,
    print_json,
)
from ttfs_deploy.errors import UsageError


def cmd_train_rate(args: argparse.Namespace) -> int:
    from ttfs_deploy import data as data_mod
    from ttfs_deploy.train.lif_checkpoint import save_rate_checkpoint
    from ttfs_deploy.train.model import parse_arch
    from ttfs_deploy.train.rate_loop import RateConfig, config_dict, train_rate

    try:
        sizes = parse_arch(args.arch)
    except ValueError as err:
        raise UsageError(str(err)) from None
    out = check_output(args.output)
    train_set = limit(data_mod.load(args.data), args.limit)
    val_set = limit(data_mod.load(args.val_data), args.val_limit)
    for name, ds in (("--data", train_set), ("--val-data", val_set)):
        if ds.images.shape[1] != sizes[0]:
            raise UsageError(f"{name} {ds.name} has {ds.images.shape[1]} pixels but --arch expects {sizes[0]} inputs")
        if args.task == "classify":
            data_mod.check_labels(ds, sizes[-1])
    if args.task == "autoencode" and sizes[-1] != sizes[0]:
        raise UsageError(f"--task autoencode needs as many outputs as inputs, got --arch {args.arch}")
    kernels = kernels_in_use()
    cfg = RateConfig(
        arch=tuple(sizes),
        task=args.task,
        epochs=args.epochs,
        seed=args.seed,
        batch_size=args.batch_size,
        lr=args.lr,
        weight_decay=args.weight_decay,
        T=args.T,
        vth=1.0,
        du=1.0,
        dv=args.leak,
        max_rate=args.max_rate,
        scheme=args.scheme,
        shift=args.shift,
    )
    model, logs = train_rate(cfg, train_set, val_set, progress=not args.json)
    key = "val_mse" if args.task == "autoencode" else "val_accuracy"
    metrics = {
        "val_data": val_set.name,
        "n_val": len(val_set.labels),
        key: logs[-1].val,
        "epochs": [vars(x) for x in logs],
    }
    train_info = config_dict(cfg) | {"data": train_set.name, "n_train": len(train_set.labels), "cpu_kernels": kernels}
    save_rate_checkpoint(out, model, cfg.scheme, cfg.max_rate, train_set.shape, metrics, train_info)
    if args.json:
        print_json({"output": str(out), **metrics})
    else:
        what = f"normalised MSE {logs[-1].val:.4f}" if args.task == "autoencode" else f"accuracy {logs[-1].val:.2%}"
        print(f"saved {out}: {val_set.name} {what} (input seed 0, float model)")
    return 0


def print_rate_extras(result: dict) -> None:
    """What ``run`` adds for a rate-coded classifier: how its decision step is meant, and the causal rule."""
    c = result["causal"]
    if c is None:  # lava-dl's integrator read-out (ttfs_deploy.semantics.rate)
        print(
            "  (integrator read-out: the prediction is the arg-max of the output membrane at the window's last step,\n"
            "   lowest index on ties; the decision step above is the oracle bound on its running arg-max)"
        )
        return
    print(
        "  (rate coding: ties are shared top spike counts; the decision step above is the oracle bound,\n"
        "   in hardware steps (output step + layers), from which the running count's arg-max never changes)\n"
        f"  causal rule, {c['rule']}: accuracy {c['accuracy']:.2%}, decision step "
        f"{c['mean_decision_step']:.1f}, spikes until decision {c['mean_spikes_until_decision']:.1f}\n"
        f"  input seed {result['input_seed']}"
    )


def finish_recon_run(args: argparse.Namespace, dataset, outcome) -> int:
    """``run`` of an autoencoder: prints mse and n (``--json``), writes ``--out`` reconstructions (uint8 (N, h, w))."""
    from ttfs_deploy.fileio import atomic_write

    result = outcome.result
    if getattr(args, "out", None):
        path = check_output(args.out, inputs=[args.model])
        images = result.reconstructions.reshape((-1, *dataset.shape))
        atomic_write(path, lambda stream: np.save(stream, images, allow_pickle=False))
    summary = result.to_json() | {"profile": outcome.profile}
    if args.json:
        print(json_text(summary))
    else:
        print(
            f"{args.model} on {dataset.name} (target {args.target}, n = {summary['n']}): normalised MSE "
            f"{summary['mse']:.4f} (seed 002's measure), mean spikes per inference {summary['mean_spikes_total']:.1f}, "
            f"input seed {summary['input_seed']}"
        )
        if args.out:
            print(f"  reconstructions written to {args.out}")
    return 0


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Add ``train-rate``."""
    from ttfs_deploy.data import DATA_SPECS

    p = sub.add_parser(
        "train-rate",
        help="train a rate-coded network of Loihi LIF neurons (classifier or seed 002 autoencoder), BPTT",
        description="Train Loihi CUBA LIF layers (du = 1, dv = --leak, vth = 1) on Poisson-coded input with "
        "BPTT and a fast-sigmoid surrogate gradient. --task classify: cross-entropy on output spike counts; "
        "--task autoencode: seed 002's masked membrane-potential loss. Same seed, same checkpoint.",
    )
    p.add_argument("--task", choices=["classify", "autoencode"], default="classify")
    p.add_argument("--arch", default="784-400-10", help="layer sizes, e.g. 784-400-10 or 784-196-784")
    p.add_argument("--data", default="mnist-5k:train", help=f"training data: {DATA_SPECS}")
    p.add_argument("--val-data", default="mnist-5k:val", help="validation data")
    p.add_argument("--limit", type=POSITIVE, help="use only the first N training samples")
    p.add_argument("--val-limit", type=POSITIVE, help="use only the first N validation samples")
    p.add_argument("--epochs", type=POSITIVE, default=10)
    p.add_argument("--seed", type=SEED, default=0, help="seeds the start, shuffling and training input spikes")
    p.add_argument("--batch-size", type=POSITIVE, default=100)
    p.add_argument("--lr", type=float_in(1e-9, 10.0, "a learning rate"), default=1e-3, help="Adam learning rate")
    p.add_argument("--weight-decay", type=float_in(0.0, 1.0, "a weight decay"), default=1e-4)
    p.add_argument("--T", type=STEPS, default=15, help="steps per sample (seed 002: 15 MNIST, 60 Fashion-MNIST)")
    p.add_argument("--leak", type=float_in(0.0, 1.0, "a leak"), default=0.1, help="voltage decay dv (seed 002: 0.1)")
    p.add_argument(
        "--max-rate", type=float_in(1e-6, 1.0, "a rate"), default=1.0, help="spike probability of a white pixel"
    )
    p.add_argument("--scheme", choices=["poisson", "regular"], default="poisson", help="input coding at run time")
    p.add_argument("--shift", type=NON_NEGATIVE, default=0, help="augment with random shifts up to this many pixels")
    p.add_argument("-o", "--output", required=True, help="checkpoint to write (.pt)")
    p.add_argument("--json", action="store_true", help="print the final metrics as JSON")
    p.set_defaults(func=cmd_train_rate)
