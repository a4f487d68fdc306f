"""Spike codings: time-to-first-spike (S4NN) and spike-count (rate) coding of 8-bit images.

Time convention used everywhere in ttfs-deploy (training, golden simulator, Lava):

* A simulation has ``T`` steps (``T = 256`` by default). A spike time is an integer step.
* An input pixel ``p`` in 0..255 spikes once at ``t = floor((255 - p) * T / 255)`` (S4NN), so bright
  pixels spike early. ``p = 255`` spikes at step 0.
* A spike time equal to ``T`` means *no spike*. Black pixels (``p = 0``) give ``t = T`` under the
  ``"silent"`` zero policy (S4NN's behaviour); under ``"last"`` they spike at ``T - 1`` instead, which
  is how seed 000 counts 784 input spikes per MNIST image. A spike at ``T - 1`` can never make a
  downstream neuron fire before ``T`` (see :mod:`ttfs_deploy.train.fire_once`), so the zero policy
  changes spike counts but never a classification.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "ZERO_POLICIES",
    "encode_ttfs",
    "decode_ttfs",
    "count_spikes_ttfs",
    "count_spikes_rate",
]

ZERO_POLICIES = ("silent", "last")


def _check_images(images: np.ndarray) -> np.ndarray:
    images = np.asarray(images)
    if images.size and (images.min() < 0 or images.max() > 255):
        raise ValueError(f"images must hold pixel values in 0..255, got range {images.min()}..{images.max()}")
    return images.astype(np.int64)


def encode_ttfs(images: np.ndarray, T: int = 256, zero_policy: str = "silent") -> np.ndarray:
    """Encode 8-bit pixels as one spike time each (S4NN time-to-first-spike coding).

    Parameters
    ----------
    images : array of int, any shape, values 0..255
    T : number of simulation steps; a time of ``T`` means no spike.
    zero_policy : ``"silent"`` (black pixels never spike) or ``"last"`` (they spike at step ``T - 1``).

    Returns
    -------
    np.ndarray of int64, same shape as ``images``: spike times in steps, in ``0..T``.
    """
    if zero_policy not in ZERO_POLICIES:
        raise ValueError(f"zero_policy must be one of {ZERO_POLICIES}, got {zero_policy!r}")
    if T < 2:
        raise ValueError(f"T must be at least 2 steps, got {T}")
    pixels = _check_images(images)
    times = ((255 - pixels) * T) // 255
    if zero_policy == "last":
        times = np.where(pixels == 0, T - 1, times)
    return times


def decode_ttfs(times: np.ndarray, T: int = 256) -> np.ndarray:
    """Invert :func:`encode_ttfs`: spike times (steps) back to pixel values 0..255 (uint8).

    Times ``T - 1`` and ``T`` decode to 0. For ``T >= 256`` the round trip is exact for every pixel under either zero policy.
    """
    times = np.asarray(times, dtype=np.int64)
    # the pixel whose code is t has 255 - p = ceil(255 * t / T); t >= T - 1 lands on p = 0
    pixels = 255 - (255 * times + T - 1) // T
    return np.clip(pixels, 0, 255).astype(np.uint8)


def count_spikes_ttfs(images: np.ndarray, T: int = 256, zero_policy: str = "silent") -> np.ndarray:
    """Input spikes per image under TTFS coding (at most one per pixel). ``images``: (n, pixels)."""
    times = encode_ttfs(images, T, zero_policy)
    return (times < T).sum(axis=-1)


def count_spikes_rate(images: np.ndarray, inverted: bool = False) -> np.ndarray:
    """Input spikes per image under lossless spike-count coding over 256 steps.

    Seed 000 (Sec. 3.2) counts ``255 - p`` spikes per pixel for plain count coding (173,745 per MNIST
    image) and ``p`` spikes per pixel for the inverted image (26,175); we follow that definition.
    ``images``: (n, pixels) uint8. Returns spikes per image (int64).
    """
    pixels = _check_images(images)
    per_pixel = pixels if inverted else 255 - pixels
    return per_pixel.sum(axis=-1)
