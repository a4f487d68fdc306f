"""The golden backend: the integer network run by its own specification, on the host.

Golden is not a simulator of something else: :mod:`ttfs_deploy.semantics` defines what a quantized
network computes, and this backend runs exactly that (vectorised, compiled loops). Every other
backend must equal it spike for spike.
"""

from __future__ import annotations

import numpy as np

from ttfs_deploy.coding import encode_ttfs
from ttfs_deploy.ir import NetworkIR
from ttfs_deploy.semantics import RunResult, classify, integrator_membrane
from ttfs_deploy.semantics import simulate as _simulate

__all__ = ["simulate", "simulate_readout", "run"]


def simulate(
    ir: NetworkIR, t_in: np.ndarray, early_stop: bool = False, timeout_s: float | None = None
) -> list[np.ndarray]:
    """Per-layer spike times (steps, input first, ``T`` = none); ``timeout_s`` is unused (golden cannot hang)."""
    return _simulate(ir, t_in, early_stop=early_stop)


def simulate_readout(
    ir: NetworkIR, t_in: np.ndarray, timeout_s: float | None = None
) -> tuple[list[np.ndarray], np.ndarray | None]:
    """Spike times (no early stop) and the integrator read-out's potentials (None without one)."""
    times = _simulate(ir, t_in)
    return times, integrator_membrane(ir, times)


def run(ir: NetworkIR, images: np.ndarray, labels: np.ndarray, early_stop: bool = False) -> RunResult:
    """Encode ``images`` (``(n, pixels)`` uint8) with the IR's coding, simulate, classify (target "golden")."""
    images = np.asarray(images)
    t_in = encode_ttfs(images.reshape(len(images), -1), ir.T, ir.zero_policy)
    if ir.readout == "membrane":
        times, membrane = simulate_readout(ir, t_in)
        return classify(times, labels, ir.T, target="golden", membrane=membrane)
    return classify(simulate(ir, t_in, early_stop=early_stop), labels, ir.T, target="golden")


def missing() -> str | None:
    """Golden needs nothing beyond NumPy and Numba: always available."""
    return None
