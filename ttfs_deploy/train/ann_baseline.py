"""The non-spiking reference: a ReLU MLP of the same shape trained with Adam and cross-entropy.

Model cards quote it as the upper reference for what the same data allows
(``ttfs-deploy baseline --arch 784-400-10 --shift 2``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from ttfs_deploy.reproducible import one_thread
from ttfs_deploy.train.loop import shift_images

if TYPE_CHECKING:
    from ttfs_deploy.data import Dataset

__all__ = ["fit_mlp", "ann_accuracy", "train_ann"]


def fit_mlp(
    sizes: list[int],
    train_set: Dataset,
    epochs: int = 30,
    shift: int = 0,
    seed: int = 0,
    lr: float = 1e-3,
    batch_size: int = 64,
    progress: bool = True,
) -> nn.Sequential:
    """Train a ReLU MLP on pixels scaled to [0, 1] with Adam and cross-entropy (deterministic with ``seed``)."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    layers: list[nn.Module] = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(n_in, n_out), nn.ReLU()]
    model = nn.Sequential(*layers[:-1])
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    generator = torch.Generator().manual_seed(seed)
    labels = torch.from_numpy(train_set.labels).long()
    with one_thread():
        for _ in tqdm(range(epochs), desc="ANN baseline", unit="epoch", disable=not progress):
            images = train_set.images
            if shift:
                images = shift_images(images, train_set.shape, rng.integers(-shift, shift + 1, (len(images), 2)))
            x_all = torch.from_numpy(images).float() / 255
            for idx in torch.randperm(len(x_all), generator=generator).split(batch_size):
                loss = nn.functional.cross_entropy(model(x_all[idx]), labels[idx])
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
    return model


def ann_accuracy(model: nn.Sequential, data: Dataset) -> float:
    """Fraction of ``data`` the MLP classifies correctly (argmax of the output)."""
    with torch.no_grad():
        predictions = model(torch.from_numpy(data.images).float() / 255).argmax(dim=1).numpy()
    return float((predictions == data.labels).mean())


def train_ann(
    sizes: list[int],
    train_set: Dataset,
    val_set: Dataset,
    epochs: int = 30,
    shift: int = 0,
    seed: int = 0,
    lr: float = 1e-3,
    batch_size: int = 64,
    progress: bool = True,
) -> dict:
    """Train the reference ReLU MLP (with biases); returns its validation accuracy and settings."""
    model = fit_mlp(sizes, train_set, epochs, shift, seed, lr, batch_size, progress=progress)
    return {
        "arch": sizes,
        "train_data": train_set.name,
        "val_data": val_set.name,
        "epochs": epochs,
        "shift": shift,
        "seed": seed,
        "val_accuracy": ann_accuracy(model, val_set),
    }
