"""Loihi hardware through Lava's Loihi run configuration, when lava-loihi and a board are present.

There is no fake hardware path: without Intel's ``lava-loihi`` extension (distributed to INRC members,
not on PyPI) or without a reachable board, :func:`simulate` raises :class:`HardwareUnavailable` naming
what is missing. With both present it hands the graph of ``loihi-sim`` (:mod:`ttfs_deploy.backends.lava_sim`)
over, which today refuses with a clear error: the fire-once neuron and the streaming processes have CPU
ProcessModels only, and NcProcessModels for them need lava-loihi, which this project cannot test against.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os

import numpy as np

from ttfs_deploy.errors import TtfsError
from ttfs_deploy.ir import NetworkIR

__all__ = ["HardwareUnavailable", "missing", "simulate", "simulate_readout"]

# lava-loihi's host runtime looks for a partition / board through these (Intel's INRC set-up)
_BOARD_ENV = ("LOIHI_GEN", "PARTITION", "NXSDKHOST")


class HardwareUnavailable(TtfsError):
    """lava-loihi or a Loihi board is not available; the message says which."""


def _installed(dist: str) -> bool:
    try:
        importlib.metadata.distribution(dist)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def missing() -> str | None:
    """What prevents a hardware run here, as one sentence; None when lava-loihi and a board are set up."""
    if importlib.util.find_spec("lava") is None:
        return "lava-nc is not installed (run scripts/bootstrap.sh)"
    if not _installed("lava-loihi"):
        return (
            "lava-loihi (Intel's Loihi extension for Lava, available to INRC members) is not installed, "
            "so no Loihi board can be used; run on --target loihi-sim instead"
        )
    if not any(os.environ.get(name) for name in _BOARD_ENV):
        return (
            f"no Loihi board configured: none of {', '.join(_BOARD_ENV)} is set (see lava-loihi's set-up instructions)"
        )
    return None


def simulate(
    ir: NetworkIR, t_in: np.ndarray, early_stop: bool = True, timeout_s: float | None = None
) -> list[np.ndarray]:
    """Run on Loihi; same result convention as :func:`ttfs_deploy.semantics.fire_once.simulate`."""
    reason = missing()
    if reason is not None:
        raise HardwareUnavailable(reason)
    from ttfs_deploy.backends import lava_sim  # pragma: no cover - needs a board

    return lava_sim.simulate(ir, t_in, early_stop=early_stop, timeout_s=timeout_s, hardware=True)  # pragma: no cover


def simulate_readout(
    ir: NetworkIR, t_in: np.ndarray, timeout_s: float | None = None
) -> tuple[list[np.ndarray], np.ndarray | None]:
    """An integrator read-out on Loihi: refused like :func:`simulate` (CPU ProcessModels only)."""
    return simulate(ir, t_in, early_stop=False, timeout_s=timeout_s), None
