"""The paper's ANN baseline GAN (seed 000, sec. 3.2): G 100-400-784 (ReLU, tanh output) and
D 784-400-1 (ReLU, sigmoid output), trained on the same images with the standard GAN loss
(binary cross-entropy, the non-saturating G loss), Adam (lr 2e-4, betas 0.5/0.999), alternating one
D and one G step per batch.

Its noise is the spiking GAN's, U{0, ..., T} per value, rescaled to [-1, 1] (``2 z / T - 1``), so the
two generators see the same distribution; its images are tanh outputs mapped to 0..255.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from ttfs_deploy.reproducible import one_thread
from ttfs_deploy.train.epochs import batch_indices
from ttfs_deploy.train.gan import GanConfig, GanEpoch, noise

__all__ = ["AnnGAN", "train_ann_gan"]


def _mlp(sizes: list[int], last: nn.Module) -> nn.Sequential:
    layers: list[nn.Module] = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(n_in, n_out), nn.ReLU()]
    return nn.Sequential(*layers[:-1], last)


class AnnGAN(nn.Module):
    """The ANN GAN: ``G`` (noise → tanh pixels) and ``D`` (pixels → probability real, as a logit)."""

    def __init__(self, noise_size: int = 100, hidden: int = 400, pixels: int = 784, T: int = 256):
        super().__init__()
        self.T = T
        self.G = _mlp([noise_size, hidden, pixels], nn.Tanh())
        self.D = _mlp([pixels, hidden, 1], nn.Identity())  # sigmoid inside the loss (numerically stable)

    def scaled_noise(self, z: torch.Tensor) -> torch.Tensor:
        """Spike-time noise U{0..T} → the ANN's input in [-1, 1]."""
        return 2 * z / self.T - 1

    @torch.no_grad()
    def images(self, z: torch.Tensor) -> np.ndarray:
        """Generated images, ``(n, 784)`` uint8, for spike-time noise ``z``."""
        x = self.G(self.scaled_noise(z))
        return torch.round((x + 1) * 127.5).clamp(0, 255).to(torch.uint8).numpy()


def train_ann_gan(
    cfg: GanConfig,
    images: np.ndarray,
    progress: bool = True,
    on_epoch: Callable[[int, AnnGAN, GanEpoch], None] | None = None,
    lr: float = 2e-4,
) -> tuple[AnnGAN, list[GanEpoch]]:
    """Train the ANN GAN on ``images`` ((n, pixels) uint8) with ``cfg``'s seed, epochs, batch size and noise."""
    torch.manual_seed(cfg.seed)
    generator = torch.Generator().manual_seed(cfg.seed)
    gan = AnnGAN(cfg.noise_size, cfg.hidden, images.shape[1], cfg.T)
    opt_d = torch.optim.Adam(gan.D.parameters(), lr=lr, betas=(0.5, 0.999))
    opt_g = torch.optim.Adam(gan.G.parameters(), lr=lr, betas=(0.5, 0.999))
    bce = nn.functional.binary_cross_entropy_with_logits
    x_all = torch.from_numpy(images).float() / 127.5 - 1
    logs: list[GanEpoch] = []
    bar = tqdm(range(cfg.epochs), desc="ANN GAN training", unit="epoch", disable=not progress)
    with one_thread():
        for epoch in bar:
            sums = np.zeros(5)
            for idx in batch_indices(len(x_all), cfg.batch_size, generator):
                n = len(idx)
                fake = gan.G(gan.scaled_noise(noise(n, cfg.noise_size, cfg.T, generator)))
                d_real, d_fake = gan.D(x_all[idx]), gan.D(fake.detach())
                loss_d = bce(d_real, torch.ones_like(d_real)) + bce(d_fake, torch.zeros_like(d_fake))
                opt_d.zero_grad()
                loss_d.backward()
                opt_d.step()
                fake = gan.G(gan.scaled_noise(noise(n, cfg.noise_size, cfg.T, generator)))
                d_out = gan.D(fake)
                loss_g = bce(d_out, torch.ones_like(d_out))
                opt_g.zero_grad()
                loss_g.backward()
                opt_g.step()
                on = float((fake.detach() > -1 + 2 / 255).sum(dim=1).float().mean())
                correct = [float((d_real > 0).float().mean()), float((d_fake <= 0).float().mean())]
                sums += n * np.array([float(loss_d.detach()), float(loss_g.detach()), *correct, on])
            mean = sums / len(x_all)
            logs.append(GanEpoch(epoch + 1, *mean.tolist()))
            bar.set_postfix(d=f"{mean[0]:.3f}", g=f"{mean[1]:.3f}")
            if on_epoch is not None:
                on_epoch(epoch + 1, gan, logs[-1])
    return gan, logs
