"""Hardware profiles (package data ``ttfs_deploy/compiler/hardware_profiles/*.yaml``): bit widths, limits, timing and per-op figures.

Every number in a profile carries its source; unknown numbers are ``null`` and stay unknown here
(``None``). A profile is looked up by name (``loihi1``) in the shipped folder or given as a path.
"""

from __future__ import annotations

import pathlib
from dataclasses import dataclass, field

import yaml

from ttfs_deploy.errors import TtfsError

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


def _figures(section: dict, where: str) -> dict[str, Figure]:
    figures = {}
    for key, item in (section or {}).items():
        if isinstance(item, dict) and "value" in item:
            value = item["value"]
            if value is not None and not isinstance(value, (int, float, list)):
                raise ProfileError(f"{where}.{key}: value must be a number or null, got {value!r}")
            if isinstance(value, (int, float)) and value < 0:
                raise ProfileError(f"{where}.{key}: value must not be negative, got {value}")
            figures[key] = Figure(value, str(item.get("source", "unknown")))
    return figures


def _int(data: dict, path: str, where: str) -> int:
    node = data
    for key in path.split("."):
        if not isinstance(node, dict) or key not in node:
            raise ProfileError(f"{where}: missing {path}")
        node = node[key]
    if not isinstance(node, int) or isinstance(node, bool) or node <= 0:
        raise ProfileError(f"{where}: {path} must be a positive integer, got {node!r}")
    return node


def load_profile(name_or_path: str) -> HardwareProfile:
    """Load a profile by shipped name or YAML path; raises :class:`ProfileError` with one line."""
    path = pathlib.Path(name_or_path)
    if not path.suffix:
        path = PROFILE_DIR / f"{name_or_path}.yaml"
    if not path.is_file():
        raise ProfileError(f"unknown hardware profile {name_or_path!r}; available: {', '.join(available_profiles())}")
    try:
        data = yaml.safe_load(path.read_text())
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        raise ProfileError(f"{path}: not valid YAML ({type(err).__name__})") from None
    if not isinstance(data, dict):
        raise ProfileError(f"{path}: expected a mapping at the top level")
    where = str(path)
    bits = data.get("bit_widths", {})
    exp = bits.get("weight_exponent", {}) if isinstance(bits, dict) else {}
    if not (isinstance(exp.get("min"), int) and isinstance(exp.get("max"), int) and exp["min"] <= exp["max"]):
        raise ProfileError(f"{where}: bit_widths.weight_exponent needs integer min <= max")
    energy = data.get("energy_pj", {}) or {}
    return HardwareProfile(
        name=str(data.get("name", path.stem)),
        description=str(data.get("description", "")),
        weight_bits=_int(data, "bit_widths.weight.value", where),
        weight_exponent_range=(exp["min"], exp["max"]),
        membrane_bits=_int(data, "bit_widths.membrane.value", where),
        threshold_bits=_int(data, "bit_widths.threshold.value", where),
        limits=_figures(data.get("limits"), f"{where}: limits"),
        fire_once=dict(data.get("fire_once") or {}),
        stage_delay_steps=_int(data, "timing.stage_delay_steps.value", where),
        energy_pj=_figures(energy, f"{where}: energy_pj"),
        time_ns=_figures(data.get("time_ns"), f"{where}: time_ns"),
        energy_is_estimate="estimate_of" in energy,
        path=str(path),
    )
