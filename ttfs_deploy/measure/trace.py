"""Golden spike traces: record a run's per-layer spike times and compare two traces.

A trace is the ``.npz`` that ``ttfs-deploy run --trace`` / ``trace record`` write (:func:`save_trace`): ``layer_0`` (input)
... ``layer_K`` spike times (steps, ``T`` = none), ``labels``, ``predictions``, ``T``, ``target`` and
``early_stop``. Traces recorded with and without early stop compare in the early-stop view (spikes
after each sample's decision step masked), which is what a stopping target can report.
"""

from __future__ import annotations

import os
import pathlib
import zipfile
from dataclasses import dataclass

import numpy as np

from ttfs_deploy.errors import TtfsError
from ttfs_deploy.fileio import atomic_write
from ttfs_deploy.semantics import RunResult, decision_steps, early_stop_view

__all__ = ["TraceError", "Trace", "TraceDiff", "run_trace", "save_trace", "load_trace", "diff_traces"]


class TraceError(TtfsError):
    """A missing or malformed trace file; the message is one line."""


@dataclass(frozen=True)
class Trace:
    """Per-layer spike times plus labels and predictions of one recorded run."""

    layers: list[np.ndarray]
    labels: np.ndarray
    predictions: np.ndarray
    T: int
    target: str
    early_stop: bool


@dataclass(frozen=True)
class TraceDiff:
    """How two traces differ: the first differing spike and summary counts (all zero when equal)."""

    first: tuple[int, int, int, int, int] | None  # (sample, layer, neuron, time in A, time in B)
    samples_differing: int
    spikes_differing: int
    predictions_differing: int
    decision_steps_differing: int
    n: int
    shape_problem: str | None = None

    @property
    def equal(self) -> bool:
        return self.first is None and self.shape_problem is None

    def message(self) -> str:
        """One paragraph a failing regression test can show."""
        if self.shape_problem:
            return f"traces are not comparable: {self.shape_problem}"
        if self.first is None:
            return f"traces are identical ({self.n} samples)"
        sample, layer, neuron, a, b = self.first
        name = "input" if layer == 0 else f"layer {layer}"
        return (
            f"first difference: sample {sample}, {name}, neuron {neuron}: spike time {a} vs {b}; "
            f"{self.samples_differing} of {self.n} samples differ, {self.spikes_differing} spike times, "
            f"{self.predictions_differing} predictions, {self.decision_steps_differing} decision steps"
        )


def run_trace(times: list[np.ndarray], result: RunResult, early_stop: bool) -> Trace:
    """The trace of a run: its per-layer spike times (steps), labels, predictions and how it ran."""
    samples = result.samples
    return Trace(
        [np.asarray(t, dtype=np.int64) for t in times],
        np.array([s.label for s in samples], dtype=np.int64),
        np.array([s.prediction for s in samples], dtype=np.int64),
        result.T,
        result.target,
        early_stop,
    )


def save_trace(path: str | os.PathLike, trace: Trace) -> None:
    """Write a trace to an ``.npz`` file (no pickles), atomically."""
    arrays = {f"layer_{k}": t.astype(np.int32) for k, t in enumerate(trace.layers)}
    arrays.update(
        labels=trace.labels,
        predictions=trace.predictions,
        T=np.array(trace.T),
        target=np.array(trace.target),
        early_stop=np.array(trace.early_stop),
    )
    atomic_write(path, lambda stream: np.savez_compressed(stream, **arrays))


def load_trace(path: str | pathlib.Path) -> Trace:
    """Read a trace file; raises :class:`TraceError` with one line on anything malformed."""
    path = pathlib.Path(path)
    if not path.is_file():
        raise TraceError(f"{path}: no such trace file")
    try:
        with np.load(path, allow_pickle=False) as data:
            names = sorted((k for k in data.files if k.startswith("layer_")), key=lambda k: int(k[6:]))
            layers = [np.asarray(data[k], dtype=np.int64) for k in names]
            trace = Trace(
                layers,
                np.asarray(data["labels"]),
                np.asarray(data["predictions"]),
                int(data["T"]),
                str(data["target"]),
                bool(data["early_stop"]),
            )
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as err:
        raise TraceError(f"{path}: not a ttfs-deploy trace ({type(err).__name__})") from None
    if len(layers) < 2 or any(layer.ndim != 2 or layer.shape[0] != len(trace.labels) for layer in layers):
        raise TraceError(f"{path}: not a ttfs-deploy trace (layer arrays missing or of the wrong shape)")
    return trace


def diff_traces(a: Trace, b: Trace) -> TraceDiff:
    """Compare two traces spike for spike (in the early-stop view if either stopped early)."""
    shapes_a, shapes_b = [t.shape for t in a.layers], [t.shape for t in b.layers]
    if shapes_a != shapes_b or a.T != b.T:
        return TraceDiff(
            None, 0, 0, 0, 0, len(a.labels), f"layer shapes {shapes_a} (T = {a.T}) vs {shapes_b} (T = {b.T})"
        )
    la, lb = a.layers, b.layers
    if a.early_stop or b.early_stop:
        la, lb = early_stop_view(la, a.T), early_stop_view(lb, b.T)
    first, per_sample, spikes = None, np.zeros(len(a.labels), bool), 0
    for x, y in zip(la, lb):
        differ = x != y
        spikes += int(differ.sum())
        per_sample |= differ.any(axis=1)
    if per_sample.any():
        sample = int(np.argmax(per_sample))
        for k, (x, y) in enumerate(zip(la, lb)):
            neurons = np.nonzero(x[sample] != y[sample])[0]
            if len(neurons):
                first = (sample, k, int(neurons[0]), int(x[sample, neurons[0]]), int(y[sample, neurons[0]]))
                break
    decisions = int((decision_steps(la[-1], a.T) != decision_steps(lb[-1], b.T)).sum())
    return TraceDiff(
        first, int(per_sample.sum()), spikes, int((a.predictions != b.predictions).sum()), decisions, len(a.labels)
    )
