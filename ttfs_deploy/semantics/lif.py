"""What a rate-coded network of Loihi CUBA LIF neurons computes, bit for bit: the spec golden runs.

NumPy + Numba, no torch, no Lava. The quantised arithmetic is Lava 0.10's ``PyLifModelBitAcc``
(``lava/proc/lif/models.py``, ``AbstractPyLifModelFixed``) fed by Lava's bit-accurate ``Dense``;
``tests/test_lif_lava.py`` holds Lava to it spike for spike. Per layer, neuron and step ``t`` of a
sample (``u = v = 0`` before step 0, every ``>>`` arithmetic)::

    a    = shift(sum of the int mantissas q_ji of the inputs spiking at t, e)    # Dense, exponent e
    d    = u * (4096 - (du + 1));  d = sign(d) * (|d| >> 12)                      # current decay, rounds to 0
    d    = d + (a << 6)                                                           # act_shift = 6
    u    = d - 2^24 if d > 2^23 else d;  u = d + 2^24 if u <= -2^23               # Lava's 24-bit wrap, as written
    if t > refractory_end:                                                        # (refractory 0: always)
        w = v * (4096 - dv);  w = sign(w) * (|w| >> 12)                          # voltage decay
        v = clip(w + u + (bias_mant << bias_exp), -(2^23 - 1), 2^23 - 1)
    spike = v > (vth << 6);  v = 0 where spike;  refractory_end = t + refractory where spike

Float networks use Lava's ``PyLifModelFloat`` in float64: ``u = u (1 - du) + a``, ``v = v (1 - dv) + u
+ bias``, spike ``v > vth``, ``v = 0``.

Time: every layer runs the sample's ``T`` steps in its own *local* time ``0..T-1``, and layer ``k``'s
local step ``t`` takes layer ``k - 1``'s spikes of *its* local step ``t`` (no delay inside the model).
On Lava each Dense adds a step, so layer ``k``'s local step ``t`` is hardware step ``t + k`` from the
sample's start (:func:`hardware_step`); a sample's output is complete ``T + L - 1`` steps after its
start (``L`` LIF layers) while samples follow each other every ``T`` steps.
"""

from __future__ import annotations

import weakref

import numpy as np
from numba import njit

from ttfs_deploy.ir import IRError, NetworkIR
from ttfs_deploy.ir.lif import INTEGRATOR_FIELDS, LIF_FIELD_LIMITS, RateCoding
from ttfs_deploy.semantics.kernels import _in_parallel

__all__ = ["check_raster", "simulate_rate", "simulate_lif", "bias_input_raster", "hardware_step"]

_M = 1 << 23  # 2^(24 - 1): Lava's 24-bit u and v


_DENSE_MAX_OUT = 32  # layers this narrow sum their input as dot products (_dense_input)
_BYTES = np.uint64(0x0101010101010101)  # times a word of 0/1 bytes: their count in the top byte
_TOP = np.uint64(56)


@njit(cache=True, nogil=True)
def _add_rows(a, qT, rows, m, sign):  # pragma: no cover - compiled
    """``a += sign * sum of rows qT[rows[:m]]``, four rows per pass over ``a`` (one load and store of
    ``a`` per four rows: the loop is bound by them)."""
    n = a.shape[0]
    r = 0
    while r + 4 <= m:
        i0, i1, i2, i3 = rows[r], rows[r + 1], rows[r + 2], rows[r + 3]
        for j in range(n):
            four = (np.int32(qT[i0, j]) + np.int32(qT[i1, j])) + (np.int32(qT[i2, j]) + np.int32(qT[i3, j]))
            a[j] += four if sign > 0 else -four
        r += 4
    for i in rows[r:m]:
        for j in range(n):
            one = np.int32(qT[i, j])  # widened first: negating an int8 -128 would wrap to -128
            a[j] += one if sign > 0 else -one


@njit(cache=True, nogil=True)
def _list_set_bytes(word, base, rows, m):  # pragma: no cover - compiled
    """Append ``base + b`` to ``rows`` for each byte ``b`` of ``word`` that is 1; returns the new length."""
    for b in range(8):
        rows[m] = base + b
        m += np.int64((word >> np.uint64(8 * b)) & np.uint64(1))
    return m


@njit(cache=True, nogil=True)
def _synaptic_input(words, k, t, qT, a, on, up, down):  # pragma: no cover - compiled
    """Dense's integer sum for step ``t`` of sample ``k`` into ``a``, updated from step ``t - 1``'s sum.

    Integer sums are exact in any order, so where fewer inputs changed between the two steps than spike
    now, ``a`` is corrected by the changed rows only (a pixel of a near-binary digit spikes at nearly
    every step: ~3x fewer row additions at T = 15); otherwise it is summed afresh. ``words`` is the 0/1
    raster seen as 8 inputs per uint64 word, so counting takes one multiply per 8 inputs and listing
    skips words with nothing in them; ``on``/``up``/``down`` are scratch index lists.
    """
    now = words[k, t]
    if t > 0:
        before = words[k, t - 1]
        n_on, n_changed = np.uint64(0), np.uint64(0)
        for w in range(now.shape[0]):
            n_on += (now[w] * _BYTES) >> _TOP
            n_changed += ((now[w] ^ before[w]) * _BYTES) >> _TOP
        if n_changed < n_on:
            m_up, m_down = 0, 0
            for w in range(now.shape[0]):
                changed = now[w] ^ before[w]
                if changed:
                    m_up = _list_set_bytes(changed & now[w], 8 * w, up, m_up)
                    m_down = _list_set_bytes(changed & before[w], 8 * w, down, m_down)
            _add_rows(a, qT, up, m_up, 1)
            _add_rows(a, qT, down, m_down, -1)
            return
    m_on = 0
    for w in range(now.shape[0]):
        if now[w]:
            m_on = _list_set_bytes(now[w], 8 * w, on, m_on)
    a[:] = 0
    _add_rows(a, qT, on, m_on, 1)


@njit(cache=True, nogil=True)
def _dense_input(spikes, k, t, q, a):  # pragma: no cover - compiled
    """Dense's integer sum as a dot product per output (``q`` is ``(n_out, n_in)``): for a narrow layer
    (a 10-neuron read-out) this beats listing the spiking inputs, whose per-row overhead dominates. The
    sum is accumulated wide and stored into ``a``'s type; stores of int16 let the additions run 16 bits
    wide (exact when the result fits: :func:`_prepared`), ~1.6x faster than 32."""
    now = spikes[k, t]
    for j in range(q.shape[0]):
        acc = 0
        for i in range(q.shape[1]):
            acc += q[j, i] if now[i] else 0
        a[j] = acc


@njit(cache=True, nogil=True)
def _update(a, t, e, du, dv, vth_eff, bias, refractory, u, v, ref_end, out, vout):  # pragma: no cover
    """Step ``t`` of every neuron: the module docstring's arithmetic in int64.

    Branch-free on purpose (selects, truncating shifts as ``(d + 4095 if d < 0) >> 12``) so the loop
    vectorises; :func:`_update_float` is the faster form of the common case.
    """
    keep = vout.shape[0] > 0
    for j in range(a.shape[0]):
        x = np.int64(a[j])
        x = (x << e) if e >= 0 else (x >> -e)
        d = u[j] * (4096 - (du + 1))
        d = ((d + ((d >> 63) & 4095)) >> 12) + (x << 6)
        w = d - 2 * _M if d > _M else d
        w = d + 2 * _M if w <= -_M else w
        u[j] = w
        y = v[j] * (4096 - dv)
        y = ((y + ((y >> 63) & 4095)) >> 12) + w + bias
        y = min(max(y, -(_M - 1)), _M - 1)
        y = y if t > ref_end[j] else v[j]
        if keep:
            vout[j] = y
        s = y > vth_eff
        out[j] = s
        v[j] = 0 if s else y
        ref_end[j] = t + refractory if s else ref_end[j]


@njit(cache=True, nogil=True)
def _update_float(a, scale, decay_v, vth_eff, bias, v, out):  # pragma: no cover - compiled
    """Step of every neuron when ``du = 4095``, no refractory period and no wrap can occur (:func:`_layer_runner`).

    Then ``u = (a << e) << 6`` holds no state and the arithmetic is exact in float64, which vectorises
    (4 lanes) where int64 multiplies do not (no AVX-512 here): ``|v| < 2^23`` and ``4096 - dv < 2^13``,
    so ``v * (4096 - dv) / 4096`` is an exact float and ``trunc`` rounds it towards zero as ``>> 12`` of
    its magnitude does; ``floor(a * 2^e)`` is ``a >> -e``. ~2x faster than :func:`_update` on the
    784-400 layer.
    """
    for j in range(a.shape[0]):
        y = np.trunc(v[j] * decay_v) + np.floor(a[j] * scale) * 64.0 + bias
        y = min(max(y, -(_M - 1.0)), _M - 1.0)
        s = y > vth_eff
        out[j] = s
        v[j] = 0.0 if s else y


@njit(cache=True, nogil=True)
def _lif_fixed(
    spikes, words, q, qT, a, e, du, dv, vth, bias, refractory, simple, out, vout, lo, hi
):  # pragma: no cover
    n_out = qT.shape[1]
    T = words.shape[1]
    u = np.empty(n_out, np.int64)
    v = np.empty(n_out, np.int64)
    vf = np.empty(n_out, np.float64)
    ref_end = np.empty(n_out, np.int64)
    vth_eff = vth << 6
    n_words = words.shape[2]
    on, up, down = np.empty(8 * n_words, np.int64), np.empty(8 * n_words, np.int64), np.empty(8 * n_words, np.int64)
    keep = vout.shape[0] > 0
    no_membrane = np.empty(0, np.int64)
    for k in range(lo, hi):
        u[:] = 0
        v[:] = 0
        vf[:] = 0.0
        ref_end[:] = -1
        for t in range(T):
            if q.shape[0]:
                _dense_input(spikes, k, t, q, a)
            else:
                _synaptic_input(words, k, t, qT, a, on, up, down)
            if simple:
                _update_float(a, 2.0**e, (4096 - dv) / 4096.0, float(vth_eff), float(bias), vf, out[k, t])
            else:
                _update(
                    a,
                    t,
                    e,
                    du,
                    dv,
                    vth_eff,
                    bias,
                    refractory,
                    u,
                    v,
                    ref_end,
                    out[k, t],
                    vout[k, t] if keep else no_membrane,
                )


@njit(cache=True, nogil=True)
def _lif_float(spikes, wT, du, dv, vth, bias, refractory, out, lo, hi):  # pragma: no cover - compiled
    n_in, n_out = wT.shape
    T = spikes.shape[1]
    a = np.empty(n_out, np.float64)
    u = np.empty(n_out, np.float64)
    v = np.empty(n_out, np.float64)
    ref_end = np.empty(n_out, np.int64)
    for k in range(lo, hi):
        u[:] = 0.0
        v[:] = 0.0
        ref_end[:] = -1
        for t in range(T):
            a[:] = 0.0
            for i in range(n_in):
                if spikes[k, t, i]:
                    for j in range(n_out):
                        a[j] += wT[i, j]
            for j in range(n_out):
                u[j] = u[j] * (1.0 - du) + a[j]
                if t > ref_end[j]:
                    v[j] = v[j] * (1.0 - dv) + u[j] + bias
                if v[j] > vth:
                    out[k, t, j] = 1
                    v[j] = 0.0
                    ref_end[j] = t + refractory


def _narrowest(q: np.ndarray) -> np.ndarray:
    """Integer weights in the narrowest of int8/int16/int32 that holds them (row additions are
    memory-bound: int8 rows run ~1.5x faster than int32 on the 784-400 layer)."""
    for dtype in (np.int8, np.int16):
        info = np.iinfo(dtype)
        if q.size == 0 or (q.min() >= info.min and q.max() <= info.max):
            return np.ascontiguousarray(q, dtype=dtype)
    return np.ascontiguousarray(q, dtype=np.int32)


def check_raster(spikes: np.ndarray, n_in: int, T: int) -> np.ndarray:
    """Validate a ``(n, T, n_in)`` spike raster (0/1) and return it as contiguous uint8 (a read-only view
    of a contiguous bool raster, else a copy)."""
    s = np.asarray(spikes)
    if s.ndim != 3 or s.shape[1:] != (T, n_in):
        raise ValueError(f"input spikes must have shape (n_samples, {T}, {n_in}), got {s.shape}")
    if s.dtype == bool:  # the encoders' type: read in place (a copy costs ~40 us per 100 digits)
        view = np.ascontiguousarray(s).view(np.uint8)
        view.flags.writeable = False  # a view of the caller's array: never written through
        return view
    if s.size and not np.isin(s, (0, 1)).all():
        raise ValueError("input spikes must be 0 or 1")
    return np.ascontiguousarray(s, dtype=np.uint8)


_PREPARED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # layer -> its weights as the kernels read them


def _prepared(layer) -> tuple:
    """``(qT, q, acc, reach)`` of an integer layer, computed once per layer object (layers are immutable):
    the transposed weights in their narrowest type, the ``(n_out, n_in)`` copy for narrow layers (else
    empty: spikes are listed), the step-sum type and the largest step sum's magnitude (before the
    exponent). Building them costs ~1 ms for a 784-400 layer,
    as much as running 70 digits, so repeated runs of one network must not pay it again."""
    if layer not in _PREPARED:
        qT = _narrowest(np.asarray(layer.weight).T)
        q = np.ascontiguousarray(qT.T) if layer.size <= _DENSE_MAX_OUT else qT[:0]
        # a step's sum lies between minus a neuron's negative and its positive weights: when that fits 16
        # bits, 16-bit sums are exact (wrapping additions give the right result whatever the order) and
        # the row additions run ~1.4x faster than in 32 bits
        wide = qT.astype(np.int64)
        reach = max(int(np.clip(wide, 0, None).sum(axis=0).max()), int(np.clip(-wide, 0, None).sum(axis=0).max()))
        _PREPARED[layer] = (qT, q, np.int16 if reach <= np.iinfo(np.int16).max else np.int32, reach)
    return _PREPARED[layer]


def _float_update_is_exact(fields: dict, refractory: int, reach: int, exponent: int) -> bool:
    """Whether :func:`_update_float` computes a layer exactly: ``u`` holds no state (``du = 4095``), no
    neuron is held refractory, and no step's ``u = (a << e) << 6`` (``|a| <= reach``) can reach Lava's
    24-bit wrap, so that ``|u| < 2^23`` and every value stays an exact float64."""
    return fields["du"] == 4095 and refractory == 0 and (reach << max(exponent, 0) << 6) < _M


def _layer_runner(layer, exponent: int | None):
    """``run(spikes, words, out, vout, lo, hi)``: one LIF layer's kernel over samples ``lo..hi`` (module
    doc); ``words`` is ``spikes`` (padded to whole words) seen as uint64, as the integer kernel reads it."""
    if exponent is None:
        wT = np.ascontiguousarray(np.asarray(layer.weight, np.float64).T)
        args = (wT, float(layer.du), float(layer.dv), float(layer.vth), float(layer.bias_mant), int(layer.refractory))
        return lambda spikes, words, out, vout, lo, hi: _lif_float(spikes, *args, out, lo, hi)
    qT, q, acc, reach = _prepared(layer)
    bias = int(layer.bias_mant) << int(layer.bias_exp)
    fields = INTEGRATOR_FIELDS if layer.integrator else {k: int(getattr(layer, k)) for k in ("du", "dv", "vth")}
    # an integrator's membrane is recorded as int64 (vout): it keeps the int64 update
    simple = _float_update_is_exact(fields, int(layer.refractory), reach, int(exponent)) and not layer.integrator
    args = (int(exponent), fields["du"], fields["dv"], fields["vth"], bias, int(layer.refractory), simple)
    return lambda spikes, words, out, vout, lo, hi: _lif_fixed(
        spikes, words, q, qT, np.empty(qT.shape[1], acc), *args, out, vout, lo, hi
    )


_NO_MEMBRANE = np.zeros((0, 0, 0), np.int64)


def _work(spikes: np.ndarray, n_out: int) -> int:
    """Row additions plus neuron updates: what decides whether splitting over threads pays. The input
    spikes are counted in at most 8 evenly spaced samples (counting all 100 digits' costs ~35 us)."""
    n, T, _ = spikes.shape
    some = spikes[:: max(1, n // 8)]
    return int(np.count_nonzero(some)) * n // max(1, len(some)) * n_out + n * T * n_out


def simulate_lif(ir: NetworkIR, spikes: np.ndarray) -> tuple[list[np.ndarray], np.ndarray | None]:
    """Spike rasters of every layer, input first (``(n, T, size)`` uint8 each, local time), and the
    integrator read-out's membrane ``v`` per local step (int64 ``(n, T, n_out)``; None without one).

    ``spikes`` is the input raster (:func:`ttfs_deploy.coding.encode_rate` or :func:`bias_input_raster`).
    An integrator read-out never spikes: its raster is all zeros. Samples are independent, so each
    thread runs a contiguous part of them through every layer (one split for the whole network).
    """
    layers = ir.chain()
    if ir.neuron != "lif":
        raise IRError("this is a fire-once (TTFS) network; the rate simulator runs LIF networks")
    if ir.delay != 1:
        raise IRError(f"the golden simulator models a one-step delay per layer, got delay={ir.delay}")
    sizes = [layer.size for layer in layers]
    first = check_raster(spikes, sizes[0], ir.T)
    n = len(first)
    # every raster is kept padded to whole 8-byte words (zeros: never spikes) so kernels read it as uint64
    padded = [np.zeros((n, ir.T, -(-size // 8) * 8), np.uint8) for size in sizes]
    if sizes[0] % 8:
        padded[0][:, :, : sizes[0]] = first
    else:
        padded[0] = first
    runs, membranes = [], []
    for k, layer in enumerate(layers[1:]):
        runs.append(_layer_runner(layer, ir.quant.weight_exponents[k] if ir.is_quantized else None))
        membranes.append(np.zeros((n, ir.T, layer.size), np.int64) if layer.integrator else _NO_MEMBRANE)
    words = [raster.view(np.uint64) for raster in padded]

    def task(part: slice) -> None:
        for k, run in enumerate(runs):
            run(padded[k], words[k], padded[k + 1], membranes[k], part.start, part.stop)

    _in_parallel(task, n, _work(first, sum(sizes[1:])))
    rasters = [first] + [np.ascontiguousarray(raster[:, :, :size]) for raster, size in zip(padded[1:], sizes[1:])]
    return rasters, (membranes[-1] if layers[-1].integrator else None)


def simulate_rate(ir: NetworkIR, spikes: np.ndarray) -> list[np.ndarray]:
    """Spike rasters of every layer, input first: ``(n, T, size)`` uint8 each, in local time (:func:`simulate_lif`)."""
    return simulate_lif(ir, spikes)[0]


def bias_input_raster(coding: RateCoding, images: np.ndarray, T: int) -> np.ndarray:
    """lava-dl's dense input (docs/lif.md): the input LIF neurons' ``(n, T, pixels)`` raster, bit-exact.

    Pixel ``p`` (0..255) sets its neuron's ``bias_mant = trunc(((p / 255 - mean) / std) * weight +
    bias)`` (netx casts biases with ``astype(int32)``), ``bias_exp = 6``; ``u`` stays 0 (nothing reaches
    the input neurons' synapses), so each step ``v = clip(decay(v) + (bias_mant << 6))``, a spike when
    ``v > vth << 6``, then ``v = 0``, as in :func:`_lif_fixed`.
    """
    cfg = coding.bias_input
    pixels = np.asarray(images, dtype=np.float64).reshape(len(images), -1)
    mant = np.trunc(((pixels / 255.0 - cfg.mean) / cfg.std) * cfg.weight + cfg.bias)
    low, high = LIF_FIELD_LIMITS["bias_mant"]
    if mant.size and (mant.min() < low or mant.max() > high):
        raise IRError(
            f"input biases {mant.min():g}..{mant.max():g} leave Lava's 13-bit bias_mant ({low}..{high}): check --input-norm"
        )
    bias = mant.astype(np.int64) << 6
    v = np.zeros_like(bias)
    out = np.zeros((len(bias), T, bias.shape[1]), dtype=np.uint8)
    for t in range(T):
        y = v * (4096 - cfg.dv)
        y = np.where(y < 0, -((-y) >> 12), y >> 12)
        v = np.clip(y + bias, -(_M - 1), _M - 1)
        spike = v > (cfg.vth << 6)
        out[:, t] = spike
        v[spike] = 0
    return out


def hardware_step(layer_index: int, local_step: np.ndarray | int, delay: int = 1):
    """Hardware step (from the sample's start) of layer ``layer_index``'s (input = 0) local step."""
    return local_step + layer_index * delay
