"""Map a network onto cores and check it against a profile's limits (named design-rule checks).

Each rule is a small function ``rule(ir, profile, placement) -> list[str]`` returning violations, one
line each naming the limit and by how much it is exceeded. ``check(ir, profile)`` runs them all;
``map_network`` places every fire-once layer on whole cores: a layer needs enough cores for its neurons
(``neurons_per_core``) and for its synapse memory (``fan_in * neurons * weight_bits`` bits per layer,
spread over ``synapse_memory_bits_per_core``, or over ``synapses_per_core`` where only a synapse count is
published). Unknown limits (``null`` in the profile) are skipped,
and the summary says which were not checked.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ttfs_deploy.compiler.hardware import HardwareProfile
from ttfs_deploy.errors import TtfsError
from ttfs_deploy.ir import NetworkIR
from ttfs_deploy.targets import TargetLimits, get_target

__all__ = ["MappingError", "LayerPlacement", "Placement", "map_network", "check", "RULES"]


class MappingError(TtfsError):
    """The network does not fit the profile; the message lists every violated limit."""


@dataclass(frozen=True)
class LayerPlacement:
    """Cores used by one layer and why."""

    name: str
    neurons: int
    fan_in: int
    synapses: int
    cores: int


@dataclass(frozen=True)
class Placement:
    """Per-layer placement plus the limits that could not be checked (unknown in the profile)."""

    layers: list[LayerPlacement]
    unchecked: list[str]

    @property
    def cores(self) -> int:
        return sum(layer.cores for layer in self.layers)


def _cores_for(neurons: int, fan_in: int, profile: HardwareProfile) -> int:
    per_core = profile.limit("neurons_per_core")
    memory = profile.limit("synapse_memory_bits_per_core")
    by_neurons = math.ceil(neurons / per_core) if per_core else 1
    by_memory = math.ceil(neurons * fan_in * profile.weight_bits / memory) if memory else 1
    synapses = profile.limit("synapses_per_core")  # a synapse count where only that is published (Loihi 2)
    by_synapses = math.ceil(neurons * fan_in / synapses) if synapses else 1
    return max(by_neurons, by_memory, by_synapses, 1)


def map_network(ir: NetworkIR, profile: HardwareProfile) -> Placement:
    """Place each fire-once layer on cores (no limit checks; see :func:`check`)."""
    layers = [
        LayerPlacement(
            layer.name, layer.size, layer.n_in, layer.size * layer.n_in, _cores_for(layer.size, layer.n_in, profile)
        )
        for layer in ir.fire_once_layers()
    ]
    unchecked = [
        key
        for key in (
            "cores",
            "neurons_per_core",
            "fan_in_per_neuron",
            "fan_out_per_core",
            "synapse_memory_bits_per_core",
        )
        if profile.limit(key) is None
        # a published synapse count per core bounds the synapse memory in its place
        and not (key == "synapse_memory_bits_per_core" and profile.limit("synapses_per_core"))
    ]
    return Placement(layers, unchecked)


def rule_total_cores(ir: NetworkIR, profile: HardwareProfile, placement: Placement) -> list[str]:
    """The chip has a fixed number of cores."""
    limit = profile.limit("cores")
    if limit is not None and placement.cores > limit:
        return [f"needs {placement.cores} cores, {profile.name} has {limit} ({placement.cores - limit} too many)"]
    return []


def rule_chip_totals(ir: NetworkIR, profile: HardwareProfile, placement: Placement) -> list[str]:
    """A chip holds at most ``neurons_per_chip`` neurons and ``synapses_per_chip`` synapses (where published)."""
    problems = []
    for key, used, what in (
        ("neurons_per_chip", sum(p.neurons for p in placement.layers), "neurons"),
        ("synapses_per_chip", sum(p.synapses for p in placement.layers), "synapses"),
    ):
        limit = profile.limit(key)
        if limit is not None and used > limit:
            problems.append(
                f"needs {used:,} {what}, {profile.name} holds {limit:,} per chip ({used - limit:,} too many)"
            )
    return problems


def rule_fan_in(ir: NetworkIR, profile: HardwareProfile, placement: Placement) -> list[str]:
    """A neuron can receive from at most ``fan_in_per_neuron`` inputs."""
    limit = profile.limit("fan_in_per_neuron")
    return [
        f"layer {p.name}: fan-in {p.fan_in} exceeds {profile.name}'s {limit} by {p.fan_in - limit}"
        for p in placement.layers
        if limit is not None and p.fan_in > limit
    ]


def rule_fan_out(ir: NetworkIR, profile: HardwareProfile, placement: Placement) -> list[str]:
    """A core can send to at most ``fan_out_per_core`` axons; the input layer feeds the first layer."""
    limit = profile.limit("fan_out_per_core")
    if limit is None:
        return []
    problems = []
    for src, dst in zip(placement.layers[:-1], placement.layers[1:]):
        neurons_per_core = math.ceil(src.neurons / src.cores)
        fan_out = neurons_per_core * dst.cores  # each source neuron reaches every core of the next layer
        if fan_out > limit:
            problems.append(
                f"layer {src.name}: fan-out {fan_out} axons per core exceeds {profile.name}'s {limit} "
                f"by {fan_out - limit}"
            )
    return problems


def rule_weight_range(ir: NetworkIR, profile: HardwareProfile, placement: Placement) -> list[str]:
    """Quantized weights must fit the profile's signed weight width."""
    if not ir.is_quantized:
        return []
    lo, hi = -(2 ** (profile.weight_bits - 1)), 2 ** (profile.weight_bits - 1) - 1
    problems = []
    for layer in ir.fire_once_layers():
        w_min, w_max = int(layer.weight.min()), int(layer.weight.max())
        if w_min < lo or w_max > hi:
            problems.append(f"layer {layer.name}: weights span {w_min}..{w_max}, {profile.name} allows {lo}..{hi}")
    return problems


RULES = (rule_total_cores, rule_chip_totals, rule_fan_in, rule_fan_out, rule_weight_range)


# Target rules: what the target itself (the Lava graph, a backend) can represent, whatever the chip.


def rule_layer_count(ir: NetworkIR, limits: TargetLimits) -> list[str]:
    """The Lava graph's recorder watches at most ``max_fire_once_layers`` layers."""
    n = len(ir.fire_once_layers())
    if limits.max_fire_once_layers is not None and n > limits.max_fire_once_layers:
        return [f"{n} fire-once layers, the Lava graph records at most {limits.max_fire_once_layers}"]
    return []


def rule_target_weight_bits(ir: NetworkIR, limits: TargetLimits) -> list[str]:
    """Lava's Dense stores weight mantissas of at most ``max_weight_bits`` bits."""
    if not ir.is_quantized or limits.max_weight_bits is None:
        return []
    bits = ir.quant.weight_bits
    if bits > limits.max_weight_bits:
        return [f"{bits}-bit weights, Lava's Dense holds at most {limits.max_weight_bits}"]
    return []


def rule_accumulator(ir: NetworkIR, limits: TargetLimits) -> list[str]:
    """A step's summed synaptic input must fit the target's accumulator.

    Lava stores each mantissa doubled with the exponent lowered by one (so that 8-bit signed
    mantissas keep their full range), hence the factor 2 in the largest reachable sum.
    """
    if not ir.is_quantized or limits.accumulator_bits is None:
        return []
    problems = []
    for layer, exponent in zip(ir.fire_once_layers(), ir.quant.weight_exponents):
        reach = int(np.abs(layer.weight.astype(np.int64)).sum(axis=1).max(initial=0)) << max(exponent, 0)
        if 2 * reach >= 2 ** (limits.accumulator_bits - 1):
            problems.append(
                f"layer {layer.name}: synaptic input up to {reach} overflows the {limits.accumulator_bits}-bit "
                "accumulator"
            )
    return problems


def rule_delay(ir: NetworkIR, limits: TargetLimits) -> list[str]:
    """Each layer adds exactly the target's delay (Lava's Dense and golden: one step)."""
    if limits.delay_steps is not None and ir.delay != limits.delay_steps:
        return [f"the network expects delay={ir.delay} per layer, the target adds {limits.delay_steps}"]
    return []


TARGET_RULES = (rule_layer_count, rule_target_weight_bits, rule_accumulator, rule_delay)


def check_target(ir: NetworkIR, target: str) -> None:
    """Run every target rule; raises :class:`MappingError` naming the target and each broken rule."""
    limits = get_target(target).limits
    problems = [problem for rule in TARGET_RULES for problem in rule(ir, limits)]
    if problems:
        raise MappingError(f"network cannot run on {target}: " + "; ".join(problems))


def check(ir: NetworkIR, profile: HardwareProfile, target: str | None = None) -> Placement:
    """Map the network and run every profile rule (and ``target``'s rules when given).

    Raises :class:`MappingError` listing all violations of the first failing group.
    """
    if target is not None:
        check_target(ir, target)
    placement = map_network(ir, profile)
    problems = [problem for rule in RULES for problem in rule(ir, profile, placement)]
    if problems:
        raise MappingError(f"network does not fit {profile.name}: " + "; ".join(problems))
    return placement
