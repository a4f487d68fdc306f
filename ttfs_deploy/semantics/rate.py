"""Results of rate-coded LIF networks from their spike rasters: classification and reconstruction.

Classification (``RateRunResult``, the same JSON schema as TTFS runs plus rate keys):

* prediction: the output neuron with the most spikes over the window (lowest index on ties; ``-1``
  when no output spikes, counted wrong); ``ties``: samples whose top count is shared;
  ``accuracy_strict`` counts those wrong.
* ``decision_step``: :func:`~ttfs_deploy.semantics.readout.rate_decision_steps` (the oracle bound: from
  then on the running arg-max is the final one), in *hardware* steps from the sample's start, like
  TTFS decision steps: output local step ``d`` is hardware step ``d + L`` (``L`` LIF layers, one
  Dense delay each; :func:`ttfs_deploy.semantics.lif.hardware_step`); ``T + L`` where no output spiked.
* ``spikes_until_decision``: input, hidden and output spikes issued at hardware steps ``<=`` the
  decision step; ``spikes_total``: every spike of the window (the same meanings as for TTFS).
* integrator read-out (lava-dl's layer without a neuron; ``membrane`` given): the prediction is the
  arg-max of the read-out's ``v`` at its last local step ``T - 1`` (hardware step ``T - 1 + L``;
  lowest index on ties, which ``ties`` counts), the decision step the oracle bound on the running
  arg-max of ``v`` (:func:`~ttfs_deploy.semantics.readout.membrane_decision_steps`); ``causal`` is None.
* ``causal``: the lead-``k`` early-stop rule a chip can apply
  (:func:`~ttfs_deploy.semantics.readout.lead_decision_steps`): its accuracy, mean decision step and
  spikes until it, so its accuracy cost against the full count is visible.

Reconstruction (``ReconResult``): the output spike counts scaled to 0..255 (``count * 255 // T``) and
seed 002's MSE (each image and reconstruction normalised to zero mean, unit variance).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ttfs_deploy.semantics.lif import hardware_step
from ttfs_deploy.semantics.readout import (
    RunResult,
    SampleResult,
    lead_decision_steps,
    membrane_decision_steps,
    rate_decision_steps,
)

__all__ = [
    "DEFAULT_LEAD",
    "RateRunResult",
    "ReconResult",
    "classify_rate",
    "reconstruct",
    "normalised_mse",
    "spikes_until",
]

DEFAULT_LEAD = 3  # spikes of lead for the causal rule `run` reports beside the oracle


@dataclass(frozen=True)
class RateRunResult(RunResult):
    """A rate-coded classification run: :class:`RunResult` plus the causal rule and the input seed."""

    extra: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return super().to_json() | self.extra


def spikes_until(rasters: list[np.ndarray], decision: np.ndarray) -> np.ndarray:
    """Per sample, spikes of every layer (input first, local-time rasters) at hardware steps ``<= decision``."""
    total = np.zeros(len(decision), dtype=np.int64)
    for k, raster in enumerate(rasters):
        per_step = np.asarray(raster).sum(axis=2, dtype=np.int64)  # (n, T)
        steps = hardware_step(k, np.arange(per_step.shape[1]))
        total += (per_step * (steps[None, :] <= decision[:, None])).sum(axis=1)
    return total


def classify_rate(
    rasters: list[np.ndarray],
    labels: np.ndarray,
    target: str,
    seed: int | None,
    lead: int = DEFAULT_LEAD,
    membrane: np.ndarray | None = None,
) -> RateRunResult:
    """Classify from per-layer rasters (input first, ``(n, T, size)``, local time), or from the
    integrator read-out's ``membrane`` (``(n, T, n_out)``) when given."""
    output = np.asarray(rasters[-1])
    n, T = output.shape[:2]
    L = len(rasters) - 1
    if membrane is not None:
        return _classify_membrane(rasters, np.asarray(membrane), np.asarray(labels), target, seed)
    counts = output.sum(axis=1, dtype=np.int64)
    prediction, local = rate_decision_steps(output)
    decision = np.where(prediction >= 0, local + L, T + L)
    tied = (prediction >= 0) & ((counts == counts.max(axis=1, keepdims=True)).sum(axis=1) > 1)
    labels = np.asarray(labels)
    total = sum(np.asarray(r).sum(axis=(1, 2), dtype=np.int64) for r in rasters)
    until = spikes_until(rasters, decision)
    samples = [
        SampleResult(int(lb), int(p), int(d), int(u), int(s))
        for lb, p, d, u, s in zip(labels, prediction, decision, until, total)
    ]
    causal_prediction, causal_local = lead_decision_steps(output, lead)
    causal_decision = np.where(causal_prediction >= 0, causal_local + L, T + L)
    extra = {
        "neuron": "lif",
        "coding": "rate",
        "input_seed": seed,
        "decision_rule": "oracle: earliest step after which the running output-count arg-max never changes",
        "causal": {
            "rule": f"lead of {lead} spikes (else the full window's arg-max)",
            "lead": lead,
            "accuracy": float(np.mean(causal_prediction == labels)) if n else float("nan"),
            "mean_decision_step": float(causal_decision.mean()) if n else float("nan"),
            "mean_spikes_until_decision": float(spikes_until(rasters, causal_decision).mean()) if n else float("nan"),
        },
    }
    return RateRunResult(target, T, samples, int(tied.sum()), int((tied & (prediction == labels)).sum()), extra=extra)


def _classify_membrane(
    rasters: list[np.ndarray], membrane: np.ndarray, labels: np.ndarray, target: str, seed: int | None
) -> RateRunResult:
    n, T = membrane.shape[:2]
    L = len(rasters) - 1
    prediction, local = membrane_decision_steps(membrane)
    decision = local + L
    last = membrane[:, -1] if n else np.zeros((0, membrane.shape[2]), np.int64)
    tied = (last == last.max(axis=1, keepdims=True)).sum(axis=1) > 1 if n else np.zeros(0, bool)
    total = sum(np.asarray(r).sum(axis=(1, 2), dtype=np.int64) for r in rasters)
    until = spikes_until(rasters, decision)
    samples = [
        SampleResult(int(lb), int(p), int(d), int(u), int(s))
        for lb, p, d, u, s in zip(labels, prediction, decision, until, total)
    ]
    extra = {
        "neuron": "lif",
        "coding": "rate",
        "input_seed": seed,
        "readout": "membrane",
        "decision_rule": "oracle: earliest step from which the running arg-max of the read-out's membrane is "
        "unique and never changes; the prediction is the arg-max at the last step (lowest index on ties)",
        "causal": None,
    }
    ties_correct = int((tied & (prediction == labels)).sum())
    return RateRunResult(target, T, samples, int(tied.sum()), ties_correct, readout="membrane", extra=extra)


def normalised_mse(images: np.ndarray, reconstructions: np.ndarray) -> float:
    """Seed 002's MSE: each image and its reconstruction normalised to zero mean and unit variance."""

    def norm(a: np.ndarray) -> np.ndarray:
        a = np.asarray(a).reshape(len(a), -1).astype(np.float64)
        sd = a.std(axis=1, keepdims=True)
        return (a - a.mean(axis=1, keepdims=True)) / np.where(sd > 0, sd, 1.0)

    return float(np.mean((norm(images) - norm(reconstructions)) ** 2)) if len(images) else float("nan")


@dataclass(frozen=True)
class ReconResult:
    """An autoencoder run: reconstructions (uint8, ``(n, pixels)``), their normalised MSE and spike counts."""

    target: str
    T: int
    reconstructions: np.ndarray
    mse: float
    spikes_total: np.ndarray
    seed: int | None

    def to_json(self) -> dict:
        return {
            "target": self.target,
            "task": "autoencode",
            "neuron": "lif",
            "coding": "rate",
            "mse": self.mse,
            "n": int(len(self.reconstructions)),
            "T": self.T,
            "input_seed": self.seed,
            "mean_spikes_total": float(self.spikes_total.mean()) if len(self.spikes_total) else float("nan"),
        }


def reconstruct(rasters: list[np.ndarray], images: np.ndarray, target: str, seed: int | None) -> ReconResult:
    """The output counts as images (``count * 255 // T``) and seed 002's MSE against ``images``."""
    output = np.asarray(rasters[-1])
    T = output.shape[1]
    recon = (output.sum(axis=1, dtype=np.int64) * 255 // T).astype(np.uint8)
    total = sum(np.asarray(r).sum(axis=(1, 2), dtype=np.int64) for r in rasters)
    return ReconResult(target, T, recon, normalised_mse(images, recon), np.asarray(total), seed)
