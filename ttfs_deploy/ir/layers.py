"""The IR's building blocks: the input layer, the fire-once layer and the quantisation spec (frozen data)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from numbers import Integral, Real
from typing import Any

import numpy as np

from ttfs_deploy.errors import TtfsError, short
from ttfs_deploy.limits import MAX_LAYER_SIZE

__all__ = ["IRError", "InputLayer", "FireOnceLayer", "QuantSpec"]


class IRError(TtfsError):
    """Invalid network IR or unreadable/malformed IR file; the message is one line meant for users."""


def one_line(text: object) -> str:
    return " ".join(str(text).split())


def _frozen_array(values: Any, name: str) -> np.ndarray:
    array = np.asarray(values)
    if array.dtype.kind in "iu":
        if array.size and (array.min() < np.iinfo(np.int32).min or array.max() > np.iinfo(np.int32).max):
            raise IRError(f"layer {name!r}: integer weights must fit in int32")
        array = array.astype(np.int32)
    elif array.dtype.kind in "fb":
        array = array.astype(np.float64)
    else:
        raise IRError(f"layer {name!r}: weights must be a numeric array, got dtype {array.dtype}")
    array = array.copy()
    array.setflags(write=False)
    return array


@dataclass(frozen=True, eq=False)
class InputLayer:
    """The network input: ``size`` spike-time channels (one per pixel).

    Parameters
    ----------
    name : str
        Unique layer name.
    size : int
        Number of input channels.
    """

    name: str
    size: int

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise IRError(f"layer name must be a non-empty string, got {self.name!r}")
        if isinstance(self.size, bool) or not isinstance(self.size, Integral) or not 1 <= self.size <= MAX_LAYER_SIZE:
            raise IRError(
                f"input layer {self.name!r}: size must be an integer in 1..{MAX_LAYER_SIZE}, got {short(self.size)}"
            )
        object.__setattr__(self, "size", int(self.size))


@dataclass(frozen=True, eq=False)
class FireOnceLayer:
    """A fully connected layer of fire-once integrate-and-fire neurons.

    Parameters
    ----------
    name : str
        Unique layer name.
    weight : np.ndarray
        ``(n_out, n_in)`` weights: float64 for a float network, int32 mantissas when quantized.
        Stored as a read-only copy.
    threshold : float or int
        Firing threshold (a neuron fires when its potential is strictly greater), ``>= 0``.
    integrator : bool, optional
        A non-spiking read-out (last layer only): the neurons integrate as fire-once neurons do but
        never fire, and the class is the arg-max of their potential at the window's end
        (:func:`ttfs_deploy.semantics.fire_once.integrator_membrane`); ``threshold`` is unused (0).
    """

    name: str
    weight: np.ndarray
    threshold: float | int
    integrator: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise IRError(f"layer name must be a non-empty string, got {self.name!r}")
        weight = _frozen_array(self.weight, self.name)
        if weight.ndim != 2 or 0 in weight.shape:
            raise IRError(
                f"layer {self.name!r}: weight must be a non-empty 2-D (n_out, n_in) array, got shape {weight.shape}"
            )
        if weight.dtype.kind == "f" and not np.isfinite(weight).all():
            raise IRError(f"layer {self.name!r}: weights must be finite")
        threshold = self.threshold
        if isinstance(threshold, bool) or not isinstance(threshold, Real):
            raise IRError(f"layer {self.name!r}: threshold must be a number, got {threshold!r}")
        threshold = int(threshold) if isinstance(threshold, Integral) else float(threshold)
        if not math.isfinite(threshold) or threshold < 0:
            raise IRError(f"layer {self.name!r}: threshold must be finite and >= 0, got {threshold!r}")
        if not isinstance(self.integrator, bool):
            raise IRError(f"layer {self.name!r}: integrator must be true or false, got {short(self.integrator)}")
        object.__setattr__(self, "weight", weight)
        object.__setattr__(self, "threshold", threshold)

    @property
    def size(self) -> int:
        """Number of neurons (``n_out``)."""
        return int(self.weight.shape[0])

    @property
    def n_in(self) -> int:
        """Number of inputs (``weight.shape[1]``)."""
        return int(self.weight.shape[1])


@dataclass(frozen=True)
class QuantSpec:
    """How to read an integer network's numbers: the quantisation the compiler chose.

    ``weight_bits``-bit signed weight mantissas, layer ``k``'s synaptic input shifted by
    ``weight_exponents[k]`` (left for ``e >= 0``, flooring right otherwise), a saturating signed
    ``membrane_bits`` membrane; ``profile`` names the hardware profile it was compiled under.
    """

    profile: str
    weight_bits: int
    membrane_bits: int
    weight_exponents: tuple[int, ...]

    def __post_init__(self) -> None:
        if not isinstance(self.profile, str) or not 0 < len(self.profile) <= 200:
            raise IRError(f"quant profile must be a name, got {short(self.profile)}")
        for key in ("weight_bits", "membrane_bits"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, Integral) or not 2 <= value <= 32:
                raise IRError(f"quant {key} must be an integer in 2..32, got {short(value)}")
        exponents = self.weight_exponents
        if not isinstance(exponents, (list, tuple)) or not all(
            isinstance(e, Integral) and not isinstance(e, bool) and -16 <= e <= 16 for e in exponents
        ):
            raise IRError(f"quant weight_exponents must be a list of integers in -16..16, got {short(exponents)}")
        object.__setattr__(self, "weight_bits", int(self.weight_bits))
        object.__setattr__(self, "membrane_bits", int(self.membrane_bits))
        object.__setattr__(self, "weight_exponents", tuple(int(e) for e in exponents))

    @classmethod
    def from_dict(cls, data: Any) -> QuantSpec:
        """Build from the dict a file stores; unknown or missing keys raise :class:`IRError`."""
        if not isinstance(data, dict):
            raise IRError(f"quant must be an object, got {type(data).__name__}")
        names = {f.name for f in fields(cls)}
        missing, unknown = sorted(names - set(data)), sorted(set(map(str, data)) - names)
        if missing or unknown:
            raise IRError(f"quant: missing {missing or 'nothing'}, unknown {short(unknown) if unknown else 'nothing'}")
        return cls(**data)

    def to_dict(self) -> dict:
        """Plain JSON-serialisable form (the file format's ``quant`` object)."""
        return {**asdict(self), "weight_exponents": list(self.weight_exponents)}
