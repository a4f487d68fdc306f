"""What a fire-once TTFS network computes, bit for bit: the spec that golden runs and Lava is held to.

NumPy plus the compiled loops in kernels.py; no torch (the loops are shared with training but import
only NumPy and Numba). The golden backend is this module; quantize calibrates with it.

Neuron (identical to :mod:`ttfs_deploy.train.fire_once`). For each fire-once layer and sample::

    a(s)   = sum of w_ji over the inputs i with t_i == s          (synaptic input of step s)
    V(s)   = V(s-1) + a(s),  V(-1) = 0
    s*     = first step s in 0..T-1 with V(s) > threshold
    t_j    = s* + 1, or T ("no spike") when there is no crossing or s* = T - 1

Inputs with ``t >= T`` never spike. Float networks (``ir.quant is None``) use float64. Quantized
networks use integers throughout:

* ``a(s) = shift(sum of the int mantissas w_ji of the inputs spiking at s, e)`` with ``e`` the layer's
  ``quant.weight_exponents[k]``, ``shift(x, e) = x << e`` for ``e >= 0`` and the flooring
  arithmetic ``x >> -e`` for ``e < 0`` (Lava's bit-accurate Dense does exactly this per step);
* the membrane is a signed ``b = quant.membrane_bits`` register that saturates:
  ``V(s) = clip(V(s-1) + a(s), -2**(b-1), 2**(b-1) - 1)`` after every step's addition. Because the
  whole step's input is summed before it is added, saturation does not depend on the order of
  inputs within a step (it does depend on the order of steps, which is why it is modelled per step).

Time convention (measured on Lava 0.10's CPU simulator, see ``tests/test_lava_sim.py``): the model's
``+1`` per layer *is* Lava's one-step Dense delay, so model times need no per-layer shift. When a
sample's window starts at Lava ``time_step`` ``S`` (the step at which its ``t = 0`` inputs are sent;
the first sample of a run starts at ``S = 1``), a spike of *any* layer with model time ``t`` is sent
at Lava step ``S + t``. With a per-layer delay ``d`` other than one step, layer ``k`` (input = 0)
would move to ``S + t + k * (d - 1)``: see :func:`ttfs_deploy.semantics.timing.hardware_times`. Streamed samples follow each
other at :func:`ttfs_deploy.semantics.timing.sample_starts`: a window lasts ``T`` steps, or ``decision + 1`` steps with early stop.

Early stop (:func:`ttfs_deploy.semantics.readout.early_stop_view`): a sample's decision step is its first output spike time
(``T`` if none). Hardware that stops there never sees later spikes, so the early-stop view reports
every spike after the decision step, in every layer including the input, as ``T``.

Speed: spike times come from the compiled loops in :mod:`ttfs_deploy.semantics.kernels` (the same code that
training uses): per sample, inputs are counting-sorted by time and walked once, one weight row per
input spike; saturation is applied per step as above.
"""

from __future__ import annotations

import numpy as np

from ttfs_deploy.ir import IRError, NetworkIR
from ttfs_deploy.semantics import kernels
from ttfs_deploy.semantics.readout import early_stop_view

__all__ = ["check_times", "layer_times", "simulate", "integrator_membrane"]


def check_times(t_in: np.ndarray, n_in: int, T: int) -> np.ndarray:
    """Validate ``(n, n_in)`` integer input spike times (steps, >= 0) and clip them to ``T`` (= no spike)."""
    t = np.asarray(t_in)
    if t.ndim != 2 or t.shape[1] != n_in:
        raise ValueError(f"t_in must have shape (n_samples, {n_in}), got {t.shape}")
    if t.size and t.dtype.kind not in "iu":
        if not np.array_equal(t, np.round(t)):
            raise ValueError("t_in must hold integer spike times")
    t = t.astype(np.int64)
    if t.size and t.min() < 0:
        raise ValueError(f"t_in must hold spike times >= 0, got {t.min()}")
    return np.minimum(t, T)


def layer_times(
    t_in: np.ndarray,
    weight: np.ndarray,
    threshold: float,
    T: int,
    exponent: int | None = None,
    membrane_bits: int | None = None,
) -> np.ndarray:
    """Spike times of one fire-once layer for a batch of samples.

    Parameters
    ----------
    t_in : np.ndarray
        ``(n, n_in)`` integer input spike times (``>= T`` = no spike).
    weight : np.ndarray
        ``(n_out, n_in)``: float weights, or integer mantissas when ``exponent`` is given.
    threshold : float or int
        A neuron fires when its potential is strictly greater.
    T : int
        Steps per sample.
    exponent : int or None
        ``None`` for float arithmetic; else the layer's weight exponent (integer arithmetic).
    membrane_bits : int or None
        Saturating membrane width (integer arithmetic only; ``None`` = no saturation).

    Returns
    -------
    np.ndarray
        ``(n, n_out)`` int64 spike times in ``1..T`` (``T`` = no spike).
    """
    t_in = np.minimum(np.asarray(t_in, dtype=np.int64), T)
    # float networks compute in float64 whatever the stored dtype (the float model's figures are float64's)
    weight = np.asarray(weight, np.float64) if exponent is None else np.asarray(weight)

    sorted_t, order = kernels.sort_by_time(t_in, T)
    return kernels.spike_times(sorted_t, order, weight, threshold, T, exponent, membrane_bits)  # threaded inside


def simulate(ir: NetworkIR, t_in: np.ndarray, early_stop: bool = False) -> list[np.ndarray]:
    """Spike times of every layer for a batch of input spike-time vectors.

    Parameters
    ----------
    ir : NetworkIR
        Float or quantized network (validated here).
    t_in : np.ndarray
        ``(n, n_in)`` integer input spike times, e.g. from :func:`ttfs_deploy.coding.encode_ttfs`.
    early_stop : bool, optional
        Report spikes after each sample's decision step as ``T`` (see :func:`early_stop_view`),
        the view a backend that stops at the first output spike gives.

    Returns
    -------
    list of np.ndarray
        ``(n, size)`` int64 spike times per layer, input first (inputs ``>= T`` reported as ``T``),
        in the model's time convention; feed it to :func:`ttfs_deploy.semantics.readout.classify`.
    """
    layers = ir.chain()
    if ir.delay != 1:
        raise IRError(f"the golden simulator models a one-step delay per layer, got delay={ir.delay}")
    T = ir.T
    times = [check_times(t_in, layers[0].size, T)]
    for k, layer in enumerate(layers[1:]):
        if layer.integrator:  # never fires: read out by integrator_membrane
            times.append(np.full((len(times[0]), layer.size), T, dtype=np.int64))
            continue
        if ir.is_quantized:
            t = layer_times(
                times[-1], layer.weight, layer.threshold, T, ir.quant.weight_exponents[k], ir.quant.membrane_bits
            )
        else:
            t = layer_times(times[-1], layer.weight, layer.threshold, T)
        times.append(t)
    if early_stop and ir.readout == "membrane":
        raise IRError(
            "early stop needs a first-spike read-out; this network's class is read from a membrane at the window's end"
        )
    return early_stop_view(times, T) if early_stop else times


def integrator_membrane(ir: NetworkIR, times: list[np.ndarray]) -> np.ndarray | None:
    """The integrator read-out's potential ``V(s)`` after each step ``s = 0..T-2``, ``(n, T - 1, n_out)``
    (int64 when quantized, float64 otherwise); None when the network has no integrator read-out.

    The integrator is a fire-once neuron that never fires: ``V(s) = V(s-1) + a(s)`` with ``a(s)`` the
    summed weights of the previous layer's spikes of time ``s`` (quantized: the sum shifted by the
    layer's exponent, then the register saturates at ``membrane_bits``, as in :func:`layer_times`).
    ``V(T-1)`` is not part of the read-out: on Lava it would fall on the next sample's reset step, as a
    fire-once crossing at ``T - 1`` counts as no spike. The class is the arg-max of ``V(T-2)``
    (:func:`ttfs_deploy.semantics.readout.classify`).
    """
    layers = ir.chain()
    if not layers[-1].integrator:
        return None
    T, previous, weight = ir.T, np.asarray(times[-2], dtype=np.int64), layers[-1].weight
    n = len(previous)
    quantized = ir.is_quantized
    steps = np.zeros((n, T - 1, weight.shape[0]), dtype=np.int64 if quantized else np.float64)
    sample, neuron = np.nonzero(previous < T - 1)
    np.add.at(steps, (sample, previous[sample, neuron]), np.asarray(weight, steps.dtype).T[neuron])
    if not quantized:
        return np.cumsum(steps, axis=1)
    e = ir.quant.weight_exponents[-1]
    steps = steps << e if e >= 0 else steps >> -e  # numpy's >> on int64 floors, as Lava's Dense does
    low, high = -(1 << (ir.quant.membrane_bits - 1)), (1 << (ir.quant.membrane_bits - 1)) - 1
    v = np.zeros((n, weight.shape[0]), np.int64)
    for s in range(T - 1):  # saturation depends on the order of steps, so it is applied per step
        v = np.clip(v + steps[:, s], low, high)
        steps[:, s] = v
    return steps
