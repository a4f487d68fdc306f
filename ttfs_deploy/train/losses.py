"""Temporal losses on output spike times: S4NN relative targets and Aggressive TTFS.

Both build a target time per output neuron from the network's own output (no gradient flows through
the target) and return ``sum_b sum_j (t_bj - target_bj)^2 / (2 T)``, so that ``dL/dt = (t - target) / T``
is exactly S4NN's output error (before the per-layer normalisation in the fire-once layer).
"""

from __future__ import annotations

import torch

__all__ = ["LOSSES", "s4nn_targets", "aggressive_targets", "temporal_loss"]


def s4nn_targets(t_out: torch.Tensor, labels: torch.Tensor, T: int, gamma: int = 3) -> torch.Tensor:
    """S4NN relative targets, (batch, classes) → (batch, classes) in steps.

    With ``tau`` the earliest output time: the correct class is pulled to ``tau``; any other output
    firing within ``gamma`` of ``tau`` is pushed to ``min(tau + gamma, T)``; the rest keep their own time.
    When no output fires, every target is ``T`` and the correct class's is ``T - gamma``.
    """
    first = t_out.min(dim=1, keepdim=True).values
    target = torch.where(t_out - first < gamma, torch.clamp(first + gamma, max=T), t_out)
    target = target.scatter(1, labels.view(-1, 1), first)
    silent = torch.full_like(t_out, float(T)).scatter(1, labels.view(-1, 1), float(T - gamma))
    return torch.where(first == T, silent, target)


def aggressive_targets(t_out: torch.Tensor, labels: torch.Tensor, T: int) -> torch.Tensor:
    """Aggressive TTFS targets (seed 000, eq. 6-7): correct class → ``tau``, every other class → ``T``.

    ``tau`` is the earliest output time, or 0 when no output fires (a heavy push to fire).
    """
    first = t_out.min(dim=1, keepdim=True).values
    tau = torch.where(first < T, first, torch.zeros_like(first))
    return torch.full_like(t_out, float(T)).scatter(1, labels.view(-1, 1), tau)


LOSSES = ("aggressive", "s4nn")


def temporal_loss(
    t_out: torch.Tensor, labels: torch.Tensor, T: int, loss: str = "aggressive", gamma: int = 3
) -> torch.Tensor:
    """Summed temporal least-squares loss against the chosen targets (see module docstring)."""
    with torch.no_grad():
        if loss == "aggressive":
            target = aggressive_targets(t_out, labels, T)
        elif loss == "s4nn":
            target = s4nn_targets(t_out, labels, T, gamma)
        else:
            raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
    return ((t_out - target) ** 2).sum() / (2 * T)
