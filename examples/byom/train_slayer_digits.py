"""Train a 64-32-10 lava-dl SLAYER CUBA network on sklearn's 8x8 digits and export it as netx (digits.net).

The input is ttfs-deploy's own rate coding (Poisson, probability pixel / 255 per step, T = 16,
`ttfs_deploy.coding.encode_rate`), so the network sees in training what `ttfs-deploy run` feeds it.
Prints SLAYER's own accuracy on digits:test with the input seed ttfs-deploy uses (0), the figure a
lava-dl user would quote, for comparison with `ttfs-deploy run digits.net --target golden`.

    .venv/bin/python examples/byom/train_slayer_digits.py digits.net
"""

import sys

import h5py
import lava.lib.dl.slayer as slayer
import numpy as np
import torch

from ttfs_deploy import data
from ttfs_deploy.coding import encode_rate

T = 16
torch.manual_seed(0)
params = {"threshold": 1.0, "current_decay": 1.0, "voltage_decay": 0.1, "requires_grad": False}
blocks = torch.nn.ModuleList(
    [
        slayer.block.cuba.Dense(params, 64, 32, weight_norm=False),
        slayer.block.cuba.Dense(params, 32, 10, weight_norm=False),
    ]
)


def forward(spikes: np.ndarray) -> torch.Tensor:
    x = torch.from_numpy(spikes.astype(np.float32)).permute(0, 2, 1)  # (N, C, T)
    for block in blocks:
        x = block(x)
    return x.sum(dim=2)  # output spike counts


train, test = data.load("digits:train"), data.load("digits:test")
opt = torch.optim.Adam(blocks.parameters(), lr=3e-3)
for epoch in range(20):
    spikes = encode_rate(train.images, T, "poisson", seed=1000 + epoch)
    for idx in np.array_split(np.random.default_rng(epoch).permutation(len(train.labels)), len(train.labels) // 32):
        loss = torch.nn.functional.cross_entropy(forward(spikes[idx]), torch.from_numpy(train.labels[idx]))
        opt.zero_grad()
        loss.backward()
        opt.step()
with torch.no_grad():
    counts = forward(encode_rate(test.images, T, "poisson", seed=0)).numpy()
print(
    f"SLAYER accuracy on digits:test (input seed 0, ties to the lowest index): {(counts.argmax(1) == test.labels).mean():.2%}"
)
with h5py.File(sys.argv[1], "w") as handle:
    handle.create_dataset("simulation/Ts", data=1)
    handle.create_dataset("simulation/tSample", data=T)
    layers = handle.create_group("layer")
    layers.create_dataset("0/type", data=np.array([b"input"]))
    layers.create_dataset("0/shape", data=np.array([64]))
    for i, block in enumerate(blocks, start=1):
        block.export_hdf5(layers.create_group(f"{i}"))
print("wrote", sys.argv[1])
