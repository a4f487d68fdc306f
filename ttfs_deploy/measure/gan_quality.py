"""Sample quality of a generator, measured (NumPy/SciPy only; the judge's features come from the caller).

* ``intended``: the fraction of samples that a classifier trained on real digits assigns to the
  intended digit;
* ``frechet``: the Fréchet distance between Gaussians fitted to real and generated samples in that
  classifier's feature space (its hidden layer): ``|mu_r - mu_g|^2 + tr(C_r + C_g - 2 (C_r C_g)^(1/2))``,
  as FID does with Inception features;
* ``diversity``: the mean pairwise Euclidean distance between samples (pixels scaled to [0, 1]); set
  beside the same figure for real digits of the class, a ratio far below 1 is mode collapse.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import linalg

__all__ = ["frechet_distance", "mean_pairwise_distance", "intended_fraction"]


def frechet_distance(real: np.ndarray, generated: np.ndarray) -> float:
    """Fréchet distance between Gaussian fits of two ``(n, features)`` sets (each n >= 2)."""
    if len(real) < 2 or len(generated) < 2:
        raise ValueError("the Fréchet distance needs at least two samples on each side")
    mu_r, mu_g = real.mean(axis=0), generated.mean(axis=0)
    cov_r = np.atleast_2d(np.cov(real, rowvar=False))
    cov_g = np.atleast_2d(np.cov(generated, rowvar=False))
    with warnings.catch_warnings():  # a singular product (few samples, dead features) is expected here
        warnings.simplefilter("ignore")
        root, _ = linalg.sqrtm(cov_r @ cov_g, disp=False)
    root = np.real(root)  # the imaginary part is numerical noise for these PSD products
    value = float(((mu_r - mu_g) ** 2).sum() + np.trace(cov_r + cov_g - 2 * root))
    return max(value, 0.0)


def mean_pairwise_distance(images: np.ndarray, limit: int = 500) -> float:
    """Mean Euclidean distance between distinct pairs of the first ``limit`` images (pixels / 255)."""
    x = np.asarray(images[:limit], dtype=np.float64).reshape(min(len(images), limit), -1) / 255
    if len(x) < 2:
        raise ValueError("pairwise distances need at least two images")
    squared = (x**2).sum(axis=1)
    d2 = np.maximum(squared[:, None] + squared[None, :] - 2 * x @ x.T, 0.0)
    n = len(x)
    return float(np.sqrt(d2)[np.triu_indices(n, k=1)].mean())


def intended_fraction(predictions: np.ndarray, digit: int) -> float:
    """Fraction of ``predictions`` equal to ``digit``."""
    return float((np.asarray(predictions) == digit).mean())
