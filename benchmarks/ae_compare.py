"""Seed 002's comparison on our data: spiking autoencoder (golden, float) vs the same-shape ANN AE, plus a grid.

    .venv/bin/python benchmarks/ae_compare.py [--model models/ae-mnist-rate.pt] [--data mnist-5k:val]
        [--grid docs/figures/ae-mnist-grid.png] [--json]

Prints :func:`ttfs_deploy.pipelines.autoencoder.autoencoder_row` (seed 002's normalised MSE of each)
and draws originals, spiking-AE (golden) and ANN-AE reconstructions of the first 10 images.
"""

from __future__ import annotations

import argparse
import json
import pathlib

from ttfs_deploy.data import load
from ttfs_deploy.pipelines.autoencoder import autoencoder_markdown, autoencoder_row, grid
from ttfs_deploy.reproducible import pin_cpu_kernels


def main() -> None:
    pin_cpu_kernels()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="models/ae-mnist-rate.pt")
    parser.add_argument("--data", default="mnist-5k:val")
    parser.add_argument("--limit", type=int)
    parser.add_argument("--grid")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    data = load(args.data)
    if args.limit:
        data = data.head(args.limit)
    row = autoencoder_row(pathlib.Path(args.model), data, with_images=bool(args.grid))
    images = row.pop("_images", None)
    if args.grid:
        original, snn, ann = images
        grid(pathlib.Path(args.grid), [original, snn, ann], ["input", "spiking AE", "ANN AE"], data.shape)
    print(json.dumps(row) if args.json else "\n".join(autoencoder_markdown([row])))


if __name__ == "__main__":
    main()
