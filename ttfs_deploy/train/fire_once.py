"""Batched fire-once integrate-and-fire layer with the S4NN temporal gradient.

The neuron (identical in the golden simulator and on Lava) is a non-leaky IF neuron that fires at
most once:

    V_j(s) = sum_i w_ji * [t_i <= s]           for steps s = 0 .. T-1
    s*_j   = first s with V_j(s) > threshold
    t_j    = s*_j + 1                          (one step of synaptic delay per layer, as in S4NN)

and ``t_j = T`` (no spike) when the neuron never crosses, or crosses only at ``s = T - 1``. Inputs
with ``t_i >= T`` never spike and never contribute.

Because V only changes at input spike times, no loop over time steps is needed: sort each sample's
input times, keep a running sum of the weights in that order, and test for a crossing after the last
input of each group of equal times. That loop, over samples and their input spikes, runs compiled
in :mod:`ttfs_deploy.semantics.kernels` (Numba; the golden simulator uses the same one): there a spike time is
computed. Cost is O(batch * active inputs * outputs). Tensors on another device are computed on the
CPU and moved back.

Backward (S4NN, Kheradpisheh & Masquelier 2020; seed 000 eq. 12-15): ``dt_j/dV_j = -1`` and
``dV_j/dw_ji = [t_i < t_j]`` (the input arrived at or before the crossing step), so
``dL/dw_ji = -dL/dt_j * [t_i < t_j]`` and ``dL/dt_i = sum_j dL/dt_j * w_ji * [t_i < t_j]``.
The incoming error of each layer is divided per sample by its L1 or L2 norm first (S4NN's
per-layer delta normalisation).
"""

from __future__ import annotations

import torch

from ttfs_deploy.semantics import kernels

__all__ = ["NORMS", "FireOnce", "fire_once", "fire_once_times"]

NORMS = ("l1", "l2", "none")


def fire_once_times(t_in: torch.Tensor, weight: torch.Tensor, threshold: float, T: int) -> torch.Tensor:
    """Spike times of a fire-once IF layer (no autograd).

    Parameters
    ----------
    t_in : (batch, n_in) integer tensor, input spike times in steps (``>= T`` = no spike)
    weight : (n_out, n_in) float tensor
    threshold : firing threshold (>= 0); a neuron fires when its potential is strictly greater
    T : simulation length in steps

    Returns
    -------
    (batch, n_out) int64 tensor of spike times in ``1..T`` (``T`` = no spike).
    """
    return _spike_times_sorted(t_in, weight, threshold, T)[0]


def _spike_times_sorted(
    t_in: torch.Tensor, weight: torch.Tensor, threshold: float, T: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """:func:`fire_once_times` plus the sorted input times and their order (the backward pass reuses them)."""
    sorted_t, order = kernels.sort_by_time(t_in.detach().cpu().numpy(), T)
    t_out = kernels.spike_times(sorted_t, order, weight.detach().cpu().numpy(), threshold, T)
    device = t_in.device
    return torch.from_numpy(t_out).to(device), torch.from_numpy(sorted_t).to(device), torch.from_numpy(order).to(device)


def _normalise(grad: torch.Tensor, norm: str) -> torch.Tensor:
    if norm == "none":
        return grad
    size = grad.abs().sum(dim=1, keepdim=True) if norm == "l1" else grad.norm(dim=1, keepdim=True)
    return torch.where(size > 0, grad / size.clamp(min=torch.finfo(grad.dtype).tiny), grad)


class FireOnce(torch.autograd.Function):
    """``t_out = FireOnce.apply(t_in, weight, threshold, T, norm)`` with the S4NN gradient.

    ``t_in`` and the returned ``t_out`` are float tensors holding integer steps so that gradients can
    flow through spike times.
    """

    @staticmethod
    def forward(ctx, t_in, weight, threshold, T, norm):
        with torch.no_grad():
            t_out, sorted_t, order = _spike_times_sorted(t_in, weight, threshold, T)
        ctx.save_for_backward(t_in, weight, t_out, sorted_t, order)
        ctx.T, ctx.norm = T, norm
        return t_out.to(weight.dtype)

    @staticmethod
    def backward(ctx, grad_out):
        t_in, weight, t_out, sorted_t, order = ctx.saved_tensors
        grad_out = _normalise(grad_out, ctx.norm)
        grad_weight = torch.from_numpy(
            kernels.weight_grad(
                sorted_t.cpu().numpy(),
                order.cpu().numpy(),
                t_out.cpu().numpy(),
                grad_out.detach().cpu().numpy(),
                weight.shape[1],
            )
        ).to(weight.device)
        grad_in = None
        if ctx.needs_input_grad[0]:
            # dL/dt_i = sum_j dL/dt_j * w_ji * [t_i < t_j]; inputs strictly before t_out are a prefix
            # of the sorted row. Only layers after the first need it (784-400-10: the 400 -> 10 layer,
            # where this (batch, K, 10) tensor is small).
            n_before = torch.searchsorted(sorted_t.contiguous(), t_out.contiguous(), side="left")
            position = torch.arange(sorted_t.shape[1], device=t_in.device).view(1, -1, 1)
            weighted_err = torch.where(position < n_before.unsqueeze(1), grad_out.unsqueeze(1), 0.0)
            per_input = (weighted_err * weight.t()[order]).sum(dim=-1)  # (batch, K)
            grad_in = torch.zeros_like(t_in, dtype=weight.dtype).scatter_add_(1, order, per_input)
        return grad_in, -grad_weight, None, None, None


def fire_once(t_in: torch.Tensor, weight: torch.Tensor, threshold: float, T: int, norm: str = "l2") -> torch.Tensor:
    """Differentiable fire-once IF layer: see :class:`FireOnce`. Returns float spike times (steps)."""
    if norm not in NORMS:
        raise ValueError(f"norm must be one of {NORMS}, got {norm!r}")
    return FireOnce.apply(t_in, weight, threshold, T, norm)
