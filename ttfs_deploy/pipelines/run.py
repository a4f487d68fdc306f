"""Run a model on a target and classify: the ``ttfs-deploy run`` pipeline.

Every target returns per-layer spike times in the model's own time convention (docs/training.md:
each layer adds one step; Lava's pipeline offset is removed by the backend), so results compare
directly across targets and feed :func:`ttfs_deploy.semantics.readout.classify`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from ttfs_deploy import backends
from ttfs_deploy.coding import encode_ttfs
from ttfs_deploy.compiler.pipeline import (
    CALIBRATION_DATA,
    CALIBRATION_SAMPLES,
    checkpoint_network,
    converted_plain,
    deploy,
    load_network,
)
from ttfs_deploy.data import Dataset, check_labels
from ttfs_deploy.errors import UsageError
from ttfs_deploy.ir import IRError, NetworkIR
from ttfs_deploy.measure.trace import Trace, run_trace
from ttfs_deploy.models import resolve_model
from ttfs_deploy.semantics import RunResult, classify
from ttfs_deploy.targets import RUN_TARGETS, TARGETS

__all__ = ["RUN_TARGETS", "TARGET_HELP", "Outcome", "run_target", "simulate_readout"]

TARGET_HELP = {name: target.description for name, target in TARGETS.items()}
LAVA_CHUNK = 100  # samples per Lava run: one graph start-up (~1 s) per chunk, and a progress update


@dataclass(frozen=True)
class Outcome:
    """A run: the classification result, the per-layer spike times it came from, and a note."""

    result: RunResult
    times: list[np.ndarray]
    ir: NetworkIR | None
    early_stop: bool
    note: str = ""
    profile: str | None = None  # hardware profile the integer network was compiled under (None: float)

    def trace(self) -> Trace:
        """The run as a golden trace (spike times, labels, predictions, how it ran)."""
        return run_trace(self.times, self.result, self.early_stop)


def simulate_readout(
    target: str,
    ir: NetworkIR,
    t_in: np.ndarray,
    early_stop: bool,
    progress: bool = False,
    timeout_s: float | None = None,
) -> tuple[list[np.ndarray], np.ndarray | None]:
    """Spike times of every layer (input first) on a simulated or hardware target and, for a network
    with an integrator read-out, its potentials ``(n, T - 1, n_out)`` as the target computed them (None
    otherwise). ``timeout_s``: wall-clock limit of the whole run (all chunks); None: the backend's
    default per chunk."""
    backend = backends.backend(target)
    membrane_readout = ir.readout == "membrane"
    if membrane_readout and early_stop:
        raise UsageError("early stop needs a first-spike read-out; this network's class is read from a membrane")

    def run(chunk: np.ndarray, left: float | None):
        if membrane_readout:
            return backend.simulate_readout(ir, chunk, timeout_s=left)
        return backend.simulate(ir, chunk, early_stop=early_stop, timeout_s=left), None

    if target == "golden":
        return run(t_in, None)
    chunks = []
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    for start in tqdm(
        range(0, len(t_in), LAVA_CHUNK), desc=target, unit="chunk", disable=not progress or len(t_in) <= LAVA_CHUNK
    ):
        left = None if deadline is None else max(deadline - time.monotonic(), 0.001)
        chunks.append(run(t_in[start : start + LAVA_CHUNK], left))
    times = [np.concatenate(layer) for layer in zip(*(c[0] for c in chunks))]
    return times, (np.concatenate([c[1] for c in chunks]) if membrane_readout else None)


def run_target(
    model_path: str,
    target: str,
    dataset: Dataset,
    profile: str | None = None,
    early_stop: bool | None = None,
    progress: bool = False,
    calibration: str | None = CALIBRATION_DATA,
    calibration_samples: int | None = CALIBRATION_SAMPLES,
    timeout_s: float | None = None,
    input_seed: int | None = None,
    check: Callable[[NetworkIR], None] | None = None,
    lead: int | None = None,
) -> Outcome:
    """Run ``model_path`` (.pt or .ttfs) on ``target`` over ``dataset``.

    ``check`` sees the deployed integer network before anything runs (``budget check`` refuses a
    budget that names a layer the network lacks there, not after a long run).

    ``early_stop``: a sample ends at its first output spike and later spikes are not issued. None
    takes the target's default: on for the Lava targets (it is what makes them fast), off for golden
    (a full run costs nothing there); golden with early stop reports the same view Lava does.
    A checkpoint on an integer target is compiled as ``ttfs-deploy compile`` compiles it (same
    calibration, ``profile`` default: the artifact's own, else loihi2), so every command runs the
    same integer network. A rate-coded LIF network runs through
    :func:`ttfs_deploy.pipelines.run_rate.run_rate_target` (its inputs drawn with ``input_seed``, its
    causal rule deciding at a ``lead`` of spikes); both are refused for a TTFS network.
    """
    from ttfs_deploy.pipelines.run_rate import is_rate_model, run_rate_target

    seed = 0 if input_seed is None else input_seed
    if target == "float":  # the float model as trained: its kind decides the path
        if resolve_model(model_path).suffix in (".ttfs", ".net"):
            raise IRError(f"{model_path}: target float needs a float model (.pt, .nir); this file is fixed-point")
        if is_rate_model(model_path):
            return run_rate_target(
                model_path, target, dataset, profile, early_stop, progress, input_seed=seed, lead=lead
            )
        _refuse_rate_options(model_path, input_seed, lead)
        return _run_float(model_path, dataset, calibration)
    # the integer network, deployed once; its neuron kind decides the path
    deployed = deploy(model_path, target, profile, calibration, calibration_samples)
    if check is not None:
        check(deployed.ir)
    if deployed.ir.neuron == "lif":
        return run_rate_target(
            model_path, target, dataset, profile, early_stop, progress, None, None, timeout_s, seed, deployed, lead
        )
    _refuse_rate_options(model_path, input_seed, lead)
    ir, profile, note = deployed.ir, deployed.profile, deployed.note
    _check_inputs(dataset, ir.sizes)
    t_in = encode_ttfs(dataset.images, ir.T, ir.zero_policy)
    stop = (target != "golden") if early_stop is None else early_stop
    if stop and ir.readout == "membrane":  # early stop ends a sample at its first output spike: there is none
        stop = False
        note = "; ".join(x for x in (note, "a membrane read-out runs every sample's whole window (no early stop)") if x)
    times, membrane = simulate_readout(target, ir, t_in, stop, progress, timeout_s)
    return Outcome(classify(times, dataset.labels, ir.T, target, membrane), times, ir, stop, note, profile)


def _refuse_rate_options(model_path: str, input_seed: int | None, lead: int | None) -> None:
    """One line for an option of rate-coded networks given with a TTFS one."""
    for option, value in (("--input-seed", input_seed), ("--lead", lead)):
        if value is not None:
            raise UsageError(f"{option} is for rate-coded (LIF) networks; {model_path} is a TTFS network")


def _run_float(model_path: str, dataset: Dataset, calibration: str | None) -> Outcome:
    """Target ``float``: a ttfs-deploy checkpoint through its torch model; a NIR graph, an integrator
    read-out (which the torch model lacks) or a plain PyTorch MLP (converted on the fly from
    ``calibration`` data) through golden's float arithmetic, the float network's own semantics."""
    path = resolve_model(model_path)
    if path.suffix != ".pt":
        ir, note = load_network(path), ""
    else:
        import torch

        from ttfs_deploy.train.checkpoint import PlainStateDictError, load_checkpoint

        try:
            ckpt = load_checkpoint(path)
        except PlainStateDictError:
            ckpt = None
        if ckpt is not None and ckpt.readout == "first_spike":
            _check_inputs(dataset, ckpt.model.sizes)
            t_in = torch.from_numpy(encode_ttfs(dataset.images, ckpt.T, ckpt.zero_policy))
            times = [t.numpy() for t in ckpt.model.spike_times(t_in)]
            return Outcome(classify(times, dataset.labels, ckpt.T, "float"), times, None, early_stop=False)
        ir, note = (checkpoint_network(ckpt), "") if ckpt is not None else converted_plain(path, calibration)
    _check_inputs(dataset, ir.sizes)
    times, membrane = backends.backend("golden").simulate_readout(ir, encode_ttfs(dataset.images, ir.T, ir.zero_policy))
    return Outcome(classify(times, dataset.labels, ir.T, "float", membrane), times, None, early_stop=False, note=note)


def _check_inputs(dataset: Dataset, sizes: list[int]) -> None:
    n_inputs = sizes[0]
    check_labels(dataset, sizes[-1])
    if dataset.images.shape[1] != n_inputs:
        raise IRError(
            f"data {dataset.name} has {dataset.images.shape[1]} pixels per image but the model "
            f"expects {n_inputs} inputs"
        )
