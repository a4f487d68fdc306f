"""The second neuron kind: Loihi's current-based LIF (Lava's ``lava.proc.lif`` ``LIF``), and rate coding.

A :class:`LifLayer` is a fully connected layer of CUBA LIF neurons that may spike any number of
times. Its numbers mean what Lava's LIF models make of them (docs/lif.md writes the arithmetic out):

* float form (``NetworkIR.quant is None``): Lava's ``PyLifModelFloat``: ``u <- u (1 - du) + a``,
  ``v <- v (1 - dv) + u + bias``, spike when ``v > vth``, then ``v <- 0``; ``du``, ``dv`` in 0..1,
  ``bias`` is ``bias_mant`` (``bias_exp`` must be 0).
* quantised form: Lava's ``PyLifModelBitAcc``: ``du``, ``dv`` are 12-bit unsigned integers,
  ``vth`` a 17-bit unsigned integer (compared with ``v`` after ``<< 6``), ``bias_mant`` 13-bit signed
  and ``bias_exp`` 3-bit unsigned (bias ``bias_mant << bias_exp``), weights as in every quantised
  layer (``QuantSpec``: mantissas and a per-layer exponent). :data:`LIF_FIELD_LIMITS` holds the widths.

``refractory`` (steps a neuron's voltage stays at 0 after a spike, as Lava's ``LIFRefractory``) is 0
for Lava's bit-accurate LIF, which has none; golden runs it, loihi-sim refuses it.

``integrator=True`` (quantised networks, last layer only) is lava-dl's non-spiking read-out: what netx
builds for a layer without a ``neuron`` group, Lava's LIF with :data:`INTEGRATOR_FIELDS` (``u``
accumulates without decay, ``v = u + bias``, the threshold is out of ``v``'s reach). Its ``du``,
``dv``, ``vth`` are stored as 0 and mean nothing; its membrane ``v`` is the network's output.

:class:`RateCoding` says how images become input spikes (see :func:`ttfs_deploy.coding.encode_rate`):
``scheme`` (``"poisson"`` or ``"regular"``) and ``max_rate``; the window length is ``NetworkIR.T``
and the input seed is chosen per run (it is not part of the network). Scheme ``"bias"`` (with a
:class:`BiasInput`) is lava-dl's dense input: each pixel drives an input LIF neuron through its bias
(:func:`ttfs_deploy.semantics.lif.bias_input_raster`, docs/lif.md), and those neurons' spikes are the input.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from numbers import Integral, Real
from typing import Any

import numpy as np

from ttfs_deploy.errors import short
from ttfs_deploy.ir.layers import IRError, _frozen_array

__all__ = [
    "LifLayer",
    "RateCoding",
    "BiasInput",
    "INTEGRATOR_FIELDS",
    "LIF_FIELD_LIMITS",
    "LIF_INPUT_LIMITS",
    "RATE_SCHEMES",
    "check_lif_quantized",
    "TASKS",
]

RATE_SCHEMES = ("poisson", "regular")  # same as ttfs_deploy.coding (kept here so the IR stays dependency-free)
INPUT_SCHEMES = RATE_SCHEMES + ("bias",)  # "bias": lava-dl's dense input through the input neurons' bias
TASKS = ("classify", "autoencode")  # what a rate network's output means

# (low, high) of each quantised field: Lava 0.10 PyLifModelBitAcc's declared precisions
LIF_FIELD_LIMITS = {
    "du": (0, 4095),  # unsigned 12-bit current decay
    "dv": (0, 4095),  # unsigned 12-bit voltage decay
    "vth": (0, 2**17 - 1),  # unsigned 17-bit threshold mantissa (shifted left by 6)
    "bias_mant": (-4096, 4095),  # signed 13-bit
    "bias_exp": (0, 7),  # unsigned 3-bit
}
# netx's neuron for a layer without one (hdf5.Network.create_dense: iDecay 0, vDecay 4096, vThMant 1 << 18 - 1)
INTEGRATOR_FIELDS = {"du": -1, "dv": 4096, "vth": 1 << 17}
# a step's synaptic input a (Dense a_out / LIF a_in, declared precision=16 in Lava 0.10): signed 16-bit
LIF_INPUT_LIMITS = (-(2**15), 2**15 - 1)


def _number(value: Any, layer: str, key: str) -> float | int:
    if isinstance(value, bool) or not isinstance(value, Real):
        raise IRError(f"layer {layer!r}: {key} must be a number, got {short(value)}")
    value = int(value) if isinstance(value, Integral) else float(value)
    if not math.isfinite(value):
        raise IRError(f"layer {layer!r}: {key} must be finite, got {value!r}")
    return value


@dataclass(frozen=True, eq=False)
class LifLayer:
    """A fully connected layer of Loihi CUBA LIF neurons (any number of spikes per neuron).

    Parameters
    ----------
    name : str
        Unique layer name.
    weight : np.ndarray
        ``(n_out, n_in)``: float64, or int32 mantissas when the network is quantised.
    vth : float or int
        Threshold (a neuron spikes when ``v > vth``; quantised: compared after ``<< 6``).
    du, dv : float or int
        Current and voltage decay: fractions in 0..1 (float) or 12-bit integers (quantised).
    bias_mant, bias_exp : float or int
        Bias (float: ``bias_mant``; quantised: ``bias_mant << bias_exp``, in ``v`` units).
    refractory : int
        Steps ``v`` is held at 0 after a spike (0 = none, Lava's bit-accurate LIF).
    integrator : bool
        lava-dl's non-spiking read-out (module doc): ``du``, ``dv``, ``vth``, ``refractory`` are 0.
    """

    name: str
    weight: np.ndarray
    vth: float | int
    du: float | int
    dv: float | int
    bias_mant: float | int = 0
    bias_exp: int = 0
    refractory: int = 0
    integrator: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise IRError(f"layer name must be a non-empty string, got {self.name!r}")
        weight = _frozen_array(self.weight, self.name)
        if weight.ndim != 2 or 0 in weight.shape:
            raise IRError(
                f"layer {self.name!r}: weight must be a non-empty 2-D (n_out, n_in) array, got {weight.shape}"
            )
        if weight.dtype.kind == "f" and not np.isfinite(weight).all():
            raise IRError(f"layer {self.name!r}: weights must be finite")
        object.__setattr__(self, "weight", weight)
        for key in ("vth", "du", "dv", "bias_mant", "bias_exp", "refractory"):
            object.__setattr__(self, key, _number(getattr(self, key), self.name, key))
        if self.vth < 0:
            raise IRError(f"layer {self.name!r}: vth must be >= 0, got {self.vth!r}")
        if not isinstance(self.refractory, int) or not 0 <= self.refractory <= 2**16:
            raise IRError(f"layer {self.name!r}: refractory must be an integer in 0..65536, got {self.refractory!r}")
        if not isinstance(self.bias_exp, int):
            raise IRError(f"layer {self.name!r}: bias_exp must be an integer, got {self.bias_exp!r}")
        if not isinstance(self.integrator, bool):
            raise IRError(f"layer {self.name!r}: integrator must be true or false, got {short(self.integrator)}")
        if self.integrator and any((self.du, self.dv, self.vth, self.refractory)):
            raise IRError(f"layer {self.name!r}: an integrator read-out has du, dv, vth and refractory 0")

    @property
    def size(self) -> int:
        """Number of neurons (``n_out``)."""
        return int(self.weight.shape[0])

    @property
    def n_in(self) -> int:
        """Number of inputs (``weight.shape[1]``)."""
        return int(self.weight.shape[1])

    @property
    def threshold(self) -> float | int:
        """``vth`` under the name the fire-once layer uses (summaries list both kinds the same way)."""
        return self.vth

    def params(self) -> dict:
        """The neuron parameters (everything but name and weight), as the file format stores them."""
        params = {k: getattr(self, k) for k in ("vth", "du", "dv", "bias_mant", "bias_exp", "refractory")}
        return params | ({"integrator": True} if self.integrator else {})  # earlier files stay byte-identical


def check_lif_float(layer: LifLayer) -> None:
    """A float LIF layer's decays are fractions in 0..1 and its bias has no exponent."""
    if layer.integrator:
        raise IRError(f"layer {layer.name!r}: integrator read-outs are fixed point (netx) only")
    for key in ("du", "dv"):
        value = getattr(layer, key)
        if not 0.0 <= value <= 1.0:
            raise IRError(f"layer {layer.name!r}: float {key} must be in 0..1, got {value!r}")
    if layer.bias_exp != 0:
        raise IRError(f"layer {layer.name!r}: a float LIF layer has bias_exp 0, got {layer.bias_exp}")


def check_lif_quantized(layer: LifLayer) -> None:
    """Every quantised field is an integer within Lava's bit-accurate widths (:data:`LIF_FIELD_LIMITS`)."""
    for key, (low, high) in LIF_FIELD_LIMITS.items():
        value = getattr(layer, key)
        if not isinstance(value, int) or not low <= value <= high:
            raise IRError(
                f"layer {layer.name!r}: quantised LIF field {key} must be an integer in {low}..{high}, got {value!r}"
            )


def _real(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
        raise IRError(f"{where} must be a finite number, got {short(value)}")
    return float(value)


@dataclass(frozen=True)
class BiasInput:
    """lava-dl's dense input (docs/lif.md): pixel ``p`` gives the input neuron ``bias_mant =
    trunc(((p / 255 - mean) / std) * weight + bias)`` every step (torchvision ``Normalize`` on pixels in
    0..1, then netx's input transform: ``weight`` 64 = 1.0), with ``bias_exp`` 6; the neuron is Lava's
    LIF with ``dv`` and ``vth`` (its ``u`` stays 0: nothing reaches its synapses)."""

    mean: float
    std: float
    vth: int
    dv: int
    weight: float = 64.0
    bias: float = 0.0

    def __post_init__(self) -> None:
        for key in ("mean", "std", "weight", "bias"):
            object.__setattr__(self, key, _real(getattr(self, key), f"bias input {key}"))
        if self.std <= 0:
            raise IRError(f"bias input std must be > 0, got {self.std!r}")
        for key in ("vth", "dv"):
            low, high = LIF_FIELD_LIMITS[key]
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, Integral) or not low <= value <= high:
                raise IRError(f"bias input {key} must be an integer in {low}..{high}, got {short(value)}")
            object.__setattr__(self, key, int(value))


@dataclass(frozen=True)
class RateCoding:
    """How a rate network's inputs are made and its outputs read (window length: ``NetworkIR.T``).

    ``scheme``: ``"poisson"`` (Bernoulli per step, seeded per run), ``"regular"`` (evenly spaced) or
    ``"bias"`` (lava-dl's dense input, ``bias_input`` says how); ``max_rate``: spike probability per
    step of a white pixel (unused by ``"bias"``); ``task``: ``"classify"`` (output spike counts, or the
    integrator read-out's membrane, arg-max) or ``"autoencode"`` (output spike counts are the reconstruction).
    """

    scheme: str = "poisson"
    max_rate: float = 1.0
    task: str = "classify"
    bias_input: BiasInput | None = None

    def __post_init__(self) -> None:
        if self.scheme not in INPUT_SCHEMES:
            raise IRError(f"rate scheme must be one of {INPUT_SCHEMES}, got {short(self.scheme)}")
        if isinstance(self.max_rate, bool) or not isinstance(self.max_rate, Real) or not 0 < self.max_rate <= 1:
            raise IRError(f"rate max_rate must be a number in (0, 1], got {short(self.max_rate)}")
        if self.task not in TASKS:
            raise IRError(f"rate task must be one of {TASKS}, got {short(self.task)}")
        object.__setattr__(self, "max_rate", float(self.max_rate))
        if isinstance(self.bias_input, dict):
            unknown = sorted(set(map(str, self.bias_input)) - {"mean", "std", "vth", "dv", "weight", "bias"})
            if unknown:
                raise IRError(f"rate bias_input: unknown {short(unknown)}")
            try:
                object.__setattr__(self, "bias_input", BiasInput(**self.bias_input))
            except TypeError:
                raise IRError("rate bias_input needs mean, std, vth and dv") from None
        if (self.scheme == "bias") != isinstance(self.bias_input, BiasInput):
            raise IRError("rate scheme 'bias' goes with a bias_input (mean, std, vth, dv), and only it")

    @classmethod
    def from_dict(cls, data: Any) -> RateCoding:
        """Build from the dict a file stores; unknown keys raise :class:`IRError`."""
        if not isinstance(data, dict):
            raise IRError(f"rate must be an object, got {type(data).__name__}")
        unknown = sorted(set(map(str, data)) - {"scheme", "max_rate", "task", "bias_input"})
        if unknown:
            raise IRError(f"rate: unknown {short(unknown)}")
        return cls(**data)

    def to_dict(self) -> dict:
        """Plain JSON-serialisable form (the file format's ``rate`` object; no ``bias_input`` key when None)."""
        data = asdict(self)
        return data if self.bias_input is not None else {k: v for k, v in data.items() if k != "bias_input"}
