"""Spiking-GAN's loss (seed 000, eq. 4-7): temporal least squares on the discriminator's two output
spike times with dynamic targets.

D has two output neurons, ``FAKE = 0`` and ``REAL = 1``; the first to spike is its verdict. For each
sample the *desired* neuron gets the winner's time ``tau`` as its target and the other neuron gets
``T`` (no spike). D wants REAL on real images and FAKE on generated ones; G wants D to say REAL on
its images, so G's targets are D's fake-image targets flipped. When neither output spikes the times
are ``T`` (the convention everywhere here) and ``tau = 0``: the silent desired neuron is pushed hard.

These are exactly the Aggressive-TTFS targets with the desired neuron as the label, so this module
reuses :func:`ttfs_deploy.train.losses.aggressive_targets` and :func:`~ttfs_deploy.train.losses.temporal_loss`
(``sum (t - target)^2 / (2 T)``). The L2 term of the paper is applied as weight decay in the update
(:mod:`ttfs_deploy.train.gan`), which is its gradient; :func:`l2_term` gives its value for the logs.
"""

from __future__ import annotations

import torch

from ttfs_deploy.train.losses import aggressive_targets, temporal_loss

__all__ = ["FAKE", "REAL", "gan_targets", "d_loss", "g_loss", "l2_term"]

FAKE, REAL = 0, 1


def _desired(t_out: torch.Tensor, neuron: int) -> torch.Tensor:
    return torch.full((t_out.shape[0],), neuron, dtype=torch.long, device=t_out.device)


def gan_targets(t_out: torch.Tensor, desired: int, T: int) -> torch.Tensor:
    """Target times (batch, 2) for D's outputs ``t_out`` when ``desired`` (FAKE or REAL) should win."""
    return aggressive_targets(t_out, _desired(t_out, desired), T)


def d_loss(t_real: torch.Tensor, t_fake: torch.Tensor, T: int) -> torch.Tensor:
    """D's loss (eq. 4): REAL should win on real images, FAKE on generated ones (summed over the batch)."""
    return temporal_loss(t_real, _desired(t_real, REAL), T) + temporal_loss(t_fake, _desired(t_fake, FAKE), T)


def g_loss(t_fake: torch.Tensor, T: int) -> torch.Tensor:
    """G's loss (eq. 5): D's targets on generated images flipped, i.e. REAL should win."""
    return temporal_loss(t_fake, _desired(t_fake, REAL), T)


def l2_term(weights, decay: float) -> float:
    """``decay / 2 * sum ||W||^2`` over ``weights`` (the L2 regularisation term, per sample)."""
    return float(decay / 2 * sum(float((w.detach() ** 2).sum()) for w in weights))
