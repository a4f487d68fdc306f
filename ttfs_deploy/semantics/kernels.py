"""Compiled inner loops of the fire-once layer (Numba; NumPy arrays in, no torch).

One place computes fire-once spike times for both training (:mod:`ttfs_deploy.train.fire_once`, float
weights) and the golden simulator (:mod:`ttfs_deploy.semantics.fire_once`, float or integer arithmetic).
The loops walk each sample's input spikes in time order (``sorted_t``/``order`` from
:func:`sort_by_time`, silent inputs last with time ``T``) and touch one weight row per input spike,
so their cost is O(batch * active inputs * outputs) with the row in cache. The tensor version they
replaced materialised a (batch, active inputs, outputs) tensor several times per step and was
memory-bound (docs/benchmarks.md).

Float sums follow the same order, in the same precision, as ``torch.cumsum`` (float64 running sum,
rounded to the weight dtype) and ``index_add_`` (sample-major, then input order), so spike times and
weight gradients are bit-for-bit what the tensor version computed: the shipped models' training
commands reproduce them exactly. Integer sums are Loihi's: each step's input is summed, shifted by
the weight exponent, and added to a saturating membrane register (see the golden module).
"""

from __future__ import annotations

import itertools
import os
from concurrent.futures import ThreadPoolExecutor, wait

import numpy as np
from numba import njit

__all__ = ["sort_by_time", "spike_times", "weight_grad"]

# The loops release the GIL, so large calls are split over threads: spike times by sample, the
# weight gradient by output neuron. Each output element is still summed by one thread in the same
# order, so results do not depend on the split or the core count.
_WORKERS = min(2, os.cpu_count() or 1)
# input spikes x neurons per thread. Measured on a 2-core VM: a training batch (32 digits x ~200
# input spikes x 400 neurons = 2.6M) ran an epoch 30 % slower split in two, while the golden
# simulator's 500 digits (~40M) ran 3-41 % faster split (three paired runs); the hand-over costs that much.
_MIN_WORK_PER_THREAD = 1 << 24
_CHUNKS_PER_WORKER = 2
_pool: ThreadPoolExecutor | None = None


def _forget_pool() -> None:  # a forked child (Lava forks) inherits the pool object but not its threads
    global _pool
    _pool = None


os.register_at_fork(after_in_child=_forget_pool)


def _in_parallel(task, n_items: int, work: int) -> list:
    """``[task(chunk) for chunk in chunks]``, in order, over contiguous chunks of ``range(n_items)``.

    Large calls are cut into ``_CHUNKS_PER_WORKER`` chunks per worker, which the calling thread and the
    pool's threads take one at a time as they come free: a pool thread that wakes late (on this VM a
    sleeping vCPU can take a large part of a millisecond) leaves its chunks to the caller instead of
    holding back the call's second half.
    """
    parts = max(1, min(_WORKERS, n_items, work // _MIN_WORK_PER_THREAD))
    if parts == 1:  # every training batch: no split to compute on this hot path
        return [task(slice(0, n_items))]
    bounds = np.linspace(0, n_items, min(n_items, parts * _CHUNKS_PER_WORKER) + 1).astype(int)
    chunks = [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:])]
    results: list = [None] * len(chunks)
    taken = itertools.count()  # next() on a count is atomic under the GIL

    def work_through() -> None:
        while (i := next(taken)) < len(chunks):
            results[i] = task(chunks[i])

    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(_WORKERS - 1, thread_name_prefix="ttfs-kernels")
    helpers = [_pool.submit(work_through) for _ in range(parts - 1)]
    try:
        work_through()
    finally:
        wait(helpers)  # no chunk outlives the call, even when the caller's own chunk raised
    for helper in helpers:
        helper.result()  # re-raises a helper's exception
    return results


@njit(cache=True, nogil=True)
def _sort_by_time(t_in, T, sorted_t, order):  # pragma: no cover - compiled
    n_samples, n_in = t_in.shape
    start = np.empty(T + 1, np.int64)
    for b in range(n_samples):
        start[:] = 0
        for i in range(n_in):  # counting sort: times are small integers; silent inputs share slot T
            start[min(max(t_in[b, i], 0), T)] += 1
        total = 0
        for t in range(T + 1):
            total, start[t] = total + start[t], total
        for i in range(n_in):
            t = min(max(t_in[b, i], 0), T)
            if start[t] < sorted_t.shape[1]:
                sorted_t[b, start[t]] = t
                order[b, start[t]] = i
            start[t] += 1


def sort_by_time(t_in: np.ndarray, T: int) -> tuple[np.ndarray, np.ndarray]:
    """Each sample's input times in stable time order, cut to the inputs that can spike.

    Returns ``(sorted_t, order)``, both (batch, K) int64 with K = most spikes (time ``< T``) in any
    sample, at least 1; ``order`` holds input indices, and padding entries have time ``T`` (times
    above ``T`` become ``T``, below 0 become 0).
    """
    t_in = np.ascontiguousarray(t_in, np.int64)
    k = max(int((t_in < T).sum(axis=1).max()), 1) if len(t_in) else 1
    sorted_t, order = np.empty((len(t_in), k), np.int64), np.empty((len(t_in), k), np.int64)
    _sort_by_time(t_in, np.int64(T), sorted_t, order)
    return sorted_t, order


def _checked_slots(sorted_t: np.ndarray, order: np.ndarray, n_in: int) -> tuple[np.ndarray, np.ndarray]:
    # the compiled loops index without bounds checks: a bad index must fail here, not read memory
    sorted_t, order = np.ascontiguousarray(sorted_t, np.int64), np.ascontiguousarray(order, np.int64)
    if sorted_t.ndim != 2 or sorted_t.shape != order.shape:
        raise ValueError(f"sorted_t {sorted_t.shape} and order {order.shape} must be the same (batch, K) shape")
    if order.size and (order.min() < 0 or order.max() >= n_in):
        raise ValueError(f"order holds input indices outside 0..{n_in - 1}")
    return sorted_t, order


@njit(cache=True, nogil=True)
def _add_group(sorted_t, order, weight_t, b, k, into):  # pragma: no cover - compiled
    """Add the weight rows of sample ``b``'s inputs spiking at time ``sorted_t[b, k]`` into ``into``.

    Returns the slot after that group: V only changes at input times, so a crossing is tested once
    per group of equal times.
    """
    t = sorted_t[b, k]
    while k < sorted_t.shape[1] and sorted_t[b, k] == t:
        row = weight_t[order[b, k]]
        for j in range(into.shape[0]):
            into[j] += row[j]
        k += 1
    return k


@njit(cache=True, nogil=True)
def _float_times(sorted_t, order, weight_t, threshold, T, accumulator, potential, t_out):  # pragma: no cover - compiled
    for b in range(sorted_t.shape[0]):
        accumulator[:] = 0
        t_out[b, :] = T
        k = 0
        # one step of synaptic delay: inputs at T - 1 or later could only cause a crossing at
        # T - 1, which is no spike
        while k < sorted_t.shape[1] and sorted_t[b, k] < T - 1:
            fire = sorted_t[b, k] + 1
            k = _add_group(sorted_t, order, weight_t, b, k, accumulator)
            for j in range(t_out.shape[1]):
                potential[j] = accumulator[j]  # rounded to the weight dtype, as torch.cumsum stores it
                if t_out[b, j] == T and potential[j] > threshold:
                    t_out[b, j] = fire


@njit(cache=True, nogil=True)
def _integer_times(
    sorted_t, order, weight_t, threshold, T, exponent, low, high, step, potential, t_out
):  # pragma: no cover - compiled
    for b in range(sorted_t.shape[0]):
        potential[:] = 0
        t_out[b, :] = T
        k = 0
        while k < sorted_t.shape[1] and sorted_t[b, k] < T - 1:  # as in _float_times
            fire = sorted_t[b, k] + 1
            step[:] = 0
            k = _add_group(sorted_t, order, weight_t, b, k, step)
            for j in range(t_out.shape[1]):
                # Loihi's Dense: the step's summed mantissas, shifted (flooring for e < 0), into a
                # saturating register; saturation is per step, so the order within a step is free
                drive = step[j] << exponent if exponent >= 0 else step[j] >> -exponent
                potential[j] = min(max(potential[j] + drive, low), high)
                if t_out[b, j] == T and potential[j] > threshold:
                    t_out[b, j] = fire


def spike_times(
    sorted_t: np.ndarray,
    order: np.ndarray,
    weight: np.ndarray,
    threshold: float,
    T: int,
    exponent: int | None = None,
    membrane_bits: int | None = None,
) -> np.ndarray:
    """Spike times (steps, ``T`` = none) of a fire-once IF layer.

    Parameters
    ----------
    sorted_t, order : (batch, K) int64, each sample's input times sorted (stable) and the input index
        of each (:func:`sort_by_time`); entries with time ``>= T`` are silent and must come last
    weight : (n_out, n_in) float weights, or integer mantissas when ``exponent`` is given
    threshold : firing threshold; a neuron fires when its potential is strictly greater
    T : simulation length (steps)
    exponent : ``None`` for float arithmetic (float64 running sum, rounded to the weight dtype);
        else the layer's weight exponent: integer arithmetic, ``V += shift(step sum, exponent)``
    membrane_bits : signed width of the saturating membrane register (integer arithmetic only;
        ``None`` = no saturation)

    Returns
    -------
    (batch, n_out) int64 spike times in ``1..T``.
    """
    sorted_t, order = _checked_slots(sorted_t, order, weight.shape[1])
    n_out = weight.shape[0]
    t_out = np.empty((sorted_t.shape[0], n_out), np.int64)
    if exponent is not None:
        limit = np.int64(1) << 62 if membrane_bits is None else np.int64(1) << (membrane_bits - 1)
        weight_t = np.ascontiguousarray(weight.T, np.int64)

        def run(rows: slice) -> None:  # buffers per thread
            _integer_times(
                sorted_t[rows],
                order[rows],
                weight_t,
                np.float64(threshold),
                np.int64(T),
                np.int64(exponent),
                -limit,
                limit - 1,
                np.zeros(n_out, np.int64),
                np.zeros(n_out, np.int64),
                t_out[rows],
            )
    else:
        floating = np.issubdtype(weight.dtype, np.floating)
        compare = weight.dtype if floating else np.dtype(np.float64)
        weight_t = np.ascontiguousarray(weight.T)

        def run(rows: slice) -> None:
            _float_times(
                sorted_t[rows],
                order[rows],
                weight_t,
                compare.type(threshold),
                np.int64(T),
                np.zeros(n_out, np.float64 if floating else np.int64),
                np.zeros(n_out, compare),
                t_out[rows],
            )

    _in_parallel(run, len(sorted_t), sorted_t.size * n_out)
    return t_out


@njit(cache=True, nogil=True)
def _weight_grad(sorted_t, order, t_out, grad_out, grad_t):  # pragma: no cover - compiled
    n_samples, n_slots = sorted_t.shape
    n_out = grad_t.shape[1]
    zero = grad_t.dtype.type(0)
    for b in range(n_samples):
        for k in range(n_slots):
            t = sorted_t[b, k]
            row = grad_t[order[b, k]]
            for j in range(n_out):
                # dV_j/dw_ji = [t_i < t_j]. Adding +0.0 leaves every value bit for bit (a row starts
                # at +0.0 and a sum never turns into -0.0), and the branch-free form vectorises.
                row[j] += grad_out[b, j] if t < t_out[b, j] else zero


def weight_grad(
    sorted_t: np.ndarray, order: np.ndarray, t_out: np.ndarray, grad_out: np.ndarray, n_in: int
) -> np.ndarray:
    """``G[j, i] = sum_b grad_out[b, j] * [t_in[b, i] < t_out[b, j]]`` for the inputs in ``sorted_t``/``order``.

    ``grad_out`` (batch, n_out) is the (already normalised) error per output spike time; the result has
    its dtype and shape (n_out, n_in). Silent inputs (time ``>= T``) contribute nothing because ``t_out <= T``.
    """
    sorted_t, order = _checked_slots(sorted_t, order, n_in)
    if t_out.shape != grad_out.shape or t_out.shape[0] != sorted_t.shape[0]:
        raise ValueError(
            f"t_out {t_out.shape} and grad_out {grad_out.shape} must be (batch, n_out) for "
            f"a batch of {sorted_t.shape[0]}"
        )
    t_out, grad_out = np.asarray(t_out, np.int64), np.asarray(grad_out)

    def run(neurons: slice) -> np.ndarray:  # each thread owns whole columns, so every sum keeps its order
        grad_t = np.zeros((n_in, neurons.stop - neurons.start), grad_out.dtype)
        _weight_grad(
            sorted_t, order, np.ascontiguousarray(t_out[:, neurons]), np.ascontiguousarray(grad_out[:, neurons]), grad_t
        )
        return grad_t

    parts = _in_parallel(run, grad_out.shape[1], sorted_t.size * grad_out.shape[1])
    return (parts[0] if len(parts) == 1 else np.concatenate(parts, axis=1)).T
