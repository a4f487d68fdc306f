"""``gan train|sample|profile|quality``: the Spiking-GAN of seed 000 and its ANN baseline."""

from __future__ import annotations

import argparse
import sys

from ttfs_deploy.cli.common import (
    POSITIVE,
    SEED,
    check_output,
    check_output_folder,
    float_in,
    kernels_in_use,
    print_json,
)
from ttfs_deploy.errors import UsageError

GRID_SEED = 12345  # noise of the per-epoch sample grids (its own stream: training is not disturbed)


def _digit(text: str) -> int | None:
    if text == "all":
        return None
    if text.isdigit() and 0 <= int(text) <= 9:
        return int(text)
    raise argparse.ArgumentTypeError(f"expected a digit 0..9 or 'all', got {text[:40]!r}")


def cmd_gan_train(args: argparse.Namespace) -> int:
    from ttfs_deploy import data as data_mod
    from ttfs_deploy.pipelines.gan import noise_times, save_grid
    from ttfs_deploy.train.gan import GanConfig, gan_config_dict, train_gan
    from ttfs_deploy.train.gan_checkpoint import save_gan

    out = check_output(args.output)
    folder = check_output_folder(args.out) if args.out else None
    dataset = data_mod.load(args.data)
    if dataset.images.shape[1] != 784:
        raise UsageError(f"--data {dataset.name} has {dataset.images.shape[1]} pixels per image; the GAN makes 28x28")
    images = dataset.images if args.digit is None else dataset.images[dataset.labels == args.digit]
    if len(images) < args.batch_size:
        raise UsageError(f"--data {dataset.name} has {len(images)} images of digit {args.digit}; need >= --batch-size")
    kernels = kernels_in_use()
    cfg = GanConfig(
        digit=args.digit,
        epochs=args.epochs or (200 if args.model == "ann" else GanConfig.epochs),
        seed=args.seed,
        batch_size=args.batch_size,
        optimizer=args.optimizer,
        lr_g=args.lr_g if args.lr_g is not None else (2e-4 if args.model == "ann" else GanConfig.lr_g),
        lr_d=args.lr_d if args.lr_d is not None else (2e-4 if args.model == "ann" else GanConfig.lr_d),
        norm=args.norm,
    )
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
    import torch

    grid_noise = torch.from_numpy(noise_times(64, cfg.noise_size, cfg.T, GRID_SEED)).float()

    def on_epoch(epoch, gan, log) -> None:
        from tqdm import tqdm

        if not args.json:
            tqdm.write(
                f"epoch {epoch}: D loss {log.d_loss:.2f}, G loss {log.g_loss:.2f}, D right on real "
                f"{log.d_real_correct:.0%} / fake {log.d_fake_correct:.0%}, G pixels on {log.g_pixels_on:.0f}",
                file=sys.stderr,
            )
        if folder is not None:
            save_grid(gan.images(grid_noise), folder / f"epoch-{epoch:03d}.png")

    if args.model == "ann":
        from ttfs_deploy.train.gan_ann import train_ann_gan

        gan, logs = train_ann_gan(cfg, images, not args.json, on_epoch, lr=cfg.lr_g)
    else:
        gan, logs = train_gan(cfg, images, not args.json, on_epoch)
    metrics = {"epochs": [vars(log) for log in logs]}
    train = gan_config_dict(cfg) | {
        "model": args.model,
        "data": dataset.name,
        "n_train": int(len(images)),
        "cpu_kernels": kernels,
    }
    save_gan(out, gan, args.digit, cfg.zero_policy, metrics, train)
    last = logs[-1]
    summary = {"output": str(out), "n_train": int(len(images)), **vars(last)}
    if args.json:
        print_json(summary)
    else:
        print(
            f"saved {out}: {args.model} GAN, digit {args.digit if args.digit is not None else 'all'}, "
            f"{len(images)} images, {cfg.epochs} epochs; last epoch D loss {last.d_loss:.2f}, G loss {last.g_loss:.2f}"
        )
    return 0


def _samples(args: argparse.Namespace):
    from ttfs_deploy.pipelines.gan import load, sample

    if args.n <= 0:
        raise UsageError(f"--n must be a positive number of samples, got {args.n}")
    ckpt = load(args.model)
    return ckpt, sample(ckpt, args.n, args.seed, args.target, args.profile, timeout_s=args.timeout)


def cmd_gan_sample(args: argparse.Namespace) -> int:
    import numpy as np

    from ttfs_deploy.fileio import atomic_write
    from ttfs_deploy.pipelines.gan import save_grid

    out = check_output(args.out, inputs=[args.model])
    grid = check_output(args.grid, inputs=[args.model, args.out]) if args.grid else None
    ckpt, samples = _samples(args)
    atomic_write(out, lambda stream: np.save(stream, samples.images, allow_pickle=False))
    if grid is not None:
        save_grid(samples.images[:64], grid)
    info = {
        "output": str(out),
        "n": len(samples.images),
        "shape": list(samples.images.shape),
        "target": args.target,
        "seed": args.seed,
        "digit": ckpt.digit,
        "mean_pixel": float(samples.images.mean()),
    }
    if args.json:
        print_json(info)
    else:
        print(f"wrote {out}: {info['n']} images {tuple(info['shape'][1:])} uint8 from {args.target} (seed {args.seed})")
    return 0


def cmd_gan_profile(args: argparse.Namespace) -> int:
    from ttfs_deploy.pipelines.gan import profile_samples

    if args.budget:
        from ttfs_deploy.measure.budget import load_budget

        load_budget(args.budget)  # a bad budget file is refused before any work
    ckpt, samples = _samples(args)
    if args.budget:
        return _budget(args, ckpt, samples)
    result = profile_samples(ckpt, samples, args.profile, timeout_s=args.timeout)
    if args.json:
        print_json(result)
    else:
        g, gd = (_nj(result[key]) for key in ("energy_g_nj", "energy_g_plus_d_nj"))
        print(
            f"{result['n']} samples on {result['target']} ({result['profile']}): spikes per sample "
            f"G {result['spikes_g']:.1f}, G + D {result['spikes_g_plus_d']:.1f} (bound "
            f"{result['neurons_g_plus_d']:,}); synaptic ops G {result['synaptic_ops_g']:,.0f}, G + D "
            f"{result['synaptic_ops_g_plus_d']:,.0f}; energy G {g}, G + D {gd}"
            f"{' (estimates)' if result['energy_is_estimate'] else ''}; D calls {result['d_says_real']:.0%} real"
        )
    return 0


def _budget(args: argparse.Namespace, ckpt, samples) -> int:
    from ttfs_deploy.pipelines.gan import check_samples_budget

    checks = check_samples_budget(ckpt, samples, args.budget, args.profile)
    passed = all(c.passed for c in checks)
    if args.json:
        rows = [{"name": c.name, "limit": c.limit, "measured": c.measured, "passed": c.passed} for c in checks]
        print_json({"passed": passed, "checks": rows, "n": len(samples.noise)})
    else:
        for c in checks:
            measured = "n/a" if c.measured is None else f"{c.measured:.4g}"
            print(f"{c.name:<30}{c.limit:>12.4g}{measured:>12}  {'pass' if c.passed else 'FAIL'}")
        print("budget " + ("met" if passed else "NOT met") + f" (generator, {len(samples.noise)} samples)")
    return 0 if passed else 1


def _nj(value: float | None) -> str:
    return "unknown" if value is None else f"{value:,.0f} nJ"


def cmd_gan_quality(args: argparse.Namespace) -> int:
    from ttfs_deploy.pipelines.gan import quality

    ckpt, samples = _samples(args)
    result = quality(samples.images, ckpt.digit) | {"target": args.target, "seed": args.seed}
    if args.json:
        print_json(result)
    else:
        intended = (
            f"{result['intended']:.1%} judged digit {ckpt.digit} (real held-out: {result['intended_real_val']:.1%}); "
            if "intended" in result
            else f"judged digits 0-9: {result['judged_classes']}; "
        )
        print(
            f"{result['n']} samples ({args.target}): {intended}Fréchet distance {result['frechet']:.1f} "
            f"(real held-out: {result['frechet_real_val']:.1f}); diversity {result['diversity']:.2f} vs real "
            f"{result['diversity_real']:.2f} (ratio {result['diversity_ratio']:.2f})"
        )
    return 0


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Add ``gan`` and its sub-commands to the top-level parser."""
    from ttfs_deploy.data import DATA_SPECS

    gan = sub.add_parser(
        "gan",
        help="Spiking-GAN (seed 000): train, sample, profile, measure quality",
        description="The TTFS generative adversarial network of seed 000 and its ANN baseline.",
    )
    cmds = gan.add_subparsers(dest="gan_command", required=True, parser_class=type(gan))

    p = cmds.add_parser(
        "train",
        help="train a GAN on one digit (or all)",
        description="Train a Spiking-GAN (G 100-400-784, D 784-400-2, fire-once IF) or the paper's "
        "ANN baseline. The same seed gives the same file bit for bit (pinned kernels, one thread).",
    )
    p.add_argument("--digit", type=_digit, required=True, help="digit class 0..9 (the paper: one GAN per digit) or all")
    p.add_argument("--data", default="mnist-5k:train", help=f"training data: {DATA_SPECS}")
    p.add_argument("--model", choices=["spiking", "ann"], default="spiking", help="the Spiking-GAN or the ANN baseline")
    p.add_argument(
        "--epochs",
        type=POSITIVE,
        help="training epochs (default: 8 spiking, where quality peaks (docs/gan.md); 200 ANN)",
    )
    p.add_argument("--seed", type=SEED, default=0, help="seeds the start, the noise and the shuffling")
    p.add_argument("--batch-size", type=POSITIVE, default=32, help="images per D and G step")
    p.add_argument(
        "--optimizer", choices=["adam", "sgd"], default="adam", help="spiking GAN: Adam or plain SGD (the paper)"
    )
    p.add_argument(
        "--lr-g", type=float_in(0.0, 1e3, "a learning rate"), help="G's learning rate (default: 0.02 spiking, 2e-4 ANN)"
    )
    p.add_argument(
        "--lr-d", type=float_in(0.0, 1e3, "a learning rate"), help="D's learning rate (default: 0.05 spiking, 2e-4 ANN)"
    )
    p.add_argument(
        "--norm", choices=["l1", "l2", "none"], default="l2", help="per-layer error normalisation (paper: l1)"
    )
    p.add_argument("--out", help="folder for a grid of 64 samples per epoch (epoch-NNN.png)")
    p.add_argument("-o", "--output", required=True, help="GAN checkpoint to write (.pt)")
    p.add_argument("--json", action="store_true", help="print the last epoch's figures as JSON (no progress bar)")
    p.set_defaults(func=cmd_gan_train)

    def sampling(p: argparse.ArgumentParser, targets: list[str], default: str, n: int) -> None:
        p.add_argument(
            "model", help="GAN checkpoint written by `ttfs-deploy gan train`, or a shipped one (gan-digit-3)"
        )
        p.add_argument("--n", type=int, default=n, help="samples to generate")
        p.add_argument("--seed", type=SEED, default=0, help="seeds the noise (the same images on every target)")
        p.add_argument("--target", choices=targets, default=default, help="where the generator runs")
        p.add_argument("--profile", default="loihi2", help="hardware profile the generator is compiled under")
        p.add_argument("--timeout", type=float_in(1.0, 7 * 24 * 3600.0, "seconds"), help="loihi-sim wall-clock limit")
        p.add_argument("--json", action="store_true", help="print one JSON object")

    p = cmds.add_parser(
        "sample",
        help="generate images (uint8 .npy, optional PNG grid)",
        description="Generate N images. Integer targets compile the generator as `compile` does "
        "(no calibration: no clipping) and run the noise spike times directly.",
    )
    sampling(p, ["float", "golden", "loihi-sim"], "golden", 64)
    p.add_argument("--out", required=True, help="where to write the (N, 28, 28) uint8 images (.npy)")
    p.add_argument("--grid", help="also write the first 64 as a PNG grid")
    p.set_defaults(func=cmd_gan_sample)

    p = cmds.add_parser(
        "profile",
        help="spikes, synaptic ops and energy per generated sample (G, and G + D); --budget checks G's",
        description="Count spikes, synaptic ops and energy per generated sample. With --budget, check the "
        "generator against a spike budget (ttfs-deploy budget's format, no min_accuracy): exit 0 met, 1 not met.",
    )
    sampling(p, ["float", "golden", "loihi-sim"], "golden", 1000)
    p.add_argument("--budget", help="budget YAML to check the generator against (exit 1 when not met)")
    p.set_defaults(func=cmd_gan_profile)

    p = cmds.add_parser(
        "quality",
        help="judge the samples: intended digit, Fréchet distance, diversity",
        description="Train the judge (784-64-10 ReLU MLP on mnist-5k:train, seeded) and measure "
        "the samples against real digits of the class.",
    )
    sampling(p, ["float", "golden", "loihi-sim"], "golden", 1000)
    p.set_defaults(func=cmd_gan_quality)
