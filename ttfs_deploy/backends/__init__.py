"""Backends: where a compiled (integer) network runs. A registry of name → module, loaded lazily.

Every backend module has the same interface::

    simulate(ir, t_in, early_stop=..., timeout_s=None) -> list of (n, size) spike-time arrays
    simulate_readout(ir, t_in, timeout_s=None) -> (spike times, integrator potentials or None)
    missing() -> None when usable here, else one line saying what is missing

``golden`` runs :mod:`ttfs_deploy.semantics` itself; ``loihi-sim`` builds the Lava process graph
(``lava_sim`` + the side-effect-free ``lava_procs`` package Lava scans for models; rate-coded LIF
networks: ``lava_lif``, Lava's stock Dense + LIF, reached through ``pipelines.run_rate``); ``loihi-hw``
runs that graph on a board. Lava is imported only when a Lava backend runs, so everything else
works without it. Names, descriptions and limits are in :mod:`ttfs_deploy.targets`.

May import: ``semantics``, ``ir``, ``compiler`` (target rules), ``coding``, ``targets``, ``errors``;
Lava (lazily). Never torch.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from ttfs_deploy.targets import get_target

__all__ = ["BACKENDS", "backend", "missing"]

BACKENDS = {
    "golden": "ttfs_deploy.backends.golden",
    "loihi-sim": "ttfs_deploy.backends.lava_sim",
    "loihi-hw": "ttfs_deploy.backends.loihi_hw",
}


def backend(name: str) -> ModuleType:
    """The module that runs target ``name`` (an integer target; ``float`` is PyTorch, not a backend)."""
    get_target(name)  # unknown names: one-line UsageError
    if name not in BACKENDS:
        raise KeyError(f"target {name!r} has no backend (it runs the float checkpoint)")
    return importlib.import_module(BACKENDS[name])


def missing(name: str) -> str | None:
    """What target ``name`` lacks on this machine (None when it can run here)."""
    if name not in BACKENDS:
        return None
    return backend(name).missing()
