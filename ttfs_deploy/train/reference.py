"""Slow, obvious, per-sample and per-time-step NumPy implementation of S4NN training.

It follows the S4NN reference code's rules (see docs/training.md) one sample at a time, simulating
every time step, and exists for two reasons: tests check the fast batched layer
(:mod:`ttfs_deploy.train.fire_once`) against it, and ``benchmarks/bench_train.py`` measures the speed-up.

Rules reproduced: spike image over ``T + 1`` slots, potential = cumulative sum over time, a forced
crossing at slot ``T``, firing time = first crossing + 1 clamped to ``T``; relative targets with margin
``gamma``; output error ``(target - t) / T``; per-layer L2 (or L1) normalisation; update with
``[t_i < t_j]``; weight decay ``lr * decay * W`` after each layer's update; and (S4NN's order) the hidden
error computed with the output weights *after* this sample's update.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["RefConfig", "layer_times", "layer_times_stepwise", "forward", "targets", "train_step", "train_epoch"]


@dataclass(frozen=True)
class RefConfig:
    """Hyper-parameters of the reference trainer (S4NN defaults)."""

    T: int = 256
    thresholds: tuple[float, ...] = (100.0, 100.0)
    lr: tuple[float, ...] = (0.2, 0.2)
    decay: float = 1e-6
    gamma: int = 3
    loss: str = "s4nn"  # or "aggressive"
    norm: str = "l2"  # or "l1" / "none"
    hidden_error_uses_updated_weights: bool = True  # S4NN's order of operations


def layer_times(t_in: np.ndarray, weight: np.ndarray, threshold: float, T: int) -> np.ndarray:
    """Spike times (steps, ``T`` = none) of one layer for one sample, simulated step by step."""
    spikes = np.zeros((t_in.shape[0], T + 1))
    fires = t_in <= T
    spikes[np.nonzero(fires)[0], t_in[fires]] = 1.0
    potential = np.cumsum(weight @ spikes, axis=1)
    potential[:, T] = threshold + 1  # forced crossing: "no spike" ends up at T
    t_out = np.argmax(potential > threshold, axis=1) + 1
    return np.minimum(t_out, T)


def layer_times_stepwise(t_in: np.ndarray, weight: np.ndarray, threshold: float, T: int) -> np.ndarray:
    """Same as :func:`layer_times`, written as a time loop: one matrix-vector product per step."""
    t_out = np.full(weight.shape[0], T)
    potential = np.zeros(weight.shape[0])
    for step in range(T):
        potential += weight @ (t_in == step)
        t_out = np.where((t_out == T) & (potential > threshold), step + 1, t_out)
    return np.minimum(t_out, T)


def forward(t_in: np.ndarray, weights: list[np.ndarray], cfg: RefConfig, stepwise: bool = False) -> list[np.ndarray]:
    """Spike times of every layer (input first) for one sample (``stepwise``: loop over time steps)."""
    simulate = layer_times_stepwise if stepwise else layer_times
    times = [t_in]
    for weight, threshold in zip(weights, cfg.thresholds):
        times.append(simulate(times[-1], weight, threshold, cfg.T))
    return times


def targets(t_out: np.ndarray, label: int, cfg: RefConfig) -> np.ndarray:
    """Target output times: S4NN relative targets or Aggressive TTFS (seed 000, eq. 6)."""
    T, first = cfg.T, t_out.min()
    if cfg.loss == "aggressive":
        target = np.full(t_out.shape, float(T))
        target[label] = first if first < T else 0.0
        return target
    if first == T:
        target = np.full(t_out.shape, float(T))
        target[label] = T - cfg.gamma
        return target
    target = t_out.astype(float).copy()
    target[(t_out - first) < cfg.gamma] = min(first + cfg.gamma, T)
    target[label] = first
    return target


def _normalise(delta: np.ndarray, norm: str) -> np.ndarray:
    size = {"l1": np.abs(delta).sum(), "l2": np.linalg.norm(delta), "none": 0.0}[norm]
    return delta / size if size != 0 else delta


def train_step(
    weights: list[np.ndarray], t_in: np.ndarray, label: int, cfg: RefConfig, stepwise: bool = False
) -> list[np.ndarray]:
    """One S4NN update on one sample; updates ``weights`` in place and returns the layer times."""
    times = forward(t_in, weights, cfg, stepwise)
    delta = _normalise((targets(times[-1], label, cfg) - times[-1]) / cfg.T, cfg.norm)
    for layer in range(len(weights) - 1, -1, -1):
        before = times[layer][None, :] < times[layer + 1][:, None]
        old_weight = weights[layer].copy()
        weights[layer] -= cfg.lr[layer] * delta[:, None] * before
        weights[layer] -= cfg.lr[layer] * cfg.decay * weights[layer]
        if layer:
            used = weights[layer] if cfg.hidden_error_uses_updated_weights else old_weight
            delta = _normalise((delta[:, None] * before * used).sum(axis=0), cfg.norm)
    return times


def train_epoch(
    weights: list[np.ndarray], t_images: np.ndarray, labels: np.ndarray, cfg: RefConfig, stepwise: bool = False
) -> None:
    """Train over every sample in order (batch size 1), updating ``weights`` in place."""
    for t_in, label in zip(t_images, labels):
        train_step(weights, t_in, int(label), cfg, stepwise)
