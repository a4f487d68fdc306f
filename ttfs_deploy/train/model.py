"""TTFSClassifier: a stack of fire-once IF layers (e.g. 784-400-10) trained with the S4NN gradient."""

from __future__ import annotations

import torch
from torch import nn

from ttfs_deploy.train.fire_once import NORMS, fire_once, fire_once_times

__all__ = ["TTFSClassifier", "parse_arch", "default_init_bounds"]


def parse_arch(text: str) -> list[int]:
    """``"784-400-10"`` → ``[784, 400, 10]``; raises ValueError with the fix on anything else."""
    parts = text.split("-")
    try:
        sizes = [int(p) for p in parts]
    except ValueError:
        sizes = []
    if len(sizes) < 2 or any(s <= 0 or s > 100_000 for s in sizes):
        raise ValueError(
            f"bad architecture {text!r}: expected layer sizes joined by '-', e.g. 784-400-10 "
            "(at least two layers, each 1..100000 neurons)"
        )
    return sizes


def default_init_bounds(sizes: list[int]) -> list[float]:
    """Upper bounds of the U[0, b] weight init per layer (steps-free, in threshold units of 100).

    S4NN uses b = 5 for 784 inputs and b = 48 for 400 hidden inputs with threshold 100; other shapes
    scale those by fan-in so the expected input drive per neuron stays the same.
    """
    return [5.0 * 784 / sizes[0]] + [48.0 * 400 / n for n in sizes[1:-1]]


class TTFSClassifier(nn.Module):
    """Fire-once IF network; class decision = first output neuron to spike.

    Parameters
    ----------
    sizes : layer sizes, input first, e.g. ``[784, 400, 10]``
    thresholds : firing threshold per weight layer (default 100 each, as S4NN)
    T : simulation length in steps
    norm : per-layer error normalisation for the S4NN gradient: ``"l1"``, ``"l2"`` or ``"none"``
    """

    def __init__(self, sizes: list[int], thresholds: list[float] | None = None, T: int = 256, norm: str = "l2"):
        super().__init__()
        if norm not in NORMS:
            raise ValueError(f"norm must be one of {NORMS}, got {norm!r}")
        self.sizes = list(sizes)
        self.thresholds = [100.0] * (len(sizes) - 1) if thresholds is None else [float(t) for t in thresholds]
        if len(self.thresholds) != len(sizes) - 1:
            raise ValueError(f"need {len(sizes) - 1} thresholds for {len(sizes)} layers, got {len(self.thresholds)}")
        self.T, self.norm = T, norm
        self.weights = nn.ParameterList(
            nn.Parameter(torch.zeros(n_out, n_in)) for n_in, n_out in zip(sizes[:-1], sizes[1:])
        )

    def init_weights(self, generator: torch.Generator, scale: float = 1.0) -> None:
        """S4NN initialisation: ``U[0, scale * b]`` per layer with :func:`default_init_bounds`."""
        self.init_scale = scale
        with torch.no_grad():
            for weight, bound in zip(self.weights, default_init_bounds(self.sizes)):
                weight.copy_(torch.rand(weight.shape, generator=generator, dtype=weight.dtype) * bound * scale)

    def reinit_neurons(self, layer: int, neurons: torch.Tensor, generator: torch.Generator) -> None:
        """Re-draw the incoming weights of ``neurons`` in ``layer`` (dead-neuron recovery)."""
        bound = default_init_bounds(self.sizes)[layer] * getattr(self, "init_scale", 1.0)
        with torch.no_grad():
            weight = self.weights[layer]
            fresh = torch.rand((len(neurons), weight.shape[1]), generator=generator, dtype=weight.dtype) * bound
            weight[neurons] = fresh

    def forward(self, t_in: torch.Tensor) -> list[torch.Tensor]:
        """Spike times of every layer, input first: list of (batch, n) float tensors (steps)."""
        times = [t_in.to(self.weights[0].dtype)]
        for weight, threshold in zip(self.weights, self.thresholds):
            times.append(fire_once(times[-1], weight, threshold, self.T, self.norm))
        return times

    @torch.no_grad()
    def spike_times(self, t_in: torch.Tensor, batch_size: int = 500) -> list[torch.Tensor]:
        """Inference only: integer spike times of every layer (input first), in batches."""
        layers: list[list[torch.Tensor]] = [[] for _ in range(len(self.sizes))]
        for start in range(0, t_in.shape[0], batch_size):
            times = t_in[start : start + batch_size].long()
            layers[0].append(times)
            for i, (weight, threshold) in enumerate(zip(self.weights, self.thresholds), start=1):
                times = fire_once_times(times, weight, threshold, self.T)
                layers[i].append(times)
        return [
            torch.cat(chunks) if chunks else torch.zeros(0, n, dtype=torch.long)
            for chunks, n in zip(layers, self.sizes)
        ]
