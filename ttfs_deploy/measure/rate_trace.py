"""Golden traces of rate-coded LIF runs: every layer's spike raster, and their comparison.

A rate trace is a :class:`ttfs_deploy.measure.trace.Trace` with ``coding = "rate"``: ``layers`` hold
``(n, T, size)`` 0/1 rasters in the model's local time (input first), ``input_seed`` the seed of the
Poisson input. The file format is the TTFS trace's plus ``coding`` and ``input_seed`` members
(:func:`ttfs_deploy.measure.trace.save_trace`). Two rate traces compare spike for spike over the whole
window (there is no early stop for rate networks); decision steps are the oracle ones
(:func:`ttfs_deploy.semantics.readout.rate_decision_steps`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ttfs_deploy.measure.trace import Trace, TraceDiff, run_trace
from ttfs_deploy.semantics.readout import rate_decision_steps

__all__ = ["RateTraceDiff", "rate_run_trace", "diff_rasters"]


def rate_run_trace(rasters: list[np.ndarray], result, input_seed: int | None) -> Trace:
    """The trace of a rate-coded run (``result``: its :class:`~ttfs_deploy.semantics.rate.RateRunResult`)."""
    return run_trace(rasters, result, False, coding="rate", input_seed=input_seed)


@dataclass(frozen=True)
class RateTraceDiff(TraceDiff):
    """:class:`TraceDiff` of two rate traces: ``first`` is (sample, layer, neuron, step, spike in A)."""

    def message(self) -> str:
        if self.shape_problem:
            return f"traces are not comparable: {self.shape_problem}"
        if self.first is None:
            return f"traces are identical ({self.n} samples; every spike of every step compared)"
        sample, layer, neuron, step, in_a = self.first
        name = "input" if layer == 0 else f"layer {layer}"
        return (
            f"first difference: sample {sample}, {name}, neuron {neuron}, step {step}: "
            f"{'spike' if in_a else 'no spike'} vs {'no spike' if in_a else 'spike'}; {self.samples_differing} "
            f"of {self.n} samples differ, {self.spikes_differing} spikes, {self.predictions_differing} predictions, "
            f"{self.decision_steps_differing} decision steps (full view: every spike of every step compared)"
        )


def diff_rasters(a: Trace, b: Trace) -> RateTraceDiff:
    """Compare two rate traces spike for spike (same shapes and ``T`` required)."""
    shapes_a, shapes_b = [t.shape for t in a.layers], [t.shape for t in b.layers]
    n = len(a.labels)
    if shapes_a != shapes_b or a.T != b.T:
        return RateTraceDiff(None, 0, 0, 0, 0, n, f"layer shapes {shapes_a} vs {shapes_b}")
    if a.input_seed != b.input_seed:
        return RateTraceDiff(None, 0, 0, 0, 0, n, f"input seeds {a.input_seed} vs {b.input_seed}: different inputs")
    per_sample, spikes, first = np.zeros(n, bool), 0, None
    for x, y in zip(a.layers, b.layers):
        differ = x != y
        spikes += int(differ.sum())
        per_sample |= differ.any(axis=(1, 2))
    if per_sample.any():
        sample = int(np.argmax(per_sample))
        for k, (x, y) in enumerate(zip(a.layers, b.layers)):
            where = np.argwhere(x[sample] != y[sample])  # (step, neuron), step-major
            if len(where):
                step, neuron = (int(v) for v in where[0])
                first = (sample, k, neuron, step, bool(x[sample, step, neuron]))
                break
    da, db = rate_decision_steps(a.layers[-1])[1], rate_decision_steps(b.layers[-1])[1]
    return RateTraceDiff(
        first,
        int(per_sample.sum()),
        spikes,
        int((a.predictions != b.predictions).sum()),
        int((da != db).sum()),
        n,
        view="full",
        T=a.T,
    )
