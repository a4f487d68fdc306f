"""Spike budgets: a YAML file of limits checked against a profiled run (what a regression job runs).

Format::

    budget:
      max_spikes_per_inference: 300      # mean spikes per inference, all layers
      max_spikes_until_decision: 200
      max_decision_steps: 80             # mean decision step
      max_energy_nj: 2000                # mean energy per inference under the profile
      min_accuracy: 0.95
      layers:                            # optional per-layer limits
        fc1: {max_spikes: 150}

Unknown or duplicate keys, non-numeric, NaN, infinite or negative limits, and accuracies outside 0..1 are
errors (BudgetError); the file is read by :mod:`ttfs_deploy.safe_yaml` (no aliases, bounded size and depth).
"""

from __future__ import annotations

import math
import pathlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

import yaml

from ttfs_deploy.errors import TtfsError, short
from ttfs_deploy.fileio import atomic_write
from ttfs_deploy.safe_yaml import load_yaml, number

if TYPE_CHECKING:
    from ttfs_deploy.measure.costs import Costs
    from ttfs_deploy.semantics import RunResult

__all__ = ["BudgetError", "Budget", "Check", "load_budget", "check_budget", "budget_from_run", "write_budget", "LIMITS"]

# key -> (what it limits, "max" or "min")
LIMITS = {
    "max_spikes_per_inference": ("mean spikes per inference", "max"),
    "max_spikes_until_decision": ("mean spikes until decision", "max"),
    "max_decision_steps": ("mean decision step", "max"),
    "max_energy_nj": ("mean energy per inference (nJ)", "max"),
    "min_accuracy": ("accuracy", "min"),
}
LAYER_LIMITS = {"max_spikes": ("mean spikes per inference", "max")}


class BudgetError(TtfsError):
    """A malformed budget file; the message is one line."""


@dataclass(frozen=True)
class Budget:
    """A spike budget: whole-network limits (keys of :data:`LIMITS`) and per-layer limits."""

    limits: dict[str, float]
    layers: dict[str, dict[str, float]]

    def check_layers(self, names: list[str]) -> None:
        """Refuse (before any run) a budget that names a layer the network does not have."""
        unknown = [layer for layer in self.layers if layer not in names]
        if unknown:
            raise BudgetError(f"budget names layer {short(unknown[0])}, the network has {', '.join(names)}")

    def to_file_dict(self) -> dict:
        """The ``budget:`` mapping a budget file holds (what :func:`load_budget` reads back)."""
        return {"budget": {**self.limits, "layers": self.layers} if self.layers else dict(self.limits)}


@dataclass(frozen=True)
class Check:
    """One limit against its measured value."""

    name: str
    limit: float
    measured: float | None
    kind: str  # "max" or "min"

    @property
    def passed(self) -> bool:
        if self.measured is None:
            return False
        return self.measured <= self.limit if self.kind == "max" else self.measured >= self.limit


def _number(value, where: str) -> float:
    return number(value, where, BudgetError, 0.0, 1e15)


def load_budget(path: str | pathlib.Path) -> Budget:
    """Parse and validate a budget file (strict YAML, known keys only, finite non-negative numbers)."""
    path = pathlib.Path(path)
    data = load_yaml(path, BudgetError, "budget file")  # strict: no aliases, duplicates, NaN; bounded
    if not isinstance(data, dict) or set(data) != {"budget"} or not isinstance(data["budget"], dict):
        raise BudgetError(f"{path}: expected a single top-level 'budget:' mapping")
    limits, layers = {}, {}
    for key, value in data["budget"].items():
        if key == "layers":
            if not isinstance(value, dict):
                raise BudgetError(f"{path}: budget.layers must map layer names to limits")
            for layer, items in value.items():
                if not isinstance(items, dict) or not items:
                    raise BudgetError(f"{path}: budget.layers.{short(layer)} must map limit names to numbers")
                for name, limit in items.items():
                    if name not in LAYER_LIMITS:
                        raise BudgetError(
                            f"{path}: unknown limit budget.layers.{short(layer)}.{short(name)}; known: {', '.join(LAYER_LIMITS)}"
                        )
                    layers.setdefault(str(layer), {})[name] = _number(limit, f"{path}: budget.layers.{layer}.{name}")
        elif key in LIMITS:
            limits[key] = _number(value, f"{path}: budget.{key}")
            if key == "min_accuracy" and limits[key] > 1:
                raise BudgetError(f"{path}: budget.min_accuracy is a fraction in 0..1, got {value}")
        else:
            raise BudgetError(f"{path}: unknown key budget.{short(key)}; known: {', '.join([*LIMITS, 'layers'])}")
    if not limits and not layers:
        raise BudgetError(f"{path}: the budget sets no limits")
    return Budget(limits, layers)


def _measured(run: RunResult, costs: Costs) -> dict[str, float | None]:
    return {
        "max_spikes_per_inference": run.mean_spikes_total,
        "max_spikes_until_decision": run.mean_spikes_until_decision,
        "max_decision_steps": run.mean_decision_step,
        "max_energy_nj": costs.energy_total_nj,
        "min_accuracy": run.accuracy,
    }


def check_budget(budget: Budget, run: RunResult, costs: Costs) -> list[Check]:
    """Compare every limit of ``budget`` with a run and its costs (spikes, steps, nJ, accuracy)."""
    measured = _measured(run, costs)
    checks = [Check(key, limit, measured[key], LIMITS[key][1]) for key, limit in budget.limits.items()]
    by_name = {layer.name: layer for layer in costs.layers}
    budget.check_layers(list(by_name))
    for layer, items in budget.layers.items():
        for name, limit in items.items():
            checks.append(Check(f"{layer}.{name}", limit, by_name[layer].spikes, LAYER_LIMITS[name][1]))
    return checks


def budget_from_run(run: RunResult, costs: Costs, margin: float) -> Budget:
    """A budget a run meets with ``margin`` to spare (0.1 = 10 %): every max limit is the measured
    mean x (1 + margin), ``min_accuracy`` the measured accuracy x (1 - margin), and each fire-once
    layer gets ``max_spikes``. Values are rounded away from the measurement (up for max, down for min).
    """
    if not 0 <= margin < 1:
        raise BudgetError(f"margin must be in 0..100 %, got {margin:.0%}")

    def up(value: float, digits: int) -> float:
        return math.ceil(value * (1 + margin) * 10**digits) / 10**digits

    digits = {"max_energy_nj": 0}  # nJ to the unit; spikes and steps to one decimal
    measured = _measured(run, costs)
    limits = {
        key: up(value, digits.get(key, 1))
        for key, value in measured.items()
        if key != "min_accuracy" and value is not None
    }
    limits = {key: int(v) if v == int(v) else v for key, v in limits.items()}
    limits["min_accuracy"] = math.floor(run.accuracy * (1 - margin) * 1000) / 1000
    layers = {layer.name: {"max_spikes": up(layer.spikes, 1)} for layer in costs.layers[1:]}
    return Budget(limits, layers)


def write_budget(path: str | pathlib.Path, budget: Budget, comments: list[str]) -> None:
    """Write a budget file (``# `` comment lines first), atomically; it loads with :func:`load_budget`."""
    text = "".join(f"# {line}\n" for line in comments) + yaml.safe_dump(budget.to_file_dict(), sort_keys=False)
    atomic_write(path, lambda stream: stream.write(text.encode()))
