"""Run a model on a target and classify: the ``ttfs-deploy run`` pipeline.

Every target returns per-layer spike times in the model's own time convention (docs/training.md:
each layer adds one step; Lava's pipeline offset is removed by the backend), so results compare
directly across targets and feed :func:`ttfs_deploy.semantics.readout.classify`.
"""

from __future__ import annotations

import importlib
import pathlib
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from ttfs_deploy.coding import encode_ttfs
from ttfs_deploy.data import Dataset
from ttfs_deploy.ir import IRError, NetworkIR
from ttfs_deploy.measure.trace import Trace, run_trace
from ttfs_deploy.semantics import RunResult, classify

__all__ = ["RUN_TARGETS", "TARGET_HELP", "Outcome", "run_target", "simulate", "prepare_network"]

TARGET_HELP = {
    "float": "PyTorch float model (checkpoints only)",
    "golden": "bit-exact vectorised integer simulator of the quantized network (the reference)",
    "loihi-sim": "Lava process graph on the Loihi CPU simulator (Loihi2SimCfg, fixed_pt)",
    "loihi-hw": "the same Lava graph on a Loihi board through lava-loihi (Loihi2HwCfg)",
}
RUN_TARGETS = tuple(TARGET_HELP)
# backend modules behind one interface: simulate(ir, t_in, early_stop=..., ...) -> list of spike-time arrays
_BACKENDS = {
    "golden": "ttfs_deploy.semantics.fire_once",
    "loihi-sim": "ttfs_deploy.backends.lava_sim",
    "loihi-hw": "ttfs_deploy.backends.loihi_hw",
}
LAVA_CHUNK = 100  # samples per Lava run: one graph start-up (~1 s) per chunk, and a progress update


@dataclass(frozen=True)
class Outcome:
    """A run: the classification result, the per-layer spike times it came from, and a note."""

    result: RunResult
    times: list[np.ndarray]
    ir: NetworkIR | None
    early_stop: bool
    note: str = ""

    def trace(self) -> Trace:
        """The run as a golden trace (spike times, labels, predictions, how it ran)."""
        return run_trace(self.times, self.result, self.early_stop)


def prepare_network(model_path: str, profile: str) -> tuple[NetworkIR, str]:
    """Load a .ttfs artifact, or compile a .pt checkpoint on the fly (no calibration); returns a note."""
    from ttfs_deploy.compiler.pipeline import compile_network, load_network

    ir = load_network(model_path)
    if ir.is_quantized:
        return ir, ""
    compiled = compile_network(ir, "loihi-sim", profile)
    return compiled.ir, (
        f"compiled on the fly under profile {profile} without calibration data; "
        "`ttfs-deploy compile` chooses clipping on validation data"
    )


def simulate(
    target: str, ir: NetworkIR, t_in: np.ndarray, early_stop: bool, progress: bool = False
) -> list[np.ndarray]:
    """Spike times of every layer (input first) on a simulated or hardware target."""
    backend = importlib.import_module(_BACKENDS[target])
    if target == "golden":
        return backend.simulate(ir, t_in, early_stop=early_stop)
    chunks = []
    for start in tqdm(
        range(0, len(t_in), LAVA_CHUNK), desc=target, unit="chunk", disable=not progress or len(t_in) <= LAVA_CHUNK
    ):
        chunks.append(backend.simulate(ir, t_in[start : start + LAVA_CHUNK], early_stop=early_stop))
    return [np.concatenate(layer) for layer in zip(*chunks)]


def run_target(
    model_path: str,
    target: str,
    dataset: Dataset,
    profile: str = "loihi2",
    early_stop: bool | None = None,
    progress: bool = False,
) -> Outcome:
    """Run ``model_path`` (.pt or .ttfs) on ``target`` over ``dataset``.

    ``early_stop``: a sample ends at its first output spike and later spikes are not issued. None
    takes the target's default: on for the Lava targets (it is what makes them fast), off for golden
    (a full run costs nothing there); golden with early stop reports the same view Lava does.
    """
    if target == "float":
        if pathlib.Path(model_path).suffix == ".ttfs":
            raise IRError(f"{model_path}: target float needs the checkpoint (.pt); a .ttfs artifact is quantized")
        import torch

        from ttfs_deploy.train.checkpoint import load_checkpoint

        ckpt = load_checkpoint(model_path)
        _check_inputs(dataset, ckpt.model.sizes[0])
        t_in = torch.from_numpy(encode_ttfs(dataset.images, ckpt.T, ckpt.zero_policy))
        times = [t.numpy() for t in ckpt.model.spike_times(t_in)]
        return Outcome(classify(times, dataset.labels, ckpt.T, "float"), times, None, early_stop=False)
    ir, note = prepare_network(model_path, profile)
    _check_inputs(dataset, ir.sizes[0])
    t_in = encode_ttfs(dataset.images, ir.T, ir.zero_policy)
    stop = (target != "golden") if early_stop is None else early_stop
    times = simulate(target, ir, t_in, stop, progress)
    return Outcome(classify(times, dataset.labels, ir.T, target), times, ir, stop, note)


def _check_inputs(dataset: Dataset, n_inputs: int) -> None:
    if dataset.images.shape[1] != n_inputs:
        raise IRError(
            f"data {dataset.name} has {dataset.images.shape[1]} pixels per image but the model "
            f"expects {n_inputs} inputs"
        )
