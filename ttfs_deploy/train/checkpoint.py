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
import warnings
import zipfile
from dataclasses import dataclass

import torch

from ttfs_deploy.coding import ZERO_POLICIES
from ttfs_deploy.errors import TtfsError, short
from ttfs_deploy.fileio import atomic_write, regular_file
from ttfs_deploy.ir.network import READOUTS
from ttfs_deploy.limits import MAX_CHECKPOINT_BYTES, MAX_LAYER_SIZE, MAX_LAYERS, MAX_T, MAX_THRESHOLD, MAX_WEIGHTS
from ttfs_deploy.train.fire_once import NORMS
from ttfs_deploy.train.model import TTFSClassifier

__all__ = [
    "FORMAT",
    "VERSION",
    "CheckpointError",
    "PlainStateDictError",
    "is_plain_state_dict",
    "Checkpoint",
    "save_checkpoint",
    "load_checkpoint",
    "read_payload",
    "checked_weights",
]

FORMAT = "ttfs-deploy/checkpoint"
VERSION = 1


class CheckpointError(TtfsError):
    """A checkpoint file that is missing, unreadable, hostile or not ours; the message is one line."""


class PlainStateDictError(CheckpointError):
    """The file is a plain PyTorch state_dict, not a ttfs-deploy checkpoint: ``convert`` (or a command
    that converts it on the fly) takes it."""


def is_plain_state_dict(payload) -> bool:
    """True for a loaded payload that is a plain PyTorch state_dict: a non-empty dict of tensors, or one
    under ``"state_dict"``, without ttfs-deploy's format marker."""
    if not isinstance(payload, dict) or "format" in payload:
        return False
    state = payload.get("state_dict", payload)
    return isinstance(state, dict) and bool(state) and all(isinstance(v, torch.Tensor) for v in state.values())


@dataclass(frozen=True)
class Checkpoint:
    """A loaded checkpoint: the model plus its coding parameters and recorded metrics."""

    model: TTFSClassifier
    T: int
    zero_policy: str
    image_shape: tuple[int, int]
    metrics: dict
    train: dict
    readout: str = "first_spike"  # "membrane": the last layer is a non-spiking integrator (NetworkIR.readout)


def save_checkpoint(
    path: str | os.PathLike,
    model: TTFSClassifier,
    zero_policy: str,
    image_shape: tuple[int, int],
    metrics: dict,
    train: dict,
    readout: str = "first_spike",
) -> None:
    """Write ``model`` atomically (temporary file + rename: nothing half-written on failure).

    ``readout="membrane"`` marks the last layer as a non-spiking integrator (``ttfs-deploy convert``);
    first-spike checkpoints do not store the field, so their files are unchanged."""
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
        **({"readout": readout} if readout != "first_spike" else {}),
    }
    atomic_write(path, lambda stream: torch.save(payload, stream))


def _require(condition: bool, path: pathlib.Path, what: str) -> None:
    if not condition:
        raise CheckpointError(f"{path}: not a valid ttfs-deploy checkpoint ({what})")


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _threshold_ok(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= MAX_THRESHOLD


def read_payload(path: pathlib.Path) -> dict:
    """``torch.load(weights_only=True)`` of a regular, size-capped zip file whose members are declared sane."""
    regular_file(path, MAX_CHECKPOINT_BYTES, CheckpointError, "checkpoint")
    try:
        with zipfile.ZipFile(path) as archive:  # torch.save's format; members checked before torch reads them
            declared = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise CheckpointError(f"{path}: cannot load checkpoint: file is truncated or not a PyTorch file") from None
    if declared > MAX_CHECKPOINT_BYTES:
        raise CheckpointError(f"{path}: checkpoint members claim {declared} bytes (limit {MAX_CHECKPOINT_BYTES})")
    try:
        with warnings.catch_warnings():  # torch warns about odd pickle protocols; the error below is the one line
            warnings.simplefilter("ignore")
            return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many types for truncated, foreign or hostile files
        reason = (
            "it contains code or objects that are not plain data"
            if "Unpickl" in type(err).__name__ or "weights_only" in str(err)
            else "file is truncated or not a PyTorch file"
        )
        raise CheckpointError(f"{path}: cannot load checkpoint: {reason}") from None


def checked_weights(state, arch: list[int], path: pathlib.Path) -> list[torch.Tensor]:
    """The ``weights.k`` tensors of a state dict, each checked (dense, real, finite, float32 range) against
    the ``(arch[k + 1], arch[k])`` shape before it is used; raises :class:`CheckpointError`."""
    _require(isinstance(state, dict), path, "no state_dict")
    weights = []
    for i, (n_in, n_out) in enumerate(zip(arch[:-1], arch[1:])):
        weight = state.get(f"weights.{i}")
        _require(
            isinstance(weight, torch.Tensor)
            and weight.layout == torch.strided
            and tuple(weight.shape) == (n_out, n_in),
            path,
            f"weights.{i} should be a dense {n_out}x{n_in} tensor",
        )
        _require(weight.is_floating_point(), path, f"weights.{i} holds {weight.dtype} values, not real numbers")
        weight = weight.detach()
        finite = bool(torch.isfinite(weight).all()) and float(weight.abs().max()) <= torch.finfo(torch.float32).max
        _require(finite, path, f"weights.{i} holds NaN, infinite or float32-overflowing values")
        weights.append(weight.to(torch.float32))
    return weights


def load_checkpoint(path: str | os.PathLike, payload: dict | None = None) -> Checkpoint:
    """Load and validate a checkpoint; raises :class:`CheckpointError` with one clear line
    (:class:`PlainStateDictError` for a plain PyTorch state_dict).

    Every field is checked (types, finiteness, ranges against :mod:`ttfs_deploy.limits`, tensor
    shapes against ``arch``) before the model is allocated. ``payload``: the file's contents when the
    caller has already read them with :func:`read_payload` (the file is then not read again).
    """
    path = pathlib.Path(path)
    payload = read_payload(path) if payload is None else payload
    if isinstance(payload, dict) and payload.get("format") == "ttfs-deploy/gan":  # train/gan_checkpoint.py
        raise CheckpointError(f"{path} is a GAN checkpoint, not a classifier; use `ttfs-deploy gan sample|profile`")
    if isinstance(payload, dict) and payload.get("format") == "ttfs-deploy/lif-checkpoint":  # train/lif_checkpoint.py
        raise CheckpointError(f"{path} is a rate-coded LIF checkpoint; this needs a TTFS (fire-once) checkpoint")
    if is_plain_state_dict(payload):
        raise PlainStateDictError(
            f"{path} is a plain PyTorch state_dict, not a ttfs-deploy checkpoint; convert a ReLU MLP with "
            "`ttfs-deploy convert FILE --arch IN-H-OUT --calib-data SPEC -o model.pt`"
        )
    _require(isinstance(payload, dict) and payload.get("format") == FORMAT, path, "missing format marker")
    _require(payload.get("version") == VERSION, path, f"unsupported version {short(payload.get('version'))}")
    arch, coding = payload.get("arch"), payload.get("coding")
    _require(
        isinstance(arch, list)
        and 2 <= len(arch) <= MAX_LAYERS
        and all(_is_int(n) and 0 < n <= MAX_LAYER_SIZE for n in arch),
        path,
        f"bad arch {short(arch)}: 2..{MAX_LAYERS} layers of 1..{MAX_LAYER_SIZE} neurons",
    )
    _require(sum(a * b for a, b in zip(arch[:-1], arch[1:])) <= MAX_WEIGHTS, path, "arch has too many weights")
    _require(
        isinstance(coding, dict)
        and _is_int(coding.get("T"))
        and 2 <= coding["T"] <= MAX_T
        and coding.get("zero_policy") in ZERO_POLICIES,
        path,
        f"bad coding parameters (T must be an integer in 2..{MAX_T})",
    )
    thresholds = payload.get("thresholds")
    _require(
        isinstance(thresholds, list) and len(thresholds) == len(arch) - 1 and all(map(_threshold_ok, thresholds)),
        path,
        f"bad thresholds {short(thresholds)}: one number in 0..{MAX_THRESHOLD:g} per layer",
    )
    norm = payload.get("norm", "l2")
    _require(isinstance(norm, str) and norm in NORMS, path, f"bad norm {short(norm)}; one of {', '.join(NORMS)}")
    shape = coding.get("image_shape", [arch[0], 1])
    _require(
        isinstance(shape, (list, tuple)) and len(shape) == 2 and all(_is_int(v) and v > 0 for v in shape),
        path,
        f"bad image_shape {short(shape)}: two positive integers",
    )
    _require(shape[0] * shape[1] == arch[0], path, f"image_shape {short(shape)} does not give the {arch[0]} inputs")
    metrics, train = payload.get("metrics", {}), payload.get("train", {})
    _require(isinstance(metrics, dict) and isinstance(train, dict), path, "metrics and train must be mappings")
    readout = payload.get("readout", "first_spike")
    _require(readout in READOUTS, path, f"bad readout {short(readout)}; one of {', '.join(READOUTS)}")
    weights = checked_weights(payload.get("state_dict"), arch, path)
    model = TTFSClassifier(arch, thresholds=[float(t) for t in thresholds], T=coding["T"], norm=norm)
    with torch.no_grad():
        for target, weight in zip(model.weights, weights):
            target.copy_(weight)
    return Checkpoint(
        model=model,
        T=coding["T"],
        zero_policy=coding["zero_policy"],
        image_shape=(shape[0], shape[1]),
        metrics=metrics,
        train=train,
        readout=readout,
    )
