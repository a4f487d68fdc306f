"""Train a lava-dl SLAYER network in lava-dl's default layout on sklearn's 8x8 digits; export it as netx.

Layout: ``slayer.block.cuba.Input`` (a CUBA neuron fed the normalised image every step, which Lava
presents through the input neurons' bias), a CUBA ``Dense`` hidden layer, and an ``Affine`` read-out
without dynamics (netx makes it the non-spiking integrator; the class is the arg-max of its summed
input, i.e. of the integrator's final membrane). Images are normalised torchvision-style with
MEAN, STD = 0.5, 0.5 on pixels in 0..1, so the import says ``--input-norm 0.5,0.5``. Blocks run
without SLAYER's per-layer delay shift, so every layer sees the sample's T steps, as on Lava.

    .venv/bin/python examples/byom/train_slayer_dense_digits.py digits_dense.net
    .venv/bin/ttfs-deploy import digits_dense.net --input-norm 0.5,0.5 -o digits_dense.ttfs
    .venv/bin/ttfs-deploy run digits_dense.ttfs --target golden --data digits:test
"""

import sys

import h5py
import lava.lib.dl.slayer as slayer
import numpy as np
import torch

from ttfs_deploy import data

T, MEAN, STD = 16, 0.5, 0.5
PARAMS = {"threshold": 1.0, "current_decay": 1.0, "voltage_decay": 0.1, "requires_grad": False}


def build(hidden: int = 48) -> torch.nn.ModuleList:
    torch.manual_seed(0)
    return torch.nn.ModuleList(
        [
            slayer.block.cuba.Input(PARAMS, delay_shift=False),
            slayer.block.cuba.Dense(PARAMS, 64, hidden, weight_norm=False, delay_shift=False),
            slayer.block.cuba.Affine(PARAMS, hidden, 10, weight_norm=False, dynamics=False),
        ]
    )


def forward(blocks: torch.nn.ModuleList, images: np.ndarray) -> torch.Tensor:
    x = torch.from_numpy(((images / 255.0 - MEAN) / STD).astype(np.float32))
    x = x[:, :, None].expand(-1, -1, T).contiguous()  # (N, C, T): the image every step
    for block in blocks:
        x = block(x)
    return x.sum(dim=2)  # the integrator's final membrane, up to scale


def train(epochs: int = 30, hidden: int = 48) -> torch.nn.ModuleList:
    blocks, train_set = build(hidden), data.load("digits:train")
    opt = torch.optim.Adam(blocks.parameters(), lr=3e-3)
    n = len(train_set.labels)
    for epoch in range(epochs):
        for idx in np.array_split(np.random.default_rng(epoch).permutation(n), n // 32):
            out = forward(blocks, train_set.images[idx]) / T
            loss = torch.nn.functional.cross_entropy(out, torch.from_numpy(train_set.labels[idx]))
            opt.zero_grad()
            loss.backward()
            opt.step()
    return blocks


def accuracy(blocks: torch.nn.ModuleList, dataset) -> float:
    """SLAYER's own accuracy: arg-max of the summed read-out (lowest index on ties)."""
    with torch.no_grad():
        return float((forward(blocks, dataset.images).numpy().argmax(1) == dataset.labels).mean())


def export(blocks: torch.nn.ModuleList, path: str) -> None:
    with h5py.File(path, "w") as handle:
        handle.create_dataset("simulation/Ts", data=1)
        handle.create_dataset("simulation/tSample", data=T)
        layers = handle.create_group("layer")
        for i, block in enumerate(blocks):
            block.export_hdf5(layers.create_group(f"{i}"))


if __name__ == "__main__":
    trained = train()
    print(f"SLAYER accuracy on digits:test: {accuracy(trained, data.load('digits:test')):.2%}")
    export(trained, sys.argv[1])
    print("wrote", sys.argv[1])
