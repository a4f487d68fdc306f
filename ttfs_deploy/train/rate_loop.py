"""Training loop for rate-coded LIF networks (classifier or seed 002's autoencoder), BPTT, seeded.

Random streams, consumed in one fixed order: the start (``torch.Generator`` seeded with ``seed``),
then per epoch one shift draw (``numpy`` generator seeded with ``seed``), one permutation and, per batch, one ``torch.rand`` draw for the Poisson input spikes
from the same generator. One thread (:func:`ttfs_deploy.reproducible.one_thread`), so a seed gives
the same checkpoint bit for bit (the CLI pins the CPU kernels).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numpy as np
import torch
from tqdm import tqdm

from ttfs_deploy.coding import encode_rate
from ttfs_deploy.data import Dataset
from ttfs_deploy.reproducible import one_thread
from ttfs_deploy.semantics.rate import normalised_mse
from ttfs_deploy.semantics.readout import count_predictions
from ttfs_deploy.train.epochs import batch_indices, epoch_images, pixels
from ttfs_deploy.train.lif import RateNetwork

__all__ = ["RateConfig", "EpochLog", "train_rate", "input_spikes", "evaluate_rate", "ae_loss"]


@dataclass(frozen=True)
class RateConfig:
    """Everything that determines a rate-coded training run (recorded in the checkpoint)."""

    arch: tuple[int, ...]
    task: str = "classify"
    epochs: int = 10
    seed: int = 0
    batch_size: int = 100
    lr: float = 5e-4
    weight_decay: float = 1e-4
    T: int = 15
    vth: float = 1.0
    du: float = 1.0
    dv: float = 0.1
    max_rate: float = 1.0
    scheme: str = "poisson"
    shift: int = 0  # augment with random shifts up to this many pixels (classifier; as the TTFS trainer)


@dataclass
class EpochLog:
    epoch: int
    loss: float
    val: float  # accuracy (classify) or normalised MSE (autoencode) on the validation data
    seconds: float


def input_spikes(x: torch.Tensor, T: int, max_rate: float, generator: torch.Generator) -> torch.Tensor:
    """Training-time Poisson input: ``(batch, T, pixels)`` float 0/1, one draw per pixel and step."""
    p = x * max_rate
    return (torch.rand((x.shape[0], T, x.shape[1]), generator=generator) < p[:, None, :]).float()


def ae_loss(membrane: torch.Tensor, out_spikes: torch.Tensor, in_spikes: torch.Tensor, vth: float) -> torch.Tensor:
    """Seed 002 (eqs. 5-8): ``E = (x XOR s) * (vth x - V)``, loss ``|E|^2 / 2`` per sample and step, averaged."""
    mask = (in_spikes != out_spikes.detach()).float()
    error = mask * (vth * in_spikes - membrane)
    return 0.5 * (error**2).sum(dim=-1).mean()


def evaluate_rate(
    model: RateNetwork, dataset: Dataset, seed: int = 0, scheme: str = "poisson", max_rate: float = 1.0
) -> float:
    """Accuracy (classify; ties to the lowest index, no spike wrong) or normalised MSE (autoencode)."""
    spikes = torch.from_numpy(encode_rate(dataset.images, model.T, scheme, seed, max_rate))
    with one_thread():
        out = model.rasters(spikes)[-1].sum(dim=1).numpy()
    if model.task == "autoencode":
        return normalised_mse(dataset.images, out)
    return float(np.mean(count_predictions(out) == dataset.labels))


def train_rate(
    cfg: RateConfig, train_set: Dataset, val_set: Dataset, progress: bool = True
) -> tuple[RateNetwork, list[EpochLog]]:
    """Train a :class:`RateNetwork` per ``cfg``; returns the model and one log per epoch."""
    generator = torch.Generator().manual_seed(cfg.seed)
    model = RateNetwork(list(cfg.arch), cfg.vth, cfg.du, cfg.dv, cfg.T, cfg.task)
    model.init_weights(generator)
    optimiser = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    rng = np.random.default_rng(cfg.seed)
    labels = torch.from_numpy(train_set.labels).long()
    logs = []
    with one_thread():
        for epoch in tqdm(range(cfg.epochs), desc="train", unit="epoch", disable=not progress):
            start, total, batches = time.perf_counter(), 0.0, 0
            images = epoch_images(train_set, cfg.shift, rng)
            x_all = pixels(images)
            batches_of_epoch = batch_indices(len(x_all), cfg.batch_size, generator)
            # a bar per epoch too: seed 002's Fashion-MNIST AE is one epoch of 600 batches (~15 min here)
            for idx in tqdm(
                batches_of_epoch, desc=f"epoch {epoch + 1}", unit="batch", leave=False, disable=not progress
            ):
                if cfg.scheme == "regular":
                    spikes = torch.from_numpy(encode_rate(images[idx], cfg.T, "regular", 0, cfg.max_rate)).float()
                else:
                    spikes = input_spikes(x_all[idx], cfg.T, cfg.max_rate, generator)
                rasters, membrane = model(spikes)
                if cfg.task == "autoencode":
                    loss = ae_loss(membrane, rasters[-1], spikes, cfg.vth)
                else:
                    loss = torch.nn.functional.cross_entropy(rasters[-1].sum(dim=1), labels[idx])
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
                total, batches = total + float(loss.detach()), batches + 1
            seconds = time.perf_counter() - start
            val = evaluate_rate(model, val_set, 0, cfg.scheme, cfg.max_rate)
            logs.append(EpochLog(epoch + 1, total / max(batches, 1), val, seconds))
    return model, logs


def config_dict(cfg: RateConfig) -> dict:
    """``cfg`` as a plain dict (lists for tuples) for the checkpoint."""
    return {**asdict(cfg), "arch": list(cfg.arch)}
