"""The targets a network runs on, and what each can hold: one table every stage reads.

A target is where ``run`` executes a network: ``float`` (the PyTorch checkpoint), ``golden`` (the
integer network by its specification), ``loihi-sim`` (the Lava process graph on Lava's CPU
simulator) and ``loihi-hw`` (the same graph on a board). The limits here are the *target's* (what
the Lava graph or backend can represent); the chip's own limits (cores, fan-in, memory) live in the
hardware profiles. ``compile --target X`` checks both before it writes anything
(:mod:`ttfs_deploy.compiler.mapping`).
"""

from __future__ import annotations

from dataclasses import dataclass

from ttfs_deploy.errors import UsageError

__all__ = ["TargetLimits", "Target", "TARGETS", "RUN_TARGETS", "COMPILE_TARGETS", "LAVA_MAX_LAYERS", "get_target"]

# fire-once layers one Lava TrialRecorder watches (a ProcessModel declares its ports statically)
LAVA_MAX_LAYERS = 4


@dataclass(frozen=True)
class TargetLimits:
    """What a target can represent (``None`` = no limit of its own)."""

    max_fire_once_layers: int | None = None
    max_weight_bits: int | None = None  # Lava's Dense stores at most 8-bit weight mantissas
    accumulator_bits: int | None = None  # Lava's Dense sums a step's input in a 32-bit register
    delay_steps: int | None = None  # steps each layer adds (Lava's Dense: one)


@dataclass(frozen=True)
class Target:
    """A run target: its name, one line for ``--help``/``targets``, whether it runs the integer network."""

    name: str
    description: str
    integer: bool
    limits: TargetLimits


_LAVA = TargetLimits(max_fire_once_layers=LAVA_MAX_LAYERS, max_weight_bits=8, accumulator_bits=32, delay_steps=1)

TARGETS: dict[str, Target] = {
    t.name: t
    for t in (
        Target("float", "PyTorch float model (checkpoints only)", False, TargetLimits()),
        Target(
            "golden",
            "bit-exact vectorised integer simulator of the quantized network (the reference)",
            True,
            TargetLimits(delay_steps=1),
        ),
        Target("loihi-sim", "Lava process graph on the Loihi CPU simulator (Loihi2SimCfg, fixed_pt)", True, _LAVA),
        Target("loihi-hw", "the same Lava graph on a Loihi board through lava-loihi (Loihi2HwCfg)", True, _LAVA),
    )
}
RUN_TARGETS = tuple(TARGETS)
COMPILE_TARGETS = tuple(name for name, target in TARGETS.items() if target.integer)


def get_target(name: str) -> Target:
    """The target called ``name``; raises :class:`UsageError` (one line) for an unknown name."""
    try:
        return TARGETS[name]
    except (KeyError, TypeError):
        raise UsageError(f"unknown target {name!r}; available: {', '.join(RUN_TARGETS)}") from None
