"""Checkpoints: a plain dict of tensors and built-in types that loads with ``weights_only=True``.

Layout (format ``ttfs-deploy/checkpoint``, version 1)::

    {"format", "version", "arch": [784, 400, 10], "thresholds": [100.0, 100.0], "norm": "l2",
     "coding": {"scheme": "ttfs-s4nn", "T": 256, "zero_policy": "silent", "image_shape": [28, 28]},
     "state_dict": {"weights.0": (400, 784) float32, "weights.1": (10, 400) float32},
     "metrics": {...}, "train": {...}}

Loading never executes code from the file and turns every malformed file into one CheckpointError.
"""

from __future__ import annotations

import os
import pathlib
from dataclasses import dataclass

import torch

from ttfs_deploy.coding import ZERO_POLICIES
from ttfs_deploy.errors import TtfsError
from ttfs_deploy.fileio import atomic_write
from ttfs_deploy.train.model import TTFSClassifier

__all__ = ["FORMAT", "VERSION", "CheckpointError", "Checkpoint", "save_checkpoint", "load_checkpoint"]

FORMAT = "ttfs-deploy/checkpoint"
VERSION = 1


class CheckpointError(TtfsError):
    """A checkpoint file that is missing, unreadable, hostile or not ours; the message is one line."""


@dataclass(frozen=True)
class Checkpoint:
    """A loaded checkpoint: the model plus its coding parameters and recorded metrics."""

    model: TTFSClassifier
    T: int
    zero_policy: str
    image_shape: tuple[int, int]
    metrics: dict
    train: dict


def save_checkpoint(
    path: str | os.PathLike,
    model: TTFSClassifier,
    zero_policy: str,
    image_shape: tuple[int, int],
    metrics: dict,
    train: dict,
) -> None:
    """Write ``model`` atomically (temporary file + rename: nothing half-written on failure)."""
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "arch": list(model.sizes),
        "thresholds": list(model.thresholds),
        "norm": model.norm,
        "coding": {"scheme": "ttfs-s4nn", "T": model.T, "zero_policy": zero_policy, "image_shape": list(image_shape)},
        "state_dict": {f"weights.{i}": w.detach().to(torch.float32).clone() for i, w in enumerate(model.weights)},
        "metrics": metrics,
        "train": train,
    }
    atomic_write(path, lambda stream: torch.save(payload, stream))


def _require(condition: bool, path: pathlib.Path, what: str) -> None:
    if not condition:
        raise CheckpointError(f"{path}: not a valid ttfs-deploy checkpoint ({what})")


def load_checkpoint(path: str | os.PathLike) -> Checkpoint:
    """Load and validate a checkpoint; raises :class:`CheckpointError` with one clear line."""
    path = pathlib.Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such file")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many types for truncated, foreign or hostile files
        reason = (
            "it contains code or objects that are not plain data"
            if "Unpickl" in type(err).__name__ or "weights_only" in str(err)
            else "file is truncated or not a PyTorch file"
        )
        raise CheckpointError(f"{path}: cannot load checkpoint: {reason}") from None
    _require(isinstance(payload, dict) and payload.get("format") == FORMAT, path, "missing format marker")
    _require(payload.get("version") == VERSION, path, f"unsupported version {payload.get('version')!r}")
    arch, coding, state = payload.get("arch"), payload.get("coding"), payload.get("state_dict")
    _require(
        isinstance(arch, list) and len(arch) >= 2 and all(isinstance(n, int) and n > 0 for n in arch), path, "bad arch"
    )
    _require(
        isinstance(coding, dict)
        and isinstance(coding.get("T"), int)
        and coding["T"] >= 2
        and coding.get("zero_policy") in ZERO_POLICIES,
        path,
        "bad coding parameters",
    )
    thresholds = payload.get("thresholds")
    _require(isinstance(thresholds, list) and len(thresholds) == len(arch) - 1, path, "bad thresholds")
    _require(isinstance(state, dict), path, "no state_dict")
    model = TTFSClassifier(arch, thresholds=thresholds, T=coding["T"], norm=payload.get("norm", "l2"))
    for i, (n_in, n_out) in enumerate(zip(arch[:-1], arch[1:])):
        weight = state.get(f"weights.{i}")
        _require(
            isinstance(weight, torch.Tensor) and tuple(weight.shape) == (n_out, n_in),
            path,
            f"weights.{i} should be a {n_out}x{n_in} tensor",
        )
        _require(bool(torch.isfinite(weight).all()), path, f"weights.{i} holds NaN or infinite values")
        with torch.no_grad():
            model.weights[i].copy_(weight)
    shape = coding.get("image_shape") or [arch[0], 1]
    return Checkpoint(
        model=model,
        T=coding["T"],
        zero_policy=coding["zero_policy"],
        image_shape=(int(shape[0]), int(shape[1])),
        metrics=payload.get("metrics", {}),
        train=payload.get("train", {}),
    )
