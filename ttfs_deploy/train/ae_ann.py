"""Seed 002's baseline: a same-shape ANN autoencoder (e.g. 784-196-784), trained on pixels.

Sigmoid hidden and output layers, mean squared error against the pixels in [0, 1], Adam (the paper
compares its spiking AE with AE-ANNs trained with and without Adam; Adam is the stronger one).
Seeded and on one thread, like every trainer here. Quality: seed 002's normalised MSE
(:func:`ttfs_deploy.semantics.rate.normalised_mse`) of the reconstructions on held-out images.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ttfs_deploy.data import Dataset
from ttfs_deploy.reproducible import one_thread
from ttfs_deploy.semantics.rate import normalised_mse
from ttfs_deploy.train.epochs import batch_indices, pixels

__all__ = ["train_ae_ann", "ae_ann_reconstruct"]


def train_ae_ann(
    sizes: list[int],
    train_set: Dataset,
    epochs: int,
    seed: int,
    lr: float = 1e-3,
    batch_size: int = 100,
    weight_decay: float = 1e-4,
) -> nn.Sequential:
    """Train the ANN autoencoder ``sizes`` (input = output size) with Adam on pixel MSE."""
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    layers: list[nn.Module] = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(n_in, n_out), nn.Sigmoid()]
    model = nn.Sequential(*layers)
    optimiser = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    x_all = pixels(train_set.images)
    with one_thread():
        for _ in range(epochs):
            for idx in batch_indices(len(x_all), batch_size, generator):
                loss = nn.functional.mse_loss(model(x_all[idx]), x_all[idx])
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
    return model


@torch.no_grad()
def ae_ann_reconstruct(model: nn.Sequential, data: Dataset) -> tuple[np.ndarray, float]:
    """Reconstructions as uint8 ``(n, pixels)`` and their normalised MSE against ``data``."""
    with one_thread():
        out = model(pixels(data.images)).numpy()
    recon = np.clip(np.round(out * 255), 0, 255).astype(np.uint8)
    return recon, normalised_mse(data.images, recon)
