"""Training speed: batched fire-once trainer vs the per-sample, per-time-step NumPy S4NN reference.

    .venv/bin/python benchmarks/bench_train.py [--arch 784-400-10] [--ref-samples N] [--json]

Measures, side by side in one run on mnist-5k:train (4,500 images, 784-400-10 unless --arch, T = 256):
  * seconds per training epoch of the batched trainer (median of 3 epochs, validation excluded);
  * the per-sample NumPy reference (ttfs_deploy.train.reference) two ways: "stepwise", a loop over the 256
    time steps with one matrix-vector product each (the straightforward simulation), and
    "S4NN-style", all steps at once as one matrix product per layer and sample (how the S4NN code
    does it); each timed on --ref-samples images and extrapolated to 4,500;
and checks on a small case (20 images, batch size 1, float64) that both give the same weights.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from dataclasses import replace

import numba
import numpy as np
import torch

from ttfs_deploy.coding import encode_ttfs
from ttfs_deploy.data import load
from ttfs_deploy.reproducible import one_thread, pin_cpu_kernels
from ttfs_deploy.train import reference as ref
from ttfs_deploy.train.loop import TrainConfig, run_epoch, train_step
from ttfs_deploy.train.model import TTFSClassifier


def batched_epoch_seconds(cfg: TrainConfig, t_all: torch.Tensor, labels: torch.Tensor, repeats: int = 3) -> float:
    generator = torch.Generator().manual_seed(0)
    model = TTFSClassifier(list(cfg.arch), list(cfg.thresholds), cfg.T, cfg.norm)
    model.init_weights(generator)
    times = []
    with one_thread():  # as in ttfs_deploy.train.loop.train
        for _ in range(repeats):
            start = time.perf_counter()
            run_epoch(model, t_all, labels, cfg, list(cfg.lr), generator)
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def reference_seconds_per_image(
    cfg: TrainConfig, t_all: np.ndarray, labels: np.ndarray, n: int, stepwise: bool
) -> float:
    model = TTFSClassifier(list(cfg.arch), list(cfg.thresholds), cfg.T, cfg.norm).double()
    model.init_weights(torch.Generator().manual_seed(0))
    weights = [w.detach().numpy().copy() for w in model.weights]
    ref_cfg = ref.RefConfig(thresholds=cfg.thresholds, lr=cfg.lr)
    start = time.perf_counter()
    ref.train_epoch(weights, t_all[:n], labels[:n], ref_cfg, stepwise=stepwise)
    return (time.perf_counter() - start) / n


def max_weight_difference(cfg: TrainConfig, t_all: np.ndarray, labels: np.ndarray, n: int = 20) -> float:
    """Train ``cfg.arch`` on ``n`` images with batch size 1 both ways (float64); max |ΔW|."""
    cfg = replace(cfg, batch_size=1)
    model = TTFSClassifier(list(cfg.arch), list(cfg.thresholds), cfg.T, cfg.norm).double()
    model.init_weights(torch.Generator().manual_seed(0))
    weights = [w.detach().numpy().copy() for w in model.weights]
    ref_cfg = ref.RefConfig(
        thresholds=cfg.thresholds, lr=cfg.lr, loss=cfg.loss, hidden_error_uses_updated_weights=False
    )
    for t_in, label in zip(t_all[:n], labels[:n]):
        ref.train_step(weights, t_in, int(label), ref_cfg)
        train_step(model, torch.from_numpy(t_in[None]), torch.tensor([int(label)]), cfg, list(cfg.lr))
    return max(float(np.abs(w.detach().numpy() - r).max()) for w, r in zip(model.weights, weights))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="784-400-10", help="layer sizes (thresholds 100, lr 0.2 each layer)")
    parser.add_argument("--ref-samples", type=int, default=300, help="images each slow reference trains on")
    parser.add_argument("--batch-size", type=int, default=TrainConfig.batch_size)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    kernels = pin_cpu_kernels()  # the kernels `ttfs-deploy train` runs with
    data = load("mnist-5k:train")
    t_np = encode_ttfs(data.images)
    arch = tuple(int(n) for n in args.arch.split("-"))
    layers = len(arch) - 1
    cfg = TrainConfig(arch=arch, thresholds=(100.0,) * layers, lr=(0.2,) * layers, batch_size=args.batch_size)
    fast = batched_epoch_seconds(cfg, torch.from_numpy(t_np), torch.from_numpy(data.labels))
    stepwise = reference_seconds_per_image(cfg, t_np, data.labels, args.ref_samples, stepwise=True) * len(t_np)
    s4nn_style = reference_seconds_per_image(cfg, t_np, data.labels, args.ref_samples, stepwise=False) * len(t_np)
    diff = max_weight_difference(cfg, t_np, data.labels)
    result = {
        "arch": args.arch,
        "images": len(t_np),
        "batch_size": cfg.batch_size,
        "torch_threads": 1,
        "compiled_loop_threads": numba.get_num_threads(),
        "cpu_kernels": kernels,
        "batched_epoch_s": round(fast, 3),
        "stepwise_reference_epoch_s": round(stepwise, 1),
        "s4nn_style_reference_epoch_s": round(s4nn_style, 1),
        "reference_images_timed": args.ref_samples,
        "speedup_vs_stepwise": round(stepwise / fast, 1),
        "speedup_vs_s4nn_style": round(s4nn_style / fast, 1),
        "max_weight_difference_batch1_20_images": diff,
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(
            f"{args.arch} batched trainer: {fast:.2f} s per epoch of {len(t_np)} images (batch {cfg.batch_size}, "
            f"torch on 1 thread, compiled loops on {numba.get_num_threads()}, {kernels['aten']} kernels)\n"
            f"stepwise NumPy reference: {stepwise:.1f} s per epoch ({result['speedup_vs_stepwise']}x slower)\n"
            f"S4NN-style NumPy reference: {s4nn_style:.1f} s per epoch ({result['speedup_vs_s4nn_style']}x slower)\n"
            f"(references timed on {args.ref_samples} images, scaled to {len(t_np)})\n"
            f"same weights check (20 images, batch 1, float64): max |dW| = {diff:.2e}"
        )


if __name__ == "__main__":
    main()
