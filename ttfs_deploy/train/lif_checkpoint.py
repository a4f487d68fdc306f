"""Checkpoints of rate-coded LIF networks: a plain dict that loads with ``weights_only=True``.

Layout (format ``ttfs-deploy/lif-checkpoint``, version 1)::

    {"format", "version", "arch": [784, 400, 10], "neuron": {"kind": "lif", "vth": 1.0, "du": 1.0, "dv": 0.1},
     "coding": {"scheme": "poisson", "T": 15, "max_rate": 1.0, "task": "classify", "image_shape": [28, 28]},
     "state_dict": {"weights.0": (400, 784) float32, ...}, "metrics": {...}, "train": {...}}

Read through the same bounded reader as fire-once checkpoints (:mod:`ttfs_deploy.train.checkpoint`);
every malformed file is one :class:`CheckpointError` naming the field.
"""

from __future__ import annotations

import os
import pathlib
from dataclasses import dataclass

import torch

from ttfs_deploy.errors import short
from ttfs_deploy.fileio import atomic_write
from ttfs_deploy.limits import MAX_LAYER_SIZE, MAX_LAYERS, MAX_T, MAX_WEIGHTS
from ttfs_deploy.train.checkpoint import CheckpointError, checked_weights, read_payload
from ttfs_deploy.train.lif import RateNetwork

__all__ = [
    "FORMAT",
    "VERSION",
    "RateCheckpoint",
    "save_rate_checkpoint",
    "load_rate_checkpoint",
    "is_rate_payload",
]

FORMAT = "ttfs-deploy/lif-checkpoint"
VERSION = 1


@dataclass(frozen=True)
class RateCheckpoint:
    """A loaded LIF checkpoint: the model, its coding and recorded metrics."""

    model: RateNetwork
    scheme: str
    max_rate: float
    image_shape: tuple[int, int]
    metrics: dict
    train: dict


def save_rate_checkpoint(
    path: str | os.PathLike, model: RateNetwork, scheme: str, max_rate: float, image_shape, metrics: dict, train: dict
) -> None:
    """Write ``model`` atomically."""
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "arch": list(model.sizes),
        "neuron": {"kind": "lif", "vth": model.vth, "du": model.du, "dv": model.dv},
        "coding": {
            "scheme": scheme,
            "T": model.T,
            "max_rate": float(max_rate),
            "task": model.task,
            "image_shape": list(image_shape),
        },
        "state_dict": {f"weights.{i}": w.detach().to(torch.float32).clone() for i, w in enumerate(model.weights)},
        "metrics": metrics,
        "train": train,
    }
    atomic_write(path, lambda stream: torch.save(payload, stream))


def is_rate_payload(payload) -> bool:
    """True when a loaded checkpoint payload carries this format's marker."""
    return isinstance(payload, dict) and payload.get("format") == FORMAT


def _need(condition: bool, path: pathlib.Path, what: str) -> None:
    if not condition:
        raise CheckpointError(f"{path}: not a valid ttfs-deploy LIF checkpoint ({what})")


def _real(value, low: float, high: float) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and low <= value <= high


def load_rate_checkpoint(path: str | os.PathLike, payload: dict | None = None) -> RateCheckpoint:
    """Load and validate a LIF checkpoint; raises :class:`CheckpointError` with one line naming the field.
    ``payload``: the file's contents when the caller has already read them (not read again)."""
    path = pathlib.Path(path)
    payload = read_payload(path) if payload is None else payload
    _need(isinstance(payload, dict) and payload.get("format") == FORMAT, path, "missing format marker")
    _need(payload.get("version") == VERSION, path, f"unsupported version {short(payload.get('version'))}")
    arch, neuron, coding = payload.get("arch"), payload.get("neuron"), payload.get("coding")
    _need(
        isinstance(arch, list)
        and 2 <= len(arch) <= MAX_LAYERS
        and all(isinstance(n, int) and not isinstance(n, bool) and 0 < n <= MAX_LAYER_SIZE for n in arch),
        path,
        f"bad arch {short(arch)}",
    )
    _need(sum(a * b for a, b in zip(arch[:-1], arch[1:])) <= MAX_WEIGHTS, path, "arch has too many weights")
    _need(isinstance(neuron, dict) and neuron.get("kind") == "lif", path, "neuron.kind must be 'lif'")
    _need(_real(neuron.get("vth"), 1e-9, 1e12), path, "neuron.vth must be a number in 1e-9..1e12")
    for key in ("du", "dv"):
        _need(_real(neuron.get(key), 0.0, 1.0), path, f"neuron.{key} must be a number in 0..1")
    _need(isinstance(coding, dict), path, "no coding")
    T = coding.get("T")
    _need(isinstance(T, int) and not isinstance(T, bool) and 2 <= T <= MAX_T, path, f"coding.T must be in 2..{MAX_T}")
    _need(coding.get("scheme") in ("poisson", "regular"), path, "coding.scheme must be poisson or regular")
    _need(_real(coding.get("max_rate"), 1e-9, 1.0), path, "coding.max_rate must be in (0, 1]")
    _need(coding.get("task") in ("classify", "autoencode"), path, "coding.task must be classify or autoencode")
    shape = coding.get("image_shape")
    _need(
        isinstance(shape, list)
        and len(shape) == 2
        and all(isinstance(v, int) and v > 0 for v in shape)
        and shape[0] * shape[1] == arch[0],
        path,
        f"coding.image_shape {short(shape)} does not give the {arch[0]} inputs",
    )
    metrics, train = payload.get("metrics", {}), payload.get("train", {})
    _need(isinstance(metrics, dict) and isinstance(train, dict), path, "metrics and train must be mappings")
    weights = checked_weights(payload.get("state_dict"), arch, path)
    model = RateNetwork(arch, float(neuron["vth"]), float(neuron["du"]), float(neuron["dv"]), T, coding["task"])
    with torch.no_grad():
        for target, weight in zip(model.weights, weights):
            target.copy_(weight)
    return RateCheckpoint(model, coding["scheme"], float(coding["max_rate"]), (shape[0], shape[1]), metrics, train)
