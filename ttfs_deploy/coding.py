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
    "RATE_SCHEMES",
    "encode_rate",
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


RATE_SCHEMES = ("poisson", "regular")
MAX_RATE_SEED = 2**32 - 1


def _rate_probabilities(pixels: np.ndarray, max_rate: float) -> np.ndarray:
    return pixels.astype(np.float64) / 255.0 * max_rate


def encode_rate(
    images: np.ndarray,
    T: int,
    scheme: str = "poisson",
    seed: int = 0,
    max_rate: float = 1.0,
    first_index: int = 0,
) -> np.ndarray:
    """Encode 8-bit pixels as spike trains over ``T`` steps, rate proportional to intensity (seed 002).

    A pixel ``p`` spikes in a step with probability ``r = max_rate * p / 255``.

    * ``"poisson"``: one Bernoulli draw per pixel and step (seed 002's Poisson generator). Sample
      ``k`` of the call uses its own stream, ``numpy.random.default_rng([seed, first_index + k])``,
      so a sample's spikes depend only on the seed and its index in the data set: every target, and
      every chunk size, sees the same spikes.
    * ``"regular"``: deterministic, evenly spaced: a spike at step ``t`` when
      ``floor((t + 1) r) > floor(t r)`` (``round(T r)`` spikes, none random); ``seed`` is unused.

    Returns a ``(n, T, pixels)`` bool array (``images`` is ``(n, pixels)``, values 0..255).
    """
    from ttfs_deploy.errors import UsageError

    if scheme not in RATE_SCHEMES:
        raise UsageError(f"rate coding scheme must be one of {', '.join(RATE_SCHEMES)}, got {scheme!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed <= MAX_RATE_SEED:
        raise UsageError(f"input seed must be an integer in 0..{MAX_RATE_SEED}, got {seed!r}")
    if not 0.0 < max_rate <= 1.0:
        raise UsageError(f"max_rate must be in (0, 1], got {max_rate!r}")
    if T < 1:
        raise UsageError(f"T must be at least 1 step, got {T}")
    pixels = _check_images(images)
    n = pixels.shape[0]
    p = _rate_probabilities(pixels.reshape(n, int(np.prod(pixels.shape[1:]))), max_rate)
    if scheme == "regular":
        steps = np.arange(T + 1, dtype=np.float64)[None, :, None]
        counts = np.floor(steps * p[:, None, :] + 1e-9)
        return counts[:, 1:] > counts[:, :-1]
    out = np.empty((n, T, p.shape[1]), dtype=bool)
    for k in range(n):
        rng = np.random.default_rng([int(seed), int(first_index) + k])
        out[k] = rng.random((T, p.shape[1])) < p[k][None, :]
    return out
