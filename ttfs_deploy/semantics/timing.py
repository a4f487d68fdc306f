"""When spikes happen on Lava/hardware steps: streamed samples' windows and the per-layer delay.

The model's time convention and Lava's are described in :mod:`ttfs_deploy.semantics.fire_once`.
"""

from __future__ import annotations

import numpy as np

from ttfs_deploy.semantics.readout import decision_steps

__all__ = ["sample_starts", "hardware_times"]


def sample_starts(output_times: np.ndarray, T: int, early_stop: bool, first_step: int = 1) -> np.ndarray:
    """Lava step at which each streamed sample's window starts (its ``t = 0`` inputs are sent).

    A window lasts ``T`` steps; with early stop it ends at ``min(decision, T - 1)`` and the next
    sample starts on the following step (that step also resets the network).
    """
    output_times = np.asarray(output_times)
    length = np.full(len(output_times), T, dtype=np.int64)
    if early_stop:
        length = np.minimum(decision_steps(output_times, T), T - 1) + 1
    return first_step + np.concatenate([[0], np.cumsum(length)[:-1]]).astype(np.int64)


def hardware_times(times: list[np.ndarray], T: int, delay: int = 1, start: int | np.ndarray = 1) -> list[np.ndarray]:
    """Map model spike times to the Lava/hardware steps at which the spikes are sent.

    Layer ``k`` (input = 0) of a sample starting at step ``start`` sends its spike of model time
    ``t`` at ``start + t + k * (delay - 1)``; on Lava's CPU simulator ``delay = 1`` (Dense), so the
    step is ``start + t`` in every layer. ``start`` may be an ``(n,)`` array (see
    :func:`sample_starts`). No spike (``t >= T``) maps to -1.
    """
    start = np.asarray(start, dtype=np.int64).reshape(-1, 1) if np.ndim(start) else np.int64(start)
    return [
        np.where(np.asarray(t) < T, start + np.asarray(t) + k * (delay - 1), -1).astype(np.int64)
        for k, t in enumerate(times)
    ]
