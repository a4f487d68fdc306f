"""Hardware profiles (package data ``ttfs_deploy/compiler/hardware_profiles/*.yaml``): bit widths, limits, timing and per-op figures.

Every number in a profile carries its source; unknown numbers are ``null`` and stay unknown here
(``None``). A profile is looked up by name (``loihi1``) in the shipped folder or given as a path.
"""

from __future__ import annotations

import os
import pathlib
from dataclasses import dataclass, field

from ttfs_deploy.errors import TtfsError, short
from ttfs_deploy.safe_yaml import integer, load_yaml, number

__all__ = ["ProfileError", "HardwareProfile", "PROFILE_DIR", "available_profiles", "load_profile"]

PROFILE_DIR = pathlib.Path(__file__).resolve().parent / "hardware_profiles"  # package data, inside the wheel


class ProfileError(TtfsError):
    """Unknown or malformed hardware profile; the message is one line."""


@dataclass(frozen=True)
class Figure:
    """One number from a profile with its source (``value`` is None when unknown)."""

    value: float | int | None
    source: str


@dataclass(frozen=True)
class HardwareProfile:
    """The parts of a profile the compiler, mapper and profiler use."""

    name: str
    description: str
    weight_bits: int
    weight_exponent_range: tuple[int, int]
    membrane_bits: int
    threshold_bits: int
    limits: dict[str, Figure]
    fire_once: dict
    stage_delay_steps: int
    energy_pj: dict[str, Figure] = field(default_factory=dict)
    time_ns: dict[str, Figure] = field(default_factory=dict)
    energy_is_estimate: bool = False
    path: str = ""

    def limit(self, key: str) -> int | None:
        """A limit's value (None when unknown or absent)."""
        figure = self.limits.get(key)
        return None if figure is None else figure.value


def available_profiles() -> list[str]:
    """Names of the shipped profiles."""
    return sorted(p.stem for p in PROFILE_DIR.glob("*.yaml"))


# The schema: every key a profile may hold. Unknown or misspelled keys are refused, as in budgets.
_FIGURE_KEYS = (
    "synaptic_spike_op",
    "synaptic_update",
    "neuron_update_active",
    "neuron_update_inactive",
    "neuron_spiking",
    "spike_out",
    "spike_within_tile",
    "spike_hop_east_west",
    "spike_hop_north_south",
)
_LIMIT_KEYS = (
    "cores",
    "neurons_per_core",
    "fan_in_per_neuron",
    "fan_out_per_core",
    "synapse_memory_bits_per_core",
    "neurons_per_chip",  # chip totals and a per-core synapse count, where only those are published (Loihi 2)
    "synapses_per_chip",
    "synapses_per_core",
)
_TOP_KEYS = (
    "name",
    "description",
    "bit_widths",
    "limits",
    "fire_once",
    "timing",
    "energy_pj",
    "time_ns",
    "alternative_energy_pj",
)
# (low, high) of each bit width: quantisation needs >= 2 bits; the IR and Lava hold at most these
_BITS = {"weight": (2, 16), "threshold": (2, 32), "membrane": (2, 32)}
_EXPONENT = (-16, 16)
_MAX_DELAY = 16
_MAX_LIMIT = 2**40


def _mapping(value, where: str, keys: tuple, required: tuple = ()) -> dict:
    if not isinstance(value, dict):
        raise ProfileError(f"{where} must be a mapping, got {short(value)}")
    unknown = [k for k in value if k not in keys]
    if unknown:
        raise ProfileError(f"{where}: unknown key {short(unknown[0])}; known: {', '.join(keys)}")
    missing = [k for k in required if k not in value]
    if missing:
        raise ProfileError(f"{where}: missing {missing[0]}")
    return value


def _text(value, where: str) -> str:
    if not isinstance(value, str):
        raise ProfileError(f"{where} must be text, got {short(value)}")
    return value


def _figure(item, where: str, kind: str) -> Figure:
    """``{value: ..., source: "..."}``; kind "int" (positive), "number" (>= 0) or "numbers" (or a list)."""
    item = _mapping(item, where, ("value", "source", "signed", "unit"), ("value",))
    value = item["value"]
    if value is not None:
        if kind == "int":
            value = integer(value, f"{where}.value", ProfileError, 1, _MAX_LIMIT)
        elif kind == "numbers" and isinstance(value, list) and 1 <= len(value) <= 8:
            value = [number(v, f"{where}.value", ProfileError, 0.0, 1e12) for v in value]
        else:
            value = number(value, f"{where}.value", ProfileError, 0.0, 1e12)
    if "signed" in item and not isinstance(item["signed"], bool):
        raise ProfileError(f"{where}.signed must be true or false, got {short(item['signed'])}")
    return Figure(value, _text(item.get("source", "unknown"), f"{where}.source"))


def _figures(section, where: str, extra: tuple = ()) -> dict[str, Figure]:
    section = _mapping({} if section is None else section, where, _FIGURE_KEYS + extra)
    figures = {}
    for key, item in section.items():
        if key in extra:
            _text(item, f"{where}.{key}")
        else:
            figures[key] = _figure(item, f"{where}.{key}", "number")
    return figures


def _bits(bits: dict, key: str, where: str) -> int:
    low, high = _BITS[key]
    item = _mapping(bits[key], f"{where}: bit_widths.{key}", ("value", "signed", "source"), ("value",))
    return integer(item["value"], f"{where}: bit_widths.{key}.value", ProfileError, low, high)


def _validated(data, where: str) -> dict:
    """Check every section of a parsed profile; return the fields of :class:`HardwareProfile`."""
    data = _mapping(data, f"{where}: the top level", _TOP_KEYS, ("bit_widths",))
    keys = ("weight", "weight_exponent", "threshold", "membrane")
    bits = _mapping(data["bit_widths"], f"{where}: bit_widths", keys, keys)
    exp = _mapping(
        bits["weight_exponent"], f"{where}: bit_widths.weight_exponent", ("min", "max", "source"), ("min", "max")
    )
    lo = integer(exp["min"], f"{where}: bit_widths.weight_exponent.min", ProfileError, *_EXPONENT)
    hi = integer(exp["max"], f"{where}: bit_widths.weight_exponent.max", ProfileError, lo, _EXPONENT[1])
    weight_bits = _bits(bits, "weight", where)
    if "timing" not in data:
        raise ProfileError(f"{where}: missing timing")
    limits = _mapping({} if data.get("limits") is None else data["limits"], f"{where}: limits", _LIMIT_KEYS)
    fire_once = _mapping(data.get("fire_once") or {}, f"{where}: fire_once", ("mechanism", "detail", "source"))
    for key, value in fire_once.items():
        _text(value, f"{where}: fire_once.{key}")
    timing = _mapping(
        data["timing"], f"{where}: timing", ("stage_delay_steps", "barrier_sync_ns"), ("stage_delay_steps",)
    )
    delay = _figure(timing["stage_delay_steps"], f"{where}: timing.stage_delay_steps", "int").value
    if delay is None or delay > _MAX_DELAY:
        raise ProfileError(f"{where}: timing.stage_delay_steps.value must be an integer in 1..{_MAX_DELAY}")
    if "barrier_sync_ns" in timing:
        _figure(timing["barrier_sync_ns"], f"{where}: timing.barrier_sync_ns", "numbers")
    energy = data.get("energy_pj")
    _figures(data.get("alternative_energy_pj"), f"{where}: alternative_energy_pj", ("name", "note"))
    return {
        "name": _text(data.get("name", pathlib.Path(where).stem), f"{where}: name"),
        "description": _text(data.get("description", ""), f"{where}: description"),
        "weight_bits": weight_bits,
        "weight_exponent_range": (lo, hi),
        "membrane_bits": _bits(bits, "membrane", where),
        "threshold_bits": _bits(bits, "threshold", where),
        "limits": {k: _figure(v, f"{where}: limits.{k}", "int") for k, v in limits.items()},
        "fire_once": dict(fire_once),
        "stage_delay_steps": delay,
        "energy_pj": _figures(energy, f"{where}: energy_pj", ("estimate_of", "note")),
        "time_ns": _figures(data.get("time_ns"), f"{where}: time_ns", ("note",)),
        "energy_is_estimate": isinstance(energy, dict) and "estimate_of" in energy,
    }


def load_profile(name_or_path: str) -> HardwareProfile:
    """Load a profile by shipped name or YAML path; raises :class:`ProfileError` with one line.

    A user's file is held to the same schema as the shipped ones: unknown keys, wrong types,
    NaN/inf, out-of-range widths, duplicate keys and YAML aliases are refused (:mod:`ttfs_deploy.safe_yaml`).
    """
    if not isinstance(name_or_path, str) or not name_or_path:
        raise ProfileError(f"hardware profile must be a name or a path, got {short(name_or_path)}")
    path = pathlib.Path(name_or_path)
    if not path.suffix and "/" not in name_or_path:
        path = PROFILE_DIR / f"{name_or_path}.yaml"
        if not path.is_file():
            raise ProfileError(
                f"unknown hardware profile {short(name_or_path)}; available: {', '.join(available_profiles())}"
            )
    elif not os.path.lexists(path):
        raise ProfileError(f"{path}: no such hardware profile file; shipped: {', '.join(available_profiles())}")
    data = load_yaml(path, ProfileError, "hardware profile")
    return HardwareProfile(**_validated(data, str(path)), path=str(path))
