"""Rate-coded LIF networks: golden vs loihi-sim throughput, and the BPTT trainer's epoch against the TTFS trainer's.

    .venv/bin/python benchmarks/bench_lif.py [--model models/mnist-rate.pt] [--lava-samples 100] [--json]

* golden and loihi-sim run the same compiled network (loihi2 profile) on the same input spikes
  (``--input-seed 0``) over the first ``--lava-samples`` digits of mnist-5k:val (golden also over
  all 500); each side's wall time includes its start-up (Lava: graph compile and worker start);
  both results are checked equal spike for spike. Golden's times are the median of 31 runs after a
  warm-up run (Numba compilation, thread pool); Lava's is one run including its start-up.
  Reports samples/s, sample-steps/s and the ratio.
* training: seconds per epoch over the 4,500 digits of mnist-5k:train of the rate trainer
  (784-400-10, T = 15, batch 100) and of the TTFS trainer (784-400-10, T = 256, batch 32, the
  shipped models' setting), median of 3 epochs each, one thread, interleaved.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np
import torch

from ttfs_deploy.backends import lava_lif
from ttfs_deploy.coding import encode_rate, encode_ttfs
from ttfs_deploy.compiler.pipeline import deploy
from ttfs_deploy.data import load
from ttfs_deploy.reproducible import one_thread, pin_cpu_kernels
from ttfs_deploy.semantics.lif import simulate_rate
from ttfs_deploy.train.lif import RateNetwork
from ttfs_deploy.train.loop import TrainConfig, run_epoch
from ttfs_deploy.train.model import TTFSClassifier
from ttfs_deploy.train.rate_loop import input_spikes


def _median_seconds(run, repeats: int = 31) -> tuple[float, object]:
    """Median wall time of ``repeats`` calls (golden takes about a millisecond: on a shared VM one call, or
    the median of five, is mostly noise) and a result."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def backends(model: str, n_lava: int) -> dict:
    ir = deploy(model, "loihi-sim", None, calibration=None).ir
    images = load("mnist-5k:val").images
    spikes_all = encode_rate(images, ir.T, ir.rate.scheme, 0, ir.rate.max_rate)
    simulate_rate(ir, spikes_all)  # compile the Numba loops and start the thread pool outside the timing
    golden_all_s, golden_all = _median_seconds(lambda: simulate_rate(ir, spikes_all))
    spikes = spikes_all[:n_lava]
    golden_s, golden = _median_seconds(lambda: simulate_rate(ir, spikes))
    start = time.perf_counter()
    lava = lava_lif.simulate(ir, spikes, timeout_s=3600)
    lava_s = time.perf_counter() - start
    equal = all(np.array_equal(a, b) for a, b in zip(golden, lava))
    steps = ir.T
    return {
        "model": model,
        "T": ir.T,
        "n": n_lava,
        "golden_s": golden_s,
        "golden_all_500_s": golden_all_s,
        "golden_sample_steps_per_s": len(spikes_all) * steps / golden_all_s,
        "loihi_sim_s": lava_s,
        "loihi_sim_samples_per_s": n_lava / lava_s,
        "loihi_sim_sample_steps_per_s": n_lava * steps / lava_s,
        "speedup_same_samples": lava_s / golden_s,
        "speedup_per_sample_step": (len(spikes_all) * steps / golden_all_s) / (n_lava * steps / lava_s),
        "equal_spike_for_spike": equal,
        "golden_all_equal_first": all(np.array_equal(a[:n_lava], b) for a, b in zip(golden_all, golden)),
    }


def rate_epoch_seconds(train_images: torch.Tensor, labels: torch.Tensor) -> float:
    generator = torch.Generator().manual_seed(0)
    model = RateNetwork([784, 400, 10], T=15)
    model.init_weights(generator)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)
    start = time.perf_counter()
    for idx in torch.randperm(len(labels), generator=generator).split(100):
        spikes = input_spikes(train_images[idx], 15, 1.0, generator)
        loss = torch.nn.functional.cross_entropy(model(spikes)[0][-1].sum(dim=1), labels[idx])
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    return time.perf_counter() - start


def ttfs_epoch_seconds(train_set, labels: torch.Tensor) -> float:
    cfg = TrainConfig(arch=(784, 400, 10), batch_size=32)
    generator = torch.Generator().manual_seed(0)
    model = TTFSClassifier(list(cfg.arch), list(cfg.thresholds), cfg.T, cfg.norm)
    model.init_weights(generator)
    t_all = torch.from_numpy(encode_ttfs(train_set.images, cfg.T, cfg.zero_policy))
    start = time.perf_counter()
    run_epoch(model, t_all, labels, cfg, list(cfg.lr), generator)
    return time.perf_counter() - start


def training() -> dict:
    train_set = load("mnist-5k:train")
    images = torch.from_numpy(train_set.images).float() / 255
    labels = torch.from_numpy(train_set.labels).long()
    rate, ttfs = [], []
    with one_thread():
        for _ in range(3):
            rate.append(rate_epoch_seconds(images, labels))
            ttfs.append(ttfs_epoch_seconds(train_set, labels))
    return {
        "rate_epoch_s": statistics.median(rate),
        "ttfs_epoch_s": statistics.median(ttfs),
        "ratio": statistics.median(rate) / statistics.median(ttfs),
        "rate_all": rate,
        "ttfs_all": ttfs,
    }


def main() -> None:
    pin_cpu_kernels()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="models/mnist-rate.pt")
    parser.add_argument("--lava-samples", type=int, default=100)
    parser.add_argument("--skip-training", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = {"backends": backends(args.model, args.lava_samples)}
    if not args.skip_training:
        result["training"] = training()
    print(json.dumps(result, indent=None if args.json else 2))


if __name__ == "__main__":
    main()
