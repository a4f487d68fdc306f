"""Spiking-GAN speed: one training epoch over one digit's training images, and sampling on golden.

    .venv/bin/python benchmarks/bench_gan.py [--digit 0] [--epochs 3] [--n 1000] [--json]

Measures, as the CLI runs them (pinned kernels, torch on one thread):
  * seconds per Spiking-GAN epoch (one D and one G step per batch of 32) over the mnist-5k:train
    images of ``--digit`` (about 450), median of ``--epochs`` epochs after a warm-up epoch that
    compiles the Numba loops; the same for the ANN baseline GAN;
  * sampling ``--n`` images on golden from the resulting generator: compiling it (quantisation and
    mapping, once per command) and simulating the noise spike times (the part that grows with N).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from ttfs_deploy.reproducible import pin_cpu_kernels


def epoch_seconds(train, cfg, images, epochs: int) -> tuple[float, object]:
    stamps = []
    model, _ = train(cfg, images, False, lambda *_: stamps.append(time.perf_counter()))
    return statistics.median(b - a for a, b in zip(stamps[1:], stamps[2:])), model


def main() -> None:
    pin_cpu_kernels()  # before any tensor operation, as the CLI does
    from dataclasses import replace

    from ttfs_deploy import data
    from ttfs_deploy.compiler.pipeline import compile_network
    from ttfs_deploy.pipelines import gan as gan_pipeline
    from ttfs_deploy.train.gan import GanConfig, train_gan
    from ttfs_deploy.train.gan_ann import train_ann_gan
    from ttfs_deploy.train.gan_checkpoint import GanCheckpoint

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--digit", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs (after one warm-up epoch)")
    parser.add_argument("--n", type=int, default=1000, help="images to sample on golden")
    parser.add_argument("--limit", type=int, help="use only the first N images of the digit (tests)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    ds = data.load("mnist-5k:train")
    images = ds.images[ds.labels == args.digit][: args.limit]
    cfg = GanConfig(digit=args.digit, epochs=args.epochs + 2)
    spiking, model = epoch_seconds(train_gan, cfg, images, args.epochs)
    ann, _ = epoch_seconds(train_ann_gan, replace(cfg, lr_g=2e-4, lr_d=2e-4), images, args.epochs)

    ckpt = GanCheckpoint("spiking", model, args.digit, cfg.T, cfg.zero_policy, (28, 28), cfg.noise_size, {}, {})
    start = time.perf_counter()
    ir = compile_network(gan_pipeline.network_ir(ckpt, "G"), "golden", calibration=None).ir
    compiled = time.perf_counter()
    z = gan_pipeline.noise_times(args.n, cfg.noise_size, cfg.T, 0)
    from ttfs_deploy.backends import backend

    backend("golden").simulate(ir, z, early_stop=False)  # warm the compiled loops
    begin = time.perf_counter()
    backend("golden").simulate(ir, z, early_stop=False)
    simulated = time.perf_counter() - begin
    result = {
        "digit": args.digit,
        "n_train": int(len(images)),
        "spiking_epoch_s": spiking,
        "ann_epoch_s": ann,
        "sample_n": args.n,
        "golden_compile_s": compiled - start,
        "golden_simulate_s": simulated,
    }
    if args.json:
        print(json.dumps(result))
        return
    print(f"one epoch over {len(images)} images of digit {args.digit} (batch 32, one D + one G step per batch):")
    print(f"  Spiking-GAN {spiking:.2f} s   ANN GAN {ann:.3f} s   (median of {args.epochs} epochs)")
    print(f"sampling {args.n} images on golden: compile {compiled - start:.2f} s, simulate {simulated:.3f} s")


if __name__ == "__main__":
    main()
