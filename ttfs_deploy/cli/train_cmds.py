"""``train`` and ``baseline``: fit a TTFS classifier or the same-shape ANN."""

from __future__ import annotations

import argparse
import pathlib
import sys

from ttfs_deploy.cli.common import (
    NON_NEGATIVE,
    POSITIVE,
    SEED,
    STEPS,
    check_output,
    float_in,
    floats,
    kernels_in_use,
    limit,
    print_json,
)
from ttfs_deploy.errors import UsageError


def cmd_train(args: argparse.Namespace) -> int:
    from ttfs_deploy import data as data_mod
    from ttfs_deploy.train.checkpoint import load_checkpoint, save_checkpoint
    from ttfs_deploy.train.loop import TrainConfig, config_dict, evaluate, train
    from ttfs_deploy.train.model import parse_arch

    if args.neuron != "fire-once" or args.coding != "ttfs":
        raise UsageError(
            "train fits fire-once TTFS networks; rate-coded LIF networks (--neuron lif --coding rate) are trained "
            "by `ttfs-deploy train-rate` (its own defaults: T = 15, batch 100, Adam; see --help)"
        )
    try:
        sizes = parse_arch(args.arch)
    except ValueError as err:
        raise UsageError(str(err)) from None
    out = check_output(args.output, inputs=[args.init_from])
    train_set = limit(data_mod.load(args.data), args.limit)
    val_set = data_mod.load(args.val_data)
    for name, ds in (("--data", train_set), ("--val-data", val_set)):
        data_mod.check_labels(ds, sizes[-1])  # no samples, or a label without an output: refused
        if ds.images.shape[1] != sizes[0]:
            raise UsageError(
                f"{name} {ds.name} has {ds.images.shape[1]} pixels per image but --arch "
                f"{args.arch} expects {sizes[0]} inputs"
            )
        if ds.n_classes > sizes[-1]:
            raise UsageError(
                f"{name} {ds.name} has {ds.n_classes} classes but --arch {args.arch} has only {sizes[-1]} outputs"
            )
    n_layers = len(sizes) - 1
    lr = args.lr * n_layers if len(args.lr) == 1 else args.lr
    thresholds = args.threshold * n_layers if len(args.threshold) == 1 else args.threshold
    if len(lr) != n_layers or len(thresholds) != n_layers:
        raise UsageError(f"--lr and --threshold take 1 or {n_layers} values for --arch {args.arch}")
    if args.epochs <= 0 or args.batch_size <= 0 or args.gamma <= 0 or args.ann_epochs < 0:
        raise UsageError("--epochs, --batch-size and --gamma must be positive, --ann-epochs not negative")
    # every input is checked before the kernel warning, so bad input stays one line on stderr
    start = load_checkpoint(args.init_from) if args.init_from else None
    if start is not None and (start.model.sizes != sizes or start.T != args.T):
        raise UsageError(
            f"--init-from {args.init_from} is {'-'.join(map(str, start.model.sizes))} with "
            f"T = {start.T}, but this run is {args.arch} with T = {args.T}"
        )
    kernels = kernels_in_use()
    initial, init_info = None, None
    if start is not None:
        initial = [w.detach() for w in start.model.weights]
    elif args.init == "ann":
        from ttfs_deploy.train.ann_init import ann_initial_weights

        converted = ann_initial_weights(
            sizes,
            list(thresholds),
            args.T,
            args.zero_policy,
            train_set,
            args.ann_epochs,
            args.shift,
            args.seed,
            progress=not args.json,
        )
        initial, init_info = converted.weights, converted.summary()
        if not args.json:
            print(
                f"ANN start: binary network {converted.ann_train_accuracy:.2%} on the first "
                f"{min(1000, len(train_set.labels)):,} training digits, converted to fire-once {converted.calibration_accuracy:.2%} (output quantile "
                f"{converted.output_quantile:g})",
                file=sys.stderr,
            )
    cfg = TrainConfig(
        arch=tuple(sizes),
        loss=args.loss,
        epochs=args.epochs,
        seed=args.seed,
        batch_size=args.batch_size,
        lr=tuple(lr),
        lr_final_fraction=args.lr_final,
        decay=args.decay,
        norm=args.norm,
        gamma=args.gamma,
        T=args.T,
        zero_policy=args.zero_policy,
        thresholds=tuple(thresholds),
        shift=args.shift,
        init_from=pathlib.Path(args.init_from).name if args.init_from else None,
        init="checkpoint" if args.init_from else args.init,
        ann_epochs=args.ann_epochs,
    )
    model, logs = train(cfg, train_set, val_set, progress=not args.json, initial_weights=initial)
    final = evaluate(model, val_set, cfg.zero_policy).to_json()
    metrics = {
        "val_data": val_set.name,
        "val_accuracy": final["accuracy"],
        "val_accuracy_strict": final["accuracy_strict"],
        "val_mean_decision_step": final["mean_decision_step"],
        "val_mean_spikes_until_decision": final["mean_spikes_until_decision"],
        "epochs": [vars(log) for log in logs],
    }
    train_info = config_dict(cfg) | {"data": train_set.name, "n_train": len(train_set.labels), "cpu_kernels": kernels}
    if init_info is not None:
        train_info["ann_init"] = init_info
    save_checkpoint(out, model, cfg.zero_policy, train_set.shape, metrics, train_info)
    if args.json:
        print_json({"output": str(out), **metrics})
    else:
        print(
            f"saved {out}: {val_set.name} accuracy {final['accuracy']:.2%} "
            f"(ties counted wrong: {final['accuracy_strict']:.2%}), mean decision step "
            f"{final['mean_decision_step']:.1f}, mean spikes until decision "
            f"{final['mean_spikes_until_decision']:.1f}"
        )
    return 0


def cmd_baseline(args: argparse.Namespace) -> int:
    from ttfs_deploy import data as data_mod
    from ttfs_deploy.train.ann_baseline import train_ann
    from ttfs_deploy.train.model import parse_arch

    try:
        sizes = parse_arch(args.arch)
    except ValueError as err:
        raise UsageError(str(err)) from None
    train_set, val_set = data_mod.load(args.data), data_mod.load(args.val_data)
    for ds in (train_set, val_set):
        data_mod.check_labels(ds, sizes[-1])
    if train_set.images.shape[1] != sizes[0]:
        raise UsageError(
            f"--data {train_set.name} has {train_set.images.shape[1]} pixels per image but --arch "
            f"{args.arch} expects {sizes[0]} inputs"
        )
    result = train_ann(sizes, train_set, val_set, args.epochs, args.shift, args.seed, progress=not args.json)
    if args.json:
        print_json(result)
    else:
        print(
            f"ANN {args.arch} (ReLU, Adam, {args.epochs} epochs, shift {args.shift}): "
            f"{val_set.name} accuracy {result['val_accuracy']:.2%}"
        )
    return 0


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Add this module's commands to the top-level parser."""
    from ttfs_deploy.data import DATA_SPECS

    p = sub.add_parser(
        "train",
        help="train a TTFS classifier (S4NN / Aggressive TTFS) in PyTorch",
        description="Train a fire-once TTFS classifier with the S4NN temporal gradient. The same "
        "seed gives the same checkpoint bit for bit on any x86-64 CPU and core count "
        "(PyTorch's portable kernels are pinned; docs/training.md).",
    )
    p.add_argument("--arch", default="784-400-10", help="layer sizes, e.g. 784-400-10")
    p.add_argument("--neuron", choices=["fire-once", "lif"], default="fire-once", help="lif: use `train-rate`")
    p.add_argument("--coding", choices=["ttfs", "rate"], default="ttfs", help="rate: use `train-rate`")
    p.add_argument(
        "--loss",
        choices=["aggressive", "s4nn"],
        default="aggressive",
        help="Aggressive TTFS (seed 000) or S4NN relative targets",
    )
    p.add_argument("--data", default="mnist-5k:train", help=f"training data: {DATA_SPECS}")
    p.add_argument("--val-data", default="mnist-5k:val", help="validation data, evaluated after each epoch")
    p.add_argument("--epochs", type=POSITIVE, default=30, help="training epochs")
    p.add_argument("--seed", type=SEED, default=0, help="seeds the start, shuffling and shifts")
    p.add_argument("--batch-size", type=POSITIVE, default=32, help="samples per gradient step")
    p.add_argument("--lr", type=floats, default=(0.2,), help="learning rate, one or one per layer (comma-separated)")
    p.add_argument(
        "--lr-final",
        type=float_in(0.0, 1.0, "a fraction"),
        default=0.1,
        help="the learning rate decays linearly per epoch to this fraction of its start",
    )
    p.add_argument("--threshold", type=floats, default=(100.0,), help="firing threshold(s)")
    p.add_argument(
        "--decay", type=float_in(0.0, 1.0, "a weight decay"), default=1e-6, help="weight decay per sample (S4NN: 1e-6)"
    )
    p.add_argument("--norm", choices=["l1", "l2", "none"], default="l2", help="per-layer error normalisation")
    p.add_argument(
        "--gamma",
        type=POSITIVE,
        default=3,
        help="S4NN loss: outputs within this many steps of the earliest are pushed to it + gamma (S4NN: 3)",
    )
    p.add_argument("--T", type=STEPS, default=256, help="simulation steps")
    p.add_argument(
        "--zero-policy",
        choices=["silent", "last"],
        default="silent",
        help="black pixels: never spike (S4NN) or spike at step T-1",
    )
    p.add_argument("--shift", type=NON_NEGATIVE, default=2, help="augment with random shifts up to this many pixels")
    p.add_argument("--limit", type=POSITIVE, help="use only the first N training samples")
    p.add_argument(
        "--init",
        choices=["ann", "s4nn"],
        default="ann",
        help="start from a converted binary-hidden network of the same shape (ann, default) or from "
        "S4NN's uniform random weights (s4nn)",
    )
    p.add_argument("--ann-epochs", type=NON_NEGATIVE, default=30, help="training epochs of that network (--init ann)")
    p.add_argument("--init-from", help="start from this checkpoint's weights (fine-tuning); overrides --init")
    p.add_argument("-o", "--output", required=True, help="checkpoint to write (.pt)")
    p.add_argument("--json", action="store_true", help="print the final metrics as JSON (no progress bar)")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser(
        "baseline",
        help="train the same-shape ReLU ANN as an accuracy reference",
        description="Train a ReLU MLP of the same shape (Adam, cross-entropy) and report accuracy.",
    )
    p.add_argument("--arch", default="784-400-10", help="layer sizes of the ReLU network, e.g. 784-400-10")
    p.add_argument("--data", default="mnist-5k:train", help=f"training data: {DATA_SPECS}")
    p.add_argument("--val-data", default="mnist-5k:val", help="data the accuracy is reported on")
    p.add_argument("--epochs", type=POSITIVE, default=30, help="training epochs")
    p.add_argument("--shift", type=NON_NEGATIVE, default=0, help="augment with random shifts up to this many pixels")
    p.add_argument("--seed", type=SEED, default=0, help="seeds the initial weights, shuffling and shifts")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_baseline)
