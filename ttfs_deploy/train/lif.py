"""Rate-coded networks of Loihi CUBA LIF neurons in PyTorch, trained by BPTT with a surrogate gradient.

The forward pass is Lava's float LIF (``PyLifModelFloat``, the float form of :class:`ttfs_deploy.ir.lif.LifLayer`)
in the model's local time (:mod:`ttfs_deploy.semantics.lif`): per layer and step ``t``::

    u = u (1 - du) + W s_in(t)          v = v (1 - dv) + u          s(t) = [v > vth]          v = v (1 - s(t))

The spike's derivative is replaced by the fast-sigmoid surrogate ``1 / (1 + k |v - vth| / vth)^2``
(SuperSpike; ``k`` = :data:`SURROGATE_SLOPE`); the reset is part of the graph (BPTT runs through it).
Each layer's synaptic input for all ``T`` steps is one matrix product; only the neuron loop runs per step.

Tasks: ``classify`` (the output layer's spike counts are the logits; arg-max = class) and
``autoencode`` (seed 002: the output layer's membrane potential is trained towards the input spikes,
the loss masked to the neurons whose spike was wrong; the reconstruction is the output spike count).
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["SURROGATE_SLOPE", "spike", "RateNetwork"]

SURROGATE_SLOPE = 5.0


class _Spike(torch.autograd.Function):
    """Heaviside ``x > 0`` forward, fast-sigmoid derivative backward (``x = (v - vth) / vth``)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x)
        return (x > 0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        return grad / (1.0 + SURROGATE_SLOPE * x.abs()) ** 2


def spike(v: torch.Tensor, vth: float) -> torch.Tensor:
    """Spikes ``v > vth`` with the surrogate gradient."""
    return _Spike.apply((v - vth) / vth)


class RateNetwork(nn.Module):
    """A chain of LIF layers, e.g. 784-400-10 (classifier) or 784-196-784 (autoencoder).

    Parameters
    ----------
    sizes : layer sizes, input first
    vth, du, dv : neuron parameters, one value for every layer (Lava's float LIF meaning)
    T : steps per sample
    task : ``"classify"`` or ``"autoencode"``
    """

    def __init__(
        self, sizes: list[int], vth: float = 1.0, du: float = 1.0, dv: float = 0.1, T: int = 15, task: str = "classify"
    ):
        super().__init__()
        if task not in ("classify", "autoencode"):
            raise ValueError(f"task must be classify or autoencode, got {task!r}")
        self.sizes, self.vth, self.du, self.dv, self.T, self.task = (
            list(sizes),
            float(vth),
            float(du),
            float(dv),
            T,
            task,
        )
        self.weights = nn.ParameterList(
            nn.Parameter(torch.zeros(n_out, n_in)) for n_in, n_out in zip(sizes[:-1], sizes[1:])
        )

    def init_weights(self, generator: torch.Generator, gain: float = 1.0) -> None:
        """Kaiming-uniform-like start: ``U[-b, b]`` with ``b = gain * vth * sqrt(3 / fan_in)`` per layer."""
        with torch.no_grad():
            for weight in self.weights:
                bound = gain * self.vth * (3.0 / weight.shape[1]) ** 0.5
                weight.copy_((torch.rand(weight.shape, generator=generator) * 2 - 1) * bound)

    def forward(self, spikes: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        """Spike rasters of every layer (input first, ``(batch, T, n)``) and the output layer's
        membrane potential before reset, ``(batch, T, n_out)``."""
        rasters = [spikes]
        membrane = None
        for k, weight in enumerate(self.weights):
            current_in = rasters[-1] @ weight.t()  # (batch, T, n_out): all steps' synaptic input at once
            # unbind, not current_in[:, t]: indexing's backward writes a full-size zero tensor per step (O(T^2))
            steps = current_in.unbind(dim=1)
            u = torch.zeros_like(steps[0])
            v = torch.zeros_like(u)
            out, potentials = [], []
            for step_in in steps:
                u = u * (1.0 - self.du) + step_in
                v = v * (1.0 - self.dv) + u
                s = spike(v, self.vth)
                potentials.append(v)
                out.append(s)
                v = v * (1.0 - s)
            rasters.append(torch.stack(out, dim=1))
            if k == len(self.weights) - 1:
                membrane = torch.stack(potentials, dim=1)
        return rasters, membrane

    @torch.no_grad()
    def rasters(self, spikes: torch.Tensor, batch_size: int = 500) -> list[torch.Tensor]:
        """Inference only: every layer's raster as uint8, in batches."""
        chunks = [self(spikes[i : i + batch_size].float())[0] for i in range(0, len(spikes), batch_size)]
        return [torch.cat([c[k] for c in chunks]).to(torch.uint8) for k in range(len(self.sizes))]
