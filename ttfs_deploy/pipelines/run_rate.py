"""Run a rate-coded LIF network on a target: the ``ttfs-deploy run`` pipeline for the second neuron kind.

Inputs are made on the host by :func:`ttfs_deploy.coding.encode_rate` from the network's coding and
the run's ``input_seed`` (or, for lava-dl's dense input, scheme ``"bias"``, by the input neurons'
arithmetic, :func:`ttfs_deploy.semantics.lif.bias_input_raster`, which needs no seed) (sample ``k`` of the data set always gets the same spikes, whatever the
target or chunk), so float, golden and loihi-sim see the same spikes. Every target returns per-layer
rasters in the model's local time; :mod:`ttfs_deploy.semantics.rate` turns them into results.
"""

from __future__ import annotations

import pathlib
import time
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from ttfs_deploy.coding import encode_rate
from ttfs_deploy.compiler.pipeline import Deployed, deploy, load_network
from ttfs_deploy.data import Dataset, check_labels
from ttfs_deploy.errors import UsageError
from ttfs_deploy.ir import IRError, NetworkIR, load_ir
from ttfs_deploy.measure.trace import TraceError
from ttfs_deploy.models import resolve_model
from ttfs_deploy.pipelines.run import Outcome
from ttfs_deploy.semantics.lif import bias_input_raster, simulate_lif
from ttfs_deploy.semantics.rate import DEFAULT_LEAD, classify_rate, reconstruct

__all__ = ["is_rate_model", "rate_task", "rate_rasters", "run_rate_target", "RateOutcome", "GOLDEN_CHUNK", "LAVA_CHUNK"]

GOLDEN_CHUNK = 1000  # samples per golden call: bounds the (n, T, 784) input raster in memory
LAVA_CHUNK = 100  # samples per Lava graph (one start-up each)


@dataclass(frozen=True)
class RateOutcome(Outcome):
    """A rate-coded run: ``times`` holds every layer's ``(n, T, size)`` raster (local time)."""

    def trace(self):
        """The run as a rate trace (every layer's raster; :mod:`ttfs_deploy.measure.rate_trace`)."""
        from ttfs_deploy.measure.rate_trace import rate_run_trace

        if not hasattr(self.result, "samples"):
            raise TraceError("an autoencoder run has no trace (traces record classifier runs); use run --out")
        return rate_run_trace(self.times, self.result, self.result.extra.get("input_seed"))


def rate_task(model_path: str | pathlib.Path) -> str | None:
    """``"classify"`` or ``"autoencode"`` for a rate-coded LIF network (``.pt``, ``.ttfs`` or a shipped
    name), ``None`` for a TTFS network."""
    path = resolve_model(model_path)
    if path.suffix in (".ttfs", ".nir", ".net"):  # an artifact or a foreign model file (compiler.pipeline.load_network)
        ir = load_ir(path) if path.suffix == ".ttfs" else load_network(path)
        return None if ir.rate is None else ir.rate.task
    from ttfs_deploy.train.checkpoint import read_payload
    from ttfs_deploy.train.lif_checkpoint import is_rate_payload, load_rate_checkpoint

    payload = read_payload(path)  # read once, for the format marker and the task
    return load_rate_checkpoint(path, payload).model.task if is_rate_payload(payload) else None


def is_rate_model(model_path: str | pathlib.Path) -> bool:
    """True when ``model_path`` holds a rate-coded LIF network."""
    return rate_task(model_path) is not None


def _encode(ir_or_coding: tuple, images: np.ndarray, seed: int, start: int) -> np.ndarray:
    T, scheme, max_rate = ir_or_coding
    return encode_rate(images, T, scheme, seed, max_rate, first_index=start)


def rate_rasters(
    target: str,
    ir: NetworkIR,
    images: np.ndarray,
    seed: int,
    progress: bool = False,
    timeout_s: float | None = None,
) -> list[np.ndarray]:
    """Every layer's raster (input first) of the integer network ``ir`` on ``golden`` or ``loihi-sim``,
    and the integrator read-out's membrane (``(n, T, n_out)``; None when the network has none)."""

    def encode(chunk: np.ndarray, start: int) -> np.ndarray:
        if ir.rate.scheme == "bias":  # lava-dl's dense input: deterministic, no seed
            return bias_input_raster(ir.rate, chunk, ir.T)
        return _encode((ir.T, ir.rate.scheme, ir.rate.max_rate), chunk, seed, start)

    if target == "golden":
        step, run = GOLDEN_CHUNK, lambda spikes, left: simulate_lif(ir, spikes)
    elif target in ("loihi-sim", "loihi-hw"):
        from ttfs_deploy.backends import lava_lif
        from ttfs_deploy.backends.lava_sim import BackendUnavailable

        if target == "loihi-hw":
            raise BackendUnavailable("loihi-hw for LIF networks needs lava-loihi and a board, neither is here")
        step, run = LAVA_CHUNK, lambda spikes, left: lava_lif.simulate_lif(ir, spikes, timeout_s=left)
    else:
        raise IRError(f"target {target!r} does not run integer LIF networks")
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    chunks = []
    starts = range(0, len(images), step)
    for start in tqdm(starts, desc=target, unit="chunk", disable=not progress or len(starts) <= 1):
        left = None if deadline is None else max(deadline - time.monotonic(), 0.001)
        chunks.append(run(encode(images[start : start + step], start), left))
    membrane = None
    if ir.chain()[-1].integrator:
        membrane = np.concatenate([c[1] for c in chunks]) if chunks else np.zeros((0, ir.T, ir.sizes[-1]), np.int64)
    if not chunks:
        return [np.zeros((0, ir.T, n), np.uint8) for n in ir.sizes], membrane
    return [np.concatenate(layer) for layer in zip(*(c[0] for c in chunks))], membrane


def _float_rasters(model_path, dataset: Dataset, seed: int) -> tuple[list[np.ndarray], str]:
    import torch

    from ttfs_deploy.reproducible import one_thread
    from ttfs_deploy.train.lif_checkpoint import load_rate_checkpoint

    path = resolve_model(model_path)
    if path.suffix == ".nir":  # a float LIF network without a torch model: golden's float arithmetic
        ir = load_network(path)
        _check_inputs(dataset, ir.sizes, ir.rate.task)
        coding = (ir.T, ir.rate.scheme, ir.rate.max_rate)
        return simulate_lif(ir, _encode(coding, dataset.images, seed, 0))[0], ir.rate.task
    ckpt = load_rate_checkpoint(path)
    _check_inputs(dataset, ckpt.model.sizes, ckpt.model.task)
    coding = (ckpt.model.T, ckpt.scheme, ckpt.max_rate)
    rasters = []
    with one_thread():
        for start in range(0, len(dataset.images), GOLDEN_CHUNK):
            spikes = torch.from_numpy(_encode(coding, dataset.images[start : start + GOLDEN_CHUNK], seed, start))
            rasters.append([r.numpy() for r in ckpt.model.rasters(spikes)])
    return [np.concatenate(layer) for layer in zip(*rasters)], ckpt.model.task


def run_rate_target(
    model_path: str,
    target: str,
    dataset: Dataset,
    profile: str | None = None,
    early_stop: bool | None = None,
    progress: bool = False,
    calibration: str | None = None,
    calibration_samples: int | None = None,
    timeout_s: float | None = None,
    input_seed: int = 0,
    deployed: Deployed | None = None,
    lead: int | None = None,
):
    """Run a rate-coded model on ``target``: an :class:`~ttfs_deploy.pipelines.run.Outcome` whose result
    is a :class:`~ttfs_deploy.semantics.rate.RateRunResult` (classifier) or
    :class:`~ttfs_deploy.semantics.rate.ReconResult` (autoencoder), and whose ``times`` are the rasters.
    ``deployed``: the network :func:`~ttfs_deploy.compiler.pipeline.deploy` already made of the model
    (integer targets; else it is deployed here). ``lead``: spikes of lead at which the causal rule
    decides (default :data:`~ttfs_deploy.semantics.rate.DEFAULT_LEAD`); a classifier whose class is
    read from spike counts only."""
    stop_note = (
        "early stop does not apply to rate-coded networks: every sample ran its T steps "
        "(`causal` in --json is the early-stop rule a chip could apply)"
        if early_stop
        else ""
    )
    encode_rate(dataset.images[:0], 2, seed=input_seed)  # the seed is checked before anything runs
    if target == "float":
        rasters, task = _float_rasters(model_path, dataset, input_seed)
        _check_lead(model_path, lead, task, False)  # float networks have no integrator read-out
        ir, note, used_profile, membrane = None, "", None, None
    else:
        deployed = deployed or deploy(model_path, target, profile, calibration=None)
        ir, used_profile = deployed.ir, deployed.profile
        note = deployed.note
        _check_inputs(dataset, ir.sizes, ir.rate.task)
        _check_lead(model_path, lead, ir.rate.task, ir.chain()[-1].integrator)
        rasters, membrane = rate_rasters(target, ir, dataset.images, input_seed, progress, timeout_s)
        task = ir.rate.task
    if task == "autoencode":
        result = reconstruct(rasters, dataset.images, target, input_seed)
    else:
        lead = DEFAULT_LEAD if lead is None else lead
        result = classify_rate(rasters, dataset.labels, target, input_seed, lead, membrane=membrane)
    return RateOutcome(result, rasters, ir, False, "; ".join(x for x in (note, stop_note) if x), used_profile)


def _check_lead(model_path: str, lead: int | None, task: str, integrator: bool) -> None:
    """``--lead`` needs a classifier that counts output spikes: one line otherwise, before the run."""
    if lead is not None and (task == "autoencode" or integrator):
        what = "an autoencoder" if task == "autoencode" else "a classifier read from an integrator's membrane"
        raise UsageError(f"--lead is for classifiers that count output spikes; {model_path} is {what}")


def _check_inputs(dataset: Dataset, sizes: list[int], task: str) -> None:
    if task == "classify":
        check_labels(dataset, sizes[-1])
    if dataset.images.shape[1] != sizes[0]:
        raise IRError(
            f"data {dataset.name} has {dataset.images.shape[1]} pixels per image but the model expects {sizes[0]} inputs"
        )
