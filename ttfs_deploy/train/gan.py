"""Spiking-GAN (seed 000, sec. 2.3-2.6): a generator and a discriminator of fire-once IF layers,
trained adversarially with the temporal least-squares loss of :mod:`ttfs_deploy.train.gan_losses`.

* G (100-400-784): 100 noise values drawn from U{0, ..., T} are used directly as input spike times
  (``T`` = that input stays silent); G's 784 output spike times are the fake image's pixel times,
  decoded exactly opposite to the encoder (:func:`ttfs_deploy.coding.decode_ttfs`: earlier = brighter,
  no spike = black).
* D (784-400-2): real images are TTFS-encoded as for the classifiers (:func:`ttfs_deploy.coding.encode_ttfs`);
  generated images enter D as G's output spike times themselves. Output 0 = fake, 1 = real.

Both networks are :class:`ttfs_deploy.train.model.TTFSClassifier` stacks, so their layers are the
one batched fire-once autograd layer (:mod:`ttfs_deploy.train.fire_once`). Each batch makes one D
step (G's images detached: G unchanged) and then one G step on fresh noise, in which the loss flows
back through D's layers to its input spike times (the fire-once layer's ``dL/dt_in``) and on into G;
only G's weights change, D is frozen. Every layer normalises its incoming error per sample (S4NN; the
paper uses the L1 norm, ``norm="l1"``). The L2 term is applied as weight decay ``W *= 1 - lr * decay *
batch`` after each step (its gradient, as the classifier loop does). Deterministic with a seed:
torch's random streams are drawn from explicit generators in a fixed order and torch runs on one
thread (:func:`ttfs_deploy.reproducible.one_thread`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
import torch
from tqdm import tqdm

from ttfs_deploy.coding import decode_ttfs, encode_ttfs
from ttfs_deploy.reproducible import one_thread
from ttfs_deploy.train.epochs import batch_indices
from ttfs_deploy.train.gan_losses import d_loss, g_loss, l2_term
from ttfs_deploy.train.model import TTFSClassifier

__all__ = ["GanConfig", "GanEpoch", "SpikingGAN", "noise", "d_step", "g_step", "train_gan", "gan_config_dict"]


@dataclass(frozen=True)
class GanConfig:
    """Everything that determines a Spiking-GAN run (recorded in the checkpoint)."""

    digit: int | None = 0  # the class trained on (the paper trains one GAN per digit); None = all
    epochs: int = 8  # quality peaks early and then falls as pixels die (docs/gan.md)
    seed: int = 0
    batch_size: int = 32
    noise_size: int = 100
    hidden: int = 400
    T: int = 256
    zero_policy: str = "silent"
    g_thresholds: tuple[float, float] = (100.0, 100.0)
    d_thresholds: tuple[float, float] = (100.0, 100.0)
    # U[lo, hi] starts, layer 1 then layer 2: mixed signs, so that G's output times vary with the
    # noise and D's two outputs answer to different features (docs/gan.md)
    g_init: tuple[float, float, float, float] = (-20.0, 25.0, -8.0, 9.0)
    d_init: tuple[float, float, float, float] = (-3.0, 5.0, -30.0, 48.0)
    optimizer: str = "adam"  # "adam" or "sgd" (the paper's)
    lr_g: float = 0.02
    lr_d: float = 0.05
    decay: float = 1e-6  # the L2 term, per sample
    norm: str = "l2"
    # our addition (not in the paper): after each epoch but the last, G output neurons (pixels) that
    # stayed dark on the whole epoch's fakes but are inked (> 0) in at least this fraction of the real
    # images get fresh incoming weights (S4NN's dead-neuron rule, aimed at pixels D can no longer
    # reach: a silent pixel gets no gradient). 0 = off
    revive: float = 0.0


@dataclass
class GanEpoch:
    """Per-epoch record: mean D and G losses per sample, D's verdicts, G's output spikes per image."""

    epoch: int
    d_loss: float
    g_loss: float
    d_real_correct: float  # fraction of real images D called real
    d_fake_correct: float  # fraction of generated images D called fake
    g_pixels_on: float  # mean G output spikes (non-black pixels) per image


def noise(n: int, size: int, T: int, generator: torch.Generator) -> torch.Tensor:
    """``(n, size)`` float spike times drawn from U{0, ..., T} (``T`` = silent)."""
    return torch.randint(0, T + 1, (n, size), generator=generator).to(torch.float32)


def _init(net: TTFSClassifier, bounds, generator: torch.Generator) -> None:
    with torch.no_grad():
        for k, weight in enumerate(net.weights):
            lo, hi = bounds[2 * k], bounds[2 * k + 1]
            weight.copy_(lo + (hi - lo) * torch.rand(weight.shape, generator=generator, dtype=weight.dtype))


def _revive(net: TTFSClassifier, neurons: torch.Tensor, bounds, generator: torch.Generator) -> None:
    rows = torch.nonzero(neurons).flatten()
    if len(rows):
        with torch.no_grad():
            weight = net.weights[-1]
            fresh = torch.rand((len(rows), weight.shape[1]), generator=generator, dtype=weight.dtype)
            weight[rows] = bounds[0] + (bounds[1] - bounds[0]) * fresh


class SpikingGAN(torch.nn.Module):
    """G (noise → 784 spike times) and D (784 spike times → fake/real output times)."""

    def __init__(self, cfg: GanConfig, pixels: int = 784):
        super().__init__()
        self.T = cfg.T
        self.G = TTFSClassifier([cfg.noise_size, cfg.hidden, pixels], list(cfg.g_thresholds), cfg.T, cfg.norm)
        self.D = TTFSClassifier([pixels, cfg.hidden, 2], list(cfg.d_thresholds), cfg.T, cfg.norm)

    def init_weights(self, cfg: GanConfig, generator: torch.Generator) -> None:
        """Uniform starts: ``cfg.g_init`` for G (mixed signs), ``cfg.d_init`` for D (S4NN's)."""
        _init(self.G, cfg.g_init, generator)
        _init(self.D, cfg.d_init, generator)

    @torch.no_grad()
    def generate_times(self, z: torch.Tensor) -> torch.Tensor:
        """G's output spike times (n, 784) int64 for noise spike times ``z`` (no autograd)."""
        return self.G.spike_times(z)[-1]

    def images(self, z: torch.Tensor) -> np.ndarray:
        """Generated images, ``(n, 784)`` uint8, decoded from G's output spike times."""
        return decode_ttfs(self.generate_times(z).numpy(), self.T)


def _update(weights, lrs, decay: float, batch: int, adam: torch.optim.Optimizer | None) -> None:
    with torch.no_grad():
        if adam is not None:
            for group, lr in zip(adam.param_groups, lrs):
                group["lr"] = lr
            adam.step()
        for weight, lr in zip(weights, lrs):
            if adam is None:
                weight -= lr * weight.grad
            weight *= 1 - lr * decay * batch
            weight.grad = None


def d_step(gan: SpikingGAN, t_real: torch.Tensor, z: torch.Tensor, lr: float, decay: float, adam=None) -> dict:
    """One D update on real spike times and G's images for noise ``z`` (G unchanged)."""
    fake = gan.generate_times(z).to(t_real.dtype)
    out = gan.D(torch.cat([t_real, fake]))[-1]
    loss = d_loss(out[: len(t_real)], out[len(t_real) :], gan.T)
    loss.backward()
    _update(gan.D.weights, [lr, lr], decay, len(t_real) + len(z), adam)
    verdict = out.detach()[:, 1] < out.detach()[:, 0]  # REAL spiked strictly first
    return {
        "loss": float(loss.detach()),
        "real_correct": float(verdict[: len(t_real)].float().mean()),
        "fake_correct": float((~verdict[len(t_real) :]).float().mean()),
        "pixels_on": float((fake < gan.T - 1).sum(dim=1).float().mean()),
        "lit": (fake < gan.T - 1).any(dim=0),
    }


def g_step(gan: SpikingGAN, z: torch.Tensor, lr: float, decay: float, adam=None) -> float:
    """One G update: the loss flows through D (frozen) into G; only G's weights change."""
    for weight in gan.D.weights:
        weight.requires_grad_(False)
    try:
        loss = g_loss(gan.D(gan.G(z)[-1])[-1], gan.T)
        loss.backward()
    finally:
        for weight in gan.D.weights:
            weight.requires_grad_(True)
    _update(gan.G.weights, [lr, lr], decay, len(z), adam)
    return float(loss.detach())


def _optimiser(cfg: GanConfig, net: TTFSClassifier) -> torch.optim.Optimizer | None:
    if cfg.optimizer == "sgd":
        return None
    return torch.optim.Adam([{"params": [w]} for w in net.weights], betas=(0.5, 0.999))


def train_gan(
    cfg: GanConfig,
    images: np.ndarray,
    progress: bool = True,
    on_epoch: Callable[[int, SpikingGAN, GanEpoch], None] | None = None,
) -> tuple[SpikingGAN, list[GanEpoch]]:
    """Train a Spiking-GAN on ``images`` ((n, pixels) uint8); ``on_epoch(epoch, gan, log)`` after each epoch."""
    torch.manual_seed(cfg.seed)
    generator = torch.Generator().manual_seed(cfg.seed)
    gan = SpikingGAN(cfg, images.shape[1])
    gan.init_weights(cfg, generator)
    adam_d, adam_g = _optimiser(cfg, gan.D), _optimiser(cfg, gan.G)
    t_all = torch.from_numpy(encode_ttfs(images, cfg.T, cfg.zero_policy)).to(torch.float32)
    inked = torch.from_numpy((images > 0).mean(axis=0))
    logs: list[GanEpoch] = []
    bar = tqdm(range(cfg.epochs), desc="GAN training", unit="epoch", disable=not progress)
    with one_thread():
        for epoch in bar:
            sums, lit = np.zeros(5), torch.zeros(images.shape[1], dtype=torch.bool)
            for idx in batch_indices(len(t_all), cfg.batch_size, generator):
                z = noise(len(idx), cfg.noise_size, cfg.T, generator)
                d = d_step(gan, t_all[idx], z, cfg.lr_d, cfg.decay, adam_d)
                lit |= d["lit"]
                z = noise(len(idx), cfg.noise_size, cfg.T, generator)
                g = g_step(gan, z, cfg.lr_g, cfg.decay, adam_g)
                n = len(idx)  # losses are sums over the batch: per image, D's counts real and fake once each
                sums += np.array([d["loss"] / 2, g, n * d["real_correct"], n * d["fake_correct"], n * d["pixels_on"]])
            mean = sums / len(t_all)
            decay_terms = (l2_term(gan.D.weights, cfg.decay), l2_term(gan.G.weights, cfg.decay))
            losses = (float(mean[0] + decay_terms[0]), float(mean[1] + decay_terms[1]))
            log = GanEpoch(epoch + 1, *losses, *mean[2:].tolist())
            logs.append(log)
            if cfg.revive > 0 and epoch + 1 < cfg.epochs:
                _revive(gan.G, ~lit & (inked >= cfg.revive), cfg.g_init[2:], generator)
            bar.set_postfix(d=f"{log.d_loss:.3f}", g=f"{log.g_loss:.3f}", on=f"{log.g_pixels_on:.0f}")
            if on_epoch is not None:
                on_epoch(epoch + 1, gan, log)
    return gan, logs


def gan_config_dict(cfg: GanConfig) -> dict:
    """GanConfig as plain built-in types (for checkpoints and JSON)."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(cfg).items()}
