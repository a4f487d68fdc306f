"""The non-spiking reference: a ReLU MLP of the same shape trained with Adam and cross-entropy.

Model cards quote it as the upper reference for what the same data allows
(``ttfs-deploy baseline --arch 784-400-10 --shift 2``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn

from ttfs_deploy.train.epochs import fit_cross_entropy, pixels

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
    layers: list[nn.Module] = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(n_in, n_out), nn.ReLU()]
    model = nn.Sequential(*layers[:-1])
    fit_cross_entropy(
        list(model.parameters()),
        model,
        train_set,
        epochs=epochs,
        shift=shift,
        seed=seed,
        lr=lr,
        batch_size=batch_size,
        generator=torch.Generator().manual_seed(seed),
        desc="ANN baseline",
        progress=progress,
    )
    return model


def ann_accuracy(model: nn.Sequential, data: Dataset) -> float:
    """Fraction of ``data`` the MLP classifies correctly (argmax of the output)."""
    with torch.no_grad():
        predictions = model(pixels(data.images)).argmax(dim=1).numpy()
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
