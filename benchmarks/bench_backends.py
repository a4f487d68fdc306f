"""Inference throughput: golden simulator vs Lava's Loihi CPU simulator (loihi-sim), one run.

    .venv/bin/python benchmarks/bench_backends.py [--nets N] [--lava-samples K] [--model PATH] [--json]

On mnist-5k:val (500 real MNIST digits, T = 256, silent zeros), for N random-weight 784-400-10
quantized networks (int8 mantissas, exponent 0, 24-bit membrane; thresholds set so that hidden and
output neurons fire at realistic rates):
  * golden: samples/s over all 500 images per network (full 256-step semantics, best of 3);
  * loihi-sim: samples/s on the first K images streamed through one compiled graph, with and
    without early stop (start-up included, as a user sees it), checked spike for spike against golden;
and prints the ratios. ``--model`` adds a trained checkpoint (.pt, compiled here) or artifact (.ttfs).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from ttfs_deploy.backends import golden, lava_sim
from ttfs_deploy.coding import encode_ttfs
from ttfs_deploy.data import load
from ttfs_deploy.ir import FireOnceLayer, InputLayer, NetworkIR
from ttfs_deploy.semantics.readout import classify


def random_network(seed: int, T: int = 256) -> NetworkIR:
    """784-400-10 with int8 weights; thresholds near the typical input so that neurons fire mid-window."""
    rng = np.random.default_rng(seed)
    w1 = rng.integers(-40, 61, size=(400, 784)).astype(np.int32)
    w2 = rng.integers(-64, 97, size=(10, 400)).astype(np.int32)
    layers = (InputLayer("input", 784), FireOnceLayer("fc1", w1, 1000), FireOnceLayer("fc2", w2, 1500))
    quant = {"profile": "loihi2", "weight_bits": 8, "membrane_bits": 24, "weight_exponents": [0, 0]}
    return NetworkIR(
        layers, (("input", "fc1"), ("fc1", "fc2")), T, "silent", (28, 28), quant=quant, meta={"name": f"random-{seed}"}
    )


def load_model(path: str) -> NetworkIR:
    """A compiled artifact as it is, or a checkpoint compiled under the default profile (no calibration)."""
    from ttfs_deploy.compiler.pipeline import compile_network, load_network

    ir = load_network(path)
    if not ir.is_quantized:
        ir = compile_network(ir, "loihi-sim").ir
    return replace(ir, meta={**ir.meta, "name": Path(path).stem})


def bench(ir: NetworkIR, t_in: np.ndarray, labels: np.ndarray, lava_samples: int) -> dict:
    golden_s = float("inf")
    for _ in range(3):  # best of three: the first call also pays for page faults
        start = time.perf_counter()
        times = golden.simulate(ir, t_in)
        golden_s = min(golden_s, time.perf_counter() - start)
    result = {
        "network": ir.meta.get("name", "model"),
        "golden_samples_per_s": len(t_in) / golden_s,
        "golden_accuracy": classify(times, labels, ir.T, "golden").accuracy,
        "hidden_spikes_per_sample": float((times[1] < ir.T).sum(axis=1).mean()),
    }
    sub = t_in[:lava_samples]
    decision = np.minimum(times[-1][:lava_samples].min(axis=1), ir.T - 1)
    for early_stop in (False, True):
        start = time.perf_counter()
        got = lava_sim.simulate(ir, sub, early_stop=early_stop)
        seconds = time.perf_counter() - start
        expected = golden.simulate(ir, sub, early_stop=early_stop)
        steps = int((decision + 1).sum()) if early_stop else len(sub) * ir.T
        key = "lava_early_stop" if early_stop else "lava_full"
        result[key] = {
            "samples_per_s": len(sub) / seconds,
            "seconds": seconds,
            "steps": steps,
            "ms_per_step": 1000 * seconds / steps,
            "equal_to_golden": all(np.array_equal(a, b) for a, b in zip(got, expected)),
        }
    result["mean_decision_step"] = float(decision.mean())
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nets", type=int, default=3, help="random networks (default 3)")
    parser.add_argument("--lava-samples", type=int, default=20, help="images per Lava run (default 20)")
    parser.add_argument("--model", help="also benchmark this checkpoint (.pt) or compiled artifact (.ttfs)")
    parser.add_argument("--json", action="store_true", help="print JSON only")
    args = parser.parse_args()

    data = load("mnist-5k:val")
    t_in = encode_ttfs(data.images, 256, "silent")
    networks = [random_network(seed) for seed in range(args.nets)]
    if args.model:
        networks.append(load_model(args.model))
    rows = [bench(ir, t_in, data.labels, args.lava_samples) for ir in networks]
    golden_rate = statistics.median(r["golden_samples_per_s"] for r in rows)
    full_rate = statistics.median(r["lava_full"]["samples_per_s"] for r in rows)
    early_rate = statistics.median(r["lava_early_stop"]["samples_per_s"] for r in rows)
    summary = {
        "images": len(t_in),
        "lava_samples": args.lava_samples,
        "golden_samples_per_s": golden_rate,
        "lava_full_samples_per_s": full_rate,
        "lava_early_stop_samples_per_s": early_rate,
        "golden_over_lava_full": golden_rate / full_rate,
        "golden_over_lava_early_stop": golden_rate / early_rate,
        "early_stop_speedup": early_rate / full_rate,
        "networks": rows,
    }
    if args.json:
        print(json.dumps(summary, indent=2))
        return
    for r in rows:
        print(
            f"{r['network']:>12}: accuracy {r['golden_accuracy']:.3f} | "
            f"golden {r['golden_samples_per_s']:8.0f} samples/s | loihi-sim full "
            f"{r['lava_full']['samples_per_s']:6.1f} samples/s ({r['lava_full']['ms_per_step']:.2f} ms/step) | "
            f"early stop {r['lava_early_stop']['samples_per_s']:6.1f} samples/s "
            f"(mean decision step {r['mean_decision_step']:.1f}) | equal to golden: "
            f"{r['lava_full']['equal_to_golden'] and r['lava_early_stop']['equal_to_golden']}"
        )
    print(
        f"median: golden {golden_rate:.0f} samples/s; loihi-sim {full_rate:.1f} (full) / {early_rate:.1f} "
        f"(early stop) samples/s; golden is {golden_rate / full_rate:.0f}x / {golden_rate / early_rate:.0f}x "
        f"faster; early stop speeds Lava up {early_rate / full_rate:.1f}x"
    )


if __name__ == "__main__":
    main()
