"""What every training loop here shares: each epoch's (shifted) images and its shuffled batches, and the
cross-entropy fit that both ANNs (the converted start and the baseline) use.

The random streams are consumed in one fixed order (one shift draw per epoch from ``rng``, one
permutation per epoch from ``generator``), which is what makes a seeded run repeat bit for bit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch
from tqdm import tqdm

from ttfs_deploy.reproducible import one_thread

if TYPE_CHECKING:
    from ttfs_deploy.data import Dataset

__all__ = ["shift_images", "epoch_images", "batch_indices", "pixels", "fit_cross_entropy"]


def shift_images(images: np.ndarray, shape: tuple[int, int], shifts: np.ndarray) -> np.ndarray:
    """Shift each flattened image by integer ``shifts[k] = (dy, dx)`` pixels, filling with black."""
    n, (h, w) = len(images), shape
    s = int(np.abs(shifts).max()) if len(shifts) else 0
    padded = np.pad(images.reshape(n, h, w), ((0, 0), (s, s), (s, s)))
    rows = (s - shifts[:, 0])[:, None, None] + np.arange(h)[None, :, None]
    cols = (s - shifts[:, 1])[:, None, None] + np.arange(w)[None, None, :]
    return padded[np.arange(n)[:, None, None], rows, cols].reshape(n, h * w)


def epoch_images(train_set: Dataset, shift: int, rng: np.random.Generator) -> np.ndarray:
    """This epoch's training images: each shifted by a random ``(dy, dx)`` in ``-shift..shift`` pixels."""
    images = train_set.images
    if shift:
        images = shift_images(images, train_set.shape, rng.integers(-shift, shift + 1, size=(len(images), 2)))
    return images


def batch_indices(n: int, batch_size: int, generator: torch.Generator | None) -> list[np.ndarray]:
    """A shuffled pass over ``n`` samples in batches (``generator`` None: torch's global generator)."""
    order = torch.randperm(n, generator=generator).numpy()
    return [order[i : i + batch_size] for i in range(0, n, batch_size)]


def pixels(images: np.ndarray) -> torch.Tensor:
    """uint8 pixels as float32 in [0, 1], the ANNs' input."""
    return torch.from_numpy(images).float() / 255


def fit_cross_entropy(
    parameters: Sequence[torch.Tensor],
    logits: Callable[[torch.Tensor], torch.Tensor],
    train_set: Dataset,
    *,
    epochs: int,
    shift: int,
    seed: int,
    lr: float,
    batch_size: int,
    generator: torch.Generator | None,
    desc: str,
    progress: bool,
) -> None:
    """Fit ``parameters`` in place with Adam on cross-entropy of ``logits(pixels)`` (one thread, seeded)."""
    rng = np.random.default_rng(seed)
    optimiser = torch.optim.Adam(parameters, lr=lr)
    labels = torch.from_numpy(train_set.labels).long()
    with one_thread():  # bit-for-bit repeatable (see ttfs_deploy.reproducible)
        for _ in tqdm(range(epochs), desc=desc, unit="epoch", disable=not progress):
            x_all = pixels(epoch_images(train_set, shift, rng))
            for idx in batch_indices(len(x_all), batch_size, generator):
                loss = torch.nn.functional.cross_entropy(logits(x_all[idx]), labels[idx])
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
