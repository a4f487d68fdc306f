"""Golden spike traces: record a run's per-layer spike times and compare two traces.

A trace is the ``.npz`` that ``ttfs-deploy run --trace`` / ``trace record`` write (:func:`save_trace`): ``layer_0`` (input)
... ``layer_K`` spike times (steps, ``T`` = none), ``labels``, ``predictions``, ``T``, ``target`` and
``early_stop``. Traces recorded with and without early stop compare in the early-stop view (spikes
after each sample's decision step masked), which is what a stopping target can report.

Rate-coded LIF runs (:mod:`ttfs_deploy.measure.rate_trace`) store ``(n, T, size)`` 0/1 rasters in the
same ``layer_k`` members, plus ``coding = "rate"`` and ``input_seed``; TTFS files are unchanged.
"""

from __future__ import annotations

import os
import pathlib
import re
from dataclasses import dataclass

import numpy as np

from ttfs_deploy.errors import TtfsError
from ttfs_deploy.fileio import atomic_write, read_npz
from ttfs_deploy.limits import MAX_T
from ttfs_deploy.semantics import RunResult, decision_steps, early_stop_view

__all__ = ["VIEWS", "TraceError", "Trace", "TraceDiff", "run_trace", "save_trace", "load_trace", "diff_traces"]


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
    coding: str = "ttfs"  # "rate": layers are (n, T, size) 0/1 rasters (measure/rate_trace.py)
    input_seed: int | None = None  # rate traces: the Poisson input's seed


VIEWS = {
    "full": "full view: every spike of all T steps compared",
    "early-stop": "early-stop view: spikes compared up to each sample's earlier decision step, since a "
    "stopping target never issues later ones",
}


@dataclass(frozen=True)
class TraceDiff:
    """How two traces differ: the first differing spike and summary counts (all zero when equal).

    ``view`` names what was compared (:data:`VIEWS`); ``first_decision`` holds the first differing
    sample's decision steps in A and B.
    """

    first: tuple[int, int, int, int, int] | None  # (sample, layer, neuron, time in A, time in B)
    samples_differing: int
    spikes_differing: int
    predictions_differing: int
    decision_steps_differing: int
    n: int
    shape_problem: str | None = None
    view: str = "full"
    first_decision: tuple[int, int] | None = None
    T: int = 0

    @property
    def equal(self) -> bool:
        return self.first is None and self.shape_problem is None

    def message(self) -> str:
        """One paragraph a failing regression test can show."""
        if self.shape_problem:
            return f"traces are not comparable: {self.shape_problem}"
        view = VIEWS[self.view]
        if self.first is None:
            return f"traces are identical ({self.n} samples; {view})"
        sample, layer, neuron, a, b = self.first
        name = "input" if layer == 0 else f"layer {layer}"
        decision = ""
        if self.first_decision is not None and self.first_decision[0] != self.first_decision[1]:
            da, db = (self._time(d) for d in self.first_decision)
            decision = f" (decision step {da} vs {db}: the decision changed)"
        return (
            f"first difference: sample {sample}, {name}, neuron {neuron}: spike time {self._time(a)} vs "
            f"{self._time(b)}{decision}; {self.samples_differing} of {self.n} samples differ, "
            f"{self.spikes_differing} spike times, {self.predictions_differing} predictions, "
            f"{self.decision_steps_differing} decision steps ({view})"
        )

    def _time(self, t: int) -> str:
        return "none" if self.T and t >= self.T else str(t)


def run_trace(
    layers: list[np.ndarray], result: RunResult, early_stop: bool, coding: str = "ttfs", input_seed: int | None = None
) -> Trace:
    """The trace of a run: per-layer spike times (steps; ``coding="rate"``: 0/1 rasters), labels,
    predictions and how it ran (``input_seed``: a rate run's Poisson seed)."""
    samples = result.samples
    return Trace(
        [np.asarray(layer, dtype=np.uint8 if coding == "rate" else np.int64) for layer in layers],
        np.array([s.label for s in samples], dtype=np.int64),
        np.array([s.prediction for s in samples], dtype=np.int64),
        result.T,
        result.target,
        early_stop,
        coding=coding,
        input_seed=input_seed,
    )


def save_trace(path: str | os.PathLike, trace: Trace) -> None:
    """Write a trace to an ``.npz`` file (no pickles), atomically."""
    dtype = np.uint8 if trace.coding == "rate" else np.int32
    arrays = {f"layer_{k}": t.astype(dtype) for k, t in enumerate(trace.layers)}
    if trace.coding == "rate":
        arrays.update(
            coding=np.array("rate"), input_seed=np.array(-1 if trace.input_seed is None else trace.input_seed)
        )
    arrays.update(
        labels=trace.labels,
        predictions=trace.predictions,
        T=np.array(trace.T),
        target=np.array(trace.target),
        early_stop=np.array(trace.early_stop),
    )
    atomic_write(path, lambda stream: np.savez_compressed(stream, **arrays))


_TRACE_KEYS = ("labels", "predictions", "T", "target", "early_stop")
_RATE_KEYS = ("coding", "input_seed")
_LAYER_NAME = re.compile(r"layer_(0|[1-9][0-9]{0,2})")


def _scalar(value: np.ndarray, kinds: str, what: str) -> object:
    if value.ndim != 0 or value.dtype.kind not in kinds:
        raise TraceError(
            f"{what} must be a single {'integer' if 'i' in kinds else 'value'}, got {value.dtype} {value.shape}"
        )
    return value.item()


def load_trace(path: str | pathlib.Path) -> Trace:
    """Read a trace file; raises :class:`TraceError` with one line on anything malformed.

    Checked before the comparison: members named, sized and typed by their headers (bounded,
    :func:`ttfs_deploy.fileio.read_npz`), layers ``layer_0..layer_K`` without gaps, integer spike
    times in ``0..T``, ``2 <= T <= MAX_T``, one label and prediction per sample.
    """
    path = pathlib.Path(path)
    try:
        data = read_npz(
            path, TraceError, lambda k: k in _TRACE_KEYS + _RATE_KEYS or bool(_LAYER_NAME.fullmatch(k)), "trace file"
        )
    except TraceError as exc:
        raise TraceError(f"not a ttfs-deploy trace: {exc}") from None
    try:
        missing = [k for k in _TRACE_KEYS if k not in data]
        if missing:
            raise TraceError(f"lacks {missing[0]!r}")
        T = _scalar(data["T"], "iu", "T")
        if not 2 <= T <= MAX_T:
            raise TraceError(f"T must be 2..{MAX_T}, got {T}")
        labels, predictions = data["labels"], data["predictions"]
        n = len(labels) if labels.ndim == 1 else -1
        for name, array in (("labels", labels), ("predictions", predictions)):
            if array.ndim != 1 or array.dtype.kind not in "iu" or len(array) != n:
                raise TraceError(f"{name} must be {max(n, 0)} integers, got {array.dtype} {array.shape}")
        if n and (predictions.min() < -1 or labels.min() < 0):
            raise TraceError("labels must be >= 0 and predictions >= -1")
        count = sum(1 for k in data if k.startswith("layer_"))
        if count < 2 or any(f"layer_{k}" not in data for k in range(count)):
            raise TraceError(f"layers must be layer_0..layer_K (K >= 1) without gaps, got {count} layer arrays")
        layers = [data[f"layer_{k}"] for k in range(count)]
        coding = _scalar(data["coding"], "U", "coding") if "coding" in data else "ttfs"
        if coding not in ("ttfs", "rate"):
            raise TraceError(f"coding must be ttfs or rate, got {str(coding)[:20]!r}")
        seed = _scalar(data["input_seed"], "iu", "input_seed") if "input_seed" in data else -1
        for k, layer in enumerate(layers if coding == "rate" else []):
            if layer.ndim != 3 or layer.shape[:2] != (n, T) or layer.shape[2] == 0 or layer.dtype != np.uint8:
                raise TraceError(f"layer_{k} must be a uint8 ({n}, {T}, size) raster, got {layer.dtype} {layer.shape}")
            if layer.size and layer.max() > 1:
                raise TraceError(f"layer_{k} holds values other than 0 and 1")
        for k, layer in enumerate(layers if coding == "ttfs" else []):
            if layer.ndim != 2 or layer.shape[0] != n or layer.shape[1] == 0 or layer.dtype.kind not in "iu":
                raise TraceError(f"layer_{k} must be {n} rows of integer spike times, got {layer.dtype} {layer.shape}")
            if layer.size and (layer.min() < 0 or layer.max() > T):
                raise TraceError(f"layer_{k} holds spike times outside 0..T = {T}")
        target = _scalar(data["target"], "U", "target")
        early_stop = _scalar(data["early_stop"], "b", "early_stop")
    except TraceError as exc:
        raise TraceError(f"{path}: not a ttfs-deploy trace ({exc})") from None
    return Trace(
        [layer if coding == "rate" else layer.astype(np.int64) for layer in layers],
        labels.astype(np.int64),
        predictions.astype(np.int64),
        int(T),
        str(target)[:200],
        bool(early_stop),
        str(coding),
        None if seed < 0 else int(seed),
    )


def diff_traces(a: Trace, b: Trace) -> TraceDiff:
    """Compare two traces spike for spike.

    Full view when neither stopped early. Otherwise the early-stop view: per sample, spikes are
    compared only up to the earlier of the two decision steps (later spikes exist in at most one of
    them, so a moved decision is reported as such, not as an input spike that one run dropped);
    decision steps and predictions are compared exactly, and the reported times come from each
    trace's own early-stop view.
    """
    if a.coding != b.coding:
        return TraceDiff(None, 0, 0, 0, 0, len(a.labels), f"codings {a.coding} vs {b.coding}")
    if a.coding == "rate":
        from ttfs_deploy.measure.rate_trace import diff_rasters

        return diff_rasters(a, b)
    shapes_a, shapes_b = [t.shape for t in a.layers], [t.shape for t in b.layers]
    if shapes_a != shapes_b or a.T != b.T:
        return TraceDiff(
            None, 0, 0, 0, 0, len(a.labels), f"layer shapes {shapes_a} (T = {a.T}) vs {shapes_b} (T = {b.T})"
        )
    T = a.T
    da, db = decision_steps(a.layers[-1], T), decision_steps(b.layers[-1], T)
    la, lb = a.layers, b.layers
    view = "early-stop" if a.early_stop or b.early_stop else "full"
    if view == "early-stop":
        la, lb = early_stop_view(la, T), early_stop_view(lb, T)
        common = np.minimum(da, db)[:, None]
        ca = [np.where(t > common, T, t) for t in la]
        cb = [np.where(t > common, T, t) for t in lb]
    else:
        ca, cb = la, lb
    first, per_sample, spikes = None, np.zeros(len(a.labels), bool), 0
    for x, y in zip(ca, cb):
        differ = x != y
        spikes += int(differ.sum())
        per_sample |= differ.any(axis=1)
    first_decision = None
    if per_sample.any():
        sample = int(np.argmax(per_sample))
        for k, (x, y) in enumerate(zip(ca, cb)):
            neurons = np.nonzero(x[sample] != y[sample])[0]
            if len(neurons):
                i = int(neurons[0])
                first = (sample, k, i, int(la[k][sample, i]), int(lb[k][sample, i]))
                break
        first_decision = (int(da[sample]), int(db[sample]))
    return TraceDiff(
        first,
        int(per_sample.sum()),
        spikes,
        int((a.predictions != b.predictions).sum()),
        int((da != db).sum()),
        len(a.labels),
        view=view,
        first_decision=first_decision,
        T=T,
    )
