"""Classification results from spike times (NumPy only, shared by every target).

Decision rule: the class of the first output neuron to spike. When several outputs spike first in the
same step, the lowest index wins (hardware-friendly and documented); ``accuracy_strict`` counts every
such tie as wrong. When no output spikes, the prediction is -1 (no decision, counted wrong) and the
decision step is ``T``.

Spike counts include input, hidden and output spikes. "Until decision" counts spikes whose time is at
or before the decision step, as seed 000 does (194 spikes = 16.2 % of 1194 neurons).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

__all__ = ["SampleResult", "RunResult", "decision_steps", "early_stop_view", "classify"]


@dataclass(frozen=True)
class SampleResult:
    """One sample: label, predicted class (-1 = no output spike), decision step and spike counts."""

    label: int
    prediction: int
    decision_step: int
    spikes_until_decision: int
    spikes_total: int


@dataclass(frozen=True)
class RunResult:
    """A whole run; ``to_json()`` gives the schema every ``ttfs-deploy run --target`` prints."""

    target: str
    T: int
    samples: list[SampleResult]
    ties: int  # samples whose first output step had more than one spiking neuron (membrane: shared final maximum)
    ties_correct: int  # of those, how many the lowest-index rule resolved to the label
    readout: str = "first_spike"  # or "membrane": the arg-max of an integrator's final potential

    @property
    def n(self) -> int:
        return len(self.samples)

    def _mean(self, values: list[float]) -> float:
        return float(np.mean(values)) if values else float("nan")

    @property
    def accuracy(self) -> float:
        """Fraction of samples whose prediction (lowest index among tied first spikes) is the label."""
        return self._mean([s.prediction == s.label for s in self.samples])

    @property
    def accuracy_strict(self) -> float:
        """Accuracy with every tie for the first output spike counted wrong."""
        correct = sum(s.prediction == s.label for s in self.samples)
        return (correct - self.ties_correct) / self.n if self.n else float("nan")  # one division: no 0.8099999

    @property
    def mean_decision_step(self) -> float:
        """Mean decision step (steps; ``T`` for a sample with no decision)."""
        return self._mean([s.decision_step for s in self.samples])

    @property
    def mean_spikes_until_decision(self) -> float:
        """Mean spikes (input + hidden + output) issued up to the decision step."""
        return self._mean([s.spikes_until_decision for s in self.samples])

    @property
    def mean_spikes_total(self) -> float:
        """Mean spikes per inference over the simulated window."""
        return self._mean([s.spikes_total for s in self.samples])

    def to_json(self) -> dict:
        """Plain dict: accuracy, n, mean_* figures, tie counts and a list of per-sample dicts."""
        return {
            "target": self.target,
            "accuracy": self.accuracy,
            "accuracy_strict": self.accuracy_strict,
            "n": self.n,
            "ties": self.ties,
            "T": self.T,
            "mean_decision_step": self.mean_decision_step,
            "mean_spikes_until_decision": self.mean_spikes_until_decision,
            "mean_spikes_total": self.mean_spikes_total,
            **({"readout": self.readout} if self.readout != "first_spike" else {}),
            "samples": [asdict(s) for s in self.samples],
        }


def decision_steps(output_times: np.ndarray, T: int) -> np.ndarray:
    """Each sample's decision step: its first output spike time (steps), ``T`` when no output spikes.

    The one definition every stage uses (classification, early-stop view, traces, costs).
    ``output_times`` is ``(n, n_out)``; returns ``(n,)`` int64.
    """
    out = np.asarray(output_times)
    return np.minimum(out.min(axis=1, initial=T), T).astype(np.int64)


def early_stop_view(times: list[np.ndarray], T: int) -> list[np.ndarray]:
    """Early-stop view: per sample, spikes later than its first output spike become ``T``.

    Parameters
    ----------
    times : list of np.ndarray
        Per-layer ``(n, size)`` spike times, input first, output last.
    T : int
        Steps per sample.

    Returns
    -------
    list of np.ndarray
        New arrays; samples whose output never spikes are unchanged.
    """
    decision = decision_steps(times[-1], T)[:, None]
    return [np.where(np.asarray(t) > decision, T, t).astype(np.int64) for t in times]


def classify(
    times: list[np.ndarray], labels: np.ndarray, T: int, target: str, membrane: np.ndarray | None = None
) -> RunResult:
    """Turn per-layer spike times (input first; each (n, neurons), ``T`` = no spike) into a RunResult.

    ``membrane`` (``(n, T - 1, n_out)``, :func:`ttfs_deploy.semantics.fire_once.integrator_membrane`)
    is given for a network with an integrator read-out: the prediction is the arg-max of the last
    step's potential (lowest index on ties) and the decision step is the model time at which the
    running arg-max settles on it (an oracle bound, :func:`membrane_decision_steps`; the potential after
    step ``s`` is known at time ``s + 1``). Otherwise the first output spike decides.
    """
    if membrane is not None:
        membrane = np.asarray(membrane)
        prediction, settled = membrane_decision_steps(membrane)
        first = settled + 1  # the potential after step s is known at model time s + 1
        decided = first < T
        final = membrane[:, -1]
        tied = (final == final.max(axis=1, keepdims=True)).sum(axis=1) > 1
    else:
        out = np.asarray(times[-1])
        first = decision_steps(out, T)
        decided = first < T
        at_first = out == first[:, None]
        prediction = np.where(decided, at_first.argmax(axis=1), -1)
        tied = decided & (at_first.sum(axis=1) > 1)
    spikes_total = sum((np.asarray(t) < T).sum(axis=1) for t in times)
    limit = np.where(decided, first, T - 1)[:, None]
    spikes_until = sum((np.asarray(t) <= limit).sum(axis=1) for t in times)
    labels = np.asarray(labels)
    samples = [
        SampleResult(int(l), int(p), int(d), int(u), int(s))
        for l, p, d, u, s in zip(labels, prediction, np.where(decided, first, T), spikes_until, spikes_total)
    ]
    return RunResult(
        target=target,
        T=T,
        samples=samples,
        ties=int(tied.sum()),
        ties_correct=int((tied & (prediction == labels)).sum()),
        readout="first_spike" if membrane is None else "membrane",
    )


# --- rate-coded networks (spike counts) -----------------------------------------------------------


def count_predictions(counts: np.ndarray) -> np.ndarray:
    """Arg-max of output spike counts over the last axis, lowest index on ties, ``-1`` where no output spiked."""
    counts = np.asarray(counts)
    return np.where(counts.max(axis=-1) > 0, counts.argmax(axis=-1), -1)


def rate_decision_steps(output: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rate networks' decision step (an oracle bound): the earliest output step after which the running
    spike count's arg-max (:func:`count_predictions`) never changes again.

    ``output`` is the output layer's ``(n, T, n_out)`` raster in its local time. Returns the final
    predictions (the whole window's arg-max, ``-1`` = no output spike) and each sample's decision step
    in local steps (``T`` where the prediction is ``-1``). A chip cannot know this step when it
    reaches it (later spikes could still change the count): :func:`lead_decision_steps` is the causal rule.
    """
    return _settled(count_predictions(np.cumsum(np.asarray(output, dtype=np.int64), axis=1)))  # (n, T)


def membrane_decision_steps(membrane: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The integrator read-out's prediction and decision step (an oracle bound, as :func:`rate_decision_steps`).

    ``membrane`` is the read-out's potential per step ``(n, steps, n_out)``. The prediction is the
    arg-max of the last step's potential (lowest index on ties; never ``-1``); the decision step is the
    earliest step from which the running arg-max is unique and that prediction (a step where the
    largest potential is shared, e.g. all still 0, decides nothing); ``steps`` when the last step is tied.
    """
    m = np.asarray(membrane)
    unique = (m == m.max(axis=2, keepdims=True)).sum(axis=2) == 1
    return m[:, -1].argmax(axis=1), _settled(np.where(unique, m.argmax(axis=2), -1))[1]


def _settled(running: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Final predictions (last column of ``running``, ``(n, T)``) and the step from which they hold."""
    final = running[:, -1]
    T = running.shape[1]
    differs = running != final[:, None]
    last_differing = np.where(differs.any(axis=1), T - 1 - np.argmax(differs[:, ::-1], axis=1), -1)
    return final, np.where(final >= 0, last_differing + 1, T).astype(np.int64)


def lead_decision_steps(output: np.ndarray, lead: int) -> tuple[np.ndarray, np.ndarray]:
    """Causal early stop for rate networks: stop at the first output step where the leading neuron's
    count exceeds every other neuron's by at least ``lead`` spikes, and decide for it.

    Samples that never reach the lead run to the end and take the window's arg-max. Returns
    (predictions, local decision steps; ``T`` where no output spiked at all).
    """
    counts = np.cumsum(np.asarray(output, dtype=np.int64), axis=1)  # (n, T, n_out)
    n, T = counts.shape[:2]
    top2 = (
        -np.partition(-counts, 1, axis=2)[:, :, :2]
        if counts.shape[2] > 1
        else np.concatenate([counts, np.zeros_like(counts)], axis=2)
    )
    reached = (top2[:, :, 0] - top2[:, :, 1]) >= lead
    first = np.where(reached.any(axis=1), reached.argmax(axis=1), T - 1)
    prediction = count_predictions(counts[np.arange(n), first])
    return prediction, np.where(prediction >= 0, first, T).astype(np.int64)
