"""Where golden's time goes: fixed cost per call, one thread against the split, and each LIF layer alone.

    .venv/bin/python benchmarks/bench_golden_parts.py [--repeats 61] [--json]

On ``models/mnist-rate.pt`` (784-400-10 LIF, T = 15, loihi2) and the digits of mnist-5k:val (input
seed 0): golden on 1, 100 and 500 digits with one worker and with the default split, each LIF layer's
kernel alone on one thread over the 500 digits, and the TTFS golden (``models/mnist-s4nn.pt``, same
digits) with the default split. Every figure is the median of ``--repeats`` warm calls in ms, the
configurations interleaved (:func:`_interleaved_ms`). Runs unchanged on earlier commits that have
these functions (``git worktree`` to compare).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np

from ttfs_deploy.coding import encode_rate, encode_ttfs
from ttfs_deploy.compiler.pipeline import deploy
from ttfs_deploy.data import load
from ttfs_deploy.semantics import fire_once, kernels, lif


def _interleaved_ms(runs: dict, repeats: int) -> dict:
    """Median ms of each callable in ``runs`` over ``repeats`` rounds; in each round every callable is
    called twice in a row and the second call timed, so each is timed warm (its weights in cache, the
    pool thread just used, as in a loop of calls) while a busy stretch still hits all of them alike."""
    times: dict = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            run()
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) * 1e3 for name, t in times.items()}


def _with_workers(workers: int, run):
    def call():
        default, kernels._WORKERS = kernels._WORKERS, workers
        try:
            run()
        finally:
            kernels._WORKERS = default

    return call


def _layer_alone(ir, rasters, k: int):
    """Layer ``k + 1``'s kernel over all samples on the calling thread (input padded as simulate_lif pads it)."""
    layer = ir.chain()[k + 1]
    run = lif._layer_runner(layer, ir.quant.weight_exponents[k])
    source = rasters[k]
    padded = np.zeros(source.shape[:2] + (-(-source.shape[2] // 8) * 8,), np.uint8)
    padded[:, :, : source.shape[2]] = source
    out = np.zeros(source.shape[:2] + (-(-layer.size // 8) * 8,), np.uint8)
    return lambda: run(padded, padded.view(np.uint64), out, lif._NO_MEMBRANE, 0, len(padded))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=61)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    ir = deploy("models/mnist-rate.pt", "loihi-sim", None, calibration=None).ir
    images = load("mnist-5k:val").images
    spikes = encode_rate(images, ir.T, ir.rate.scheme, 0, ir.rate.max_rate)
    rasters = lif.simulate_rate(ir, spikes)
    runs = {}
    for n in (1, 100, 500):
        runs[f"lif_{n}_one_thread"] = _with_workers(1, lambda n=n: lif.simulate_rate(ir, spikes[:n]))
        runs[f"lif_{n}_split"] = lambda n=n: lif.simulate_rate(ir, spikes[:n])
    for k in range(len(ir.chain()) - 1):
        runs[f"lif_layer_{k + 1}_alone_500"] = _layer_alone(ir, rasters, k)
    ttfs = deploy("models/mnist-s4nn.pt", "loihi-sim", None, calibration=None).ir
    times = encode_ttfs(images, ttfs.T, ttfs.zero_policy)
    runs["ttfs_500_split"] = lambda: fire_once.simulate(ttfs, times)
    result = {name: round(ms, 3) for name, ms in _interleaved_ms(runs, args.repeats).items()}
    result["ttfs_500_samples_per_s"] = round(500 / result["ttfs_500_split"] * 1e3)
    print(json.dumps(result, indent=None if args.json else 2))


if __name__ == "__main__":
    main()
