"""GAN checkpoints: a plain dict saved with ``torch.save``, read with ``torch.load(weights_only=True)``.

Layout (format ``ttfs-deploy/gan``, version 1)::

    {"format", "version", "kind": "spiking" | "ann", "digit": 0..9 or None,
     "g_arch": [100, 400, 784], "d_arch": [784, 400, 2],       # [784, 400, 1] for the ANN
     "g_thresholds": [..2], "d_thresholds": [..2], "norm": "l2",   # spiking only
     "coding": {"scheme": "ttfs-s4nn", "T", "zero_policy", "image_shape": [28, 28],
                "noise": "uniform-0-T"},
     "state_dict": {"G.weights.0", "G.weights.1", "D.weights.0", "D.weights.1"}   # spiking
                   {"G.0.weight", "G.0.bias", "G.2.weight", ..., "D.2.bias"}      # ann (nn.Sequential keys)
     "metrics": {...}, "train": {...}}

Weights are stored as float16 (half the file; the compiled generator keeps 8 bits of them) and
load as float32. The distinct ``format`` keeps the two kinds of file apart: a classifier checkpoint given to a GAN
command, or a GAN checkpoint given to a classifier command, is refused with one line. Loading reuses
the classifier loader's bounded reader and field checks (:mod:`ttfs_deploy.train.checkpoint`).
"""

from __future__ import annotations

import os
import pathlib
from dataclasses import dataclass

import torch

from ttfs_deploy.coding import ZERO_POLICIES
from ttfs_deploy.errors import short
from ttfs_deploy.fileio import atomic_write
from ttfs_deploy.limits import MAX_LAYER_SIZE, MAX_T
from ttfs_deploy.train import checkpoint as ckpt
from ttfs_deploy.train.fire_once import NORMS
from ttfs_deploy.train.gan import GanConfig, SpikingGAN
from ttfs_deploy.train.gan_ann import AnnGAN

__all__ = ["FORMAT", "VERSION", "KINDS", "GanCheckpoint", "save_gan", "load_gan"]

FORMAT = "ttfs-deploy/gan"
VERSION = 1
KINDS = ("spiking", "ann")
NOISE = "uniform-0-T"


@dataclass(frozen=True)
class GanCheckpoint:
    """A loaded GAN: the model (SpikingGAN or AnnGAN) and what the file records."""

    kind: str
    model: SpikingGAN | AnnGAN
    digit: int | None
    T: int
    zero_policy: str
    image_shape: tuple[int, int]
    noise_size: int
    metrics: dict
    train: dict


def save_gan(path, model: SpikingGAN | AnnGAN, digit: int | None, zero_policy: str, metrics: dict, train: dict):
    """Write ``model`` atomically as a ``ttfs-deploy/gan`` checkpoint."""
    spiking = isinstance(model, SpikingGAN)
    if spiking:
        g_arch, d_arch = list(model.G.sizes), list(model.D.sizes)
        state = {f"{net}.weights.{i}": w for net in ("G", "D") for i, w in enumerate(getattr(model, net).weights)}
    else:
        g_arch = [model.G[0].in_features, model.G[0].out_features, model.G[2].out_features]
        d_arch = [model.D[0].in_features, model.D[0].out_features, model.D[2].out_features]
        state = {f"G.{k}": v for k, v in model.G.state_dict().items()}
        state |= {f"D.{k}": v for k, v in model.D.state_dict().items()}
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "kind": "spiking" if spiking else "ann",
        "digit": digit,
        "g_arch": g_arch,
        "d_arch": d_arch,
        "coding": {
            "scheme": "ttfs-s4nn",
            "T": model.T,
            "zero_policy": zero_policy,
            "image_shape": [28, 28] if g_arch[-1] == 784 else [1, g_arch[-1]],
            "noise": NOISE,
        },
        "state_dict": {k: v.detach().to(torch.float16).clone() for k, v in state.items()},
        "metrics": metrics,
        "train": train,
    }
    if spiking:
        payload |= {"g_thresholds": model.G.thresholds, "d_thresholds": model.D.thresholds, "norm": model.G.norm}
    atomic_write(path, lambda stream: torch.save(payload, stream))


def _sub(state: dict, prefix: str, keys: list[str]) -> dict:
    return {key: state.get(f"{prefix}{key}") for key in keys}


def _load_spiking(payload: dict, path: pathlib.Path, g_arch, d_arch, T: int) -> SpikingGAN:
    norm = payload.get("norm", "l2")
    ckpt._require(isinstance(norm, str) and norm in NORMS, path, f"bad norm {short(norm)}")
    for key in ("g_thresholds", "d_thresholds"):
        value = payload.get(key)
        ok = isinstance(value, list) and len(value) == 2 and all(map(ckpt._threshold_ok, value))
        ckpt._require(ok, path, f"bad {key} {short(value)}: two numbers in range")
    ckpt._require(d_arch[-1] == 2, path, f"a spiking discriminator has 2 outputs, not {d_arch[-1]}")
    cfg = GanConfig(
        noise_size=g_arch[0],
        hidden=g_arch[1],
        T=T,
        g_thresholds=tuple(float(t) for t in payload["g_thresholds"]),
        d_thresholds=tuple(float(t) for t in payload["d_thresholds"]),
        norm=norm,
    )
    model = SpikingGAN(cfg, g_arch[-1])
    state = payload.get("state_dict")
    ckpt._require(isinstance(state, dict), path, "no state_dict")
    for net, arch in (("G", g_arch), ("D", d_arch)):
        weights = ckpt.checked_weights(_sub(state, f"{net}.", ["weights.0", "weights.1"]), arch, path)
        with torch.no_grad():
            for target, weight in zip(getattr(model, net).weights, weights):
                target.copy_(weight)
    return model


def _load_ann(payload: dict, path: pathlib.Path, g_arch, d_arch, T: int) -> AnnGAN:
    ckpt._require(d_arch[-1] == 1, path, f"the ANN discriminator has 1 output, not {d_arch[-1]}")
    model = AnnGAN(g_arch[0], g_arch[1], g_arch[-1], T)
    state = payload.get("state_dict")
    ckpt._require(isinstance(state, dict), path, "no state_dict")
    for net, arch in (("G", g_arch), ("D", d_arch)):
        # nn.Linear keeps (out, in) weights: the classifier's weight check applies as it is
        module = getattr(model, net)
        for layer, (n_in, n_out) in zip((0, 2), zip(arch[:-1], arch[1:])):
            weights = ckpt.checked_weights({"weights.0": state.get(f"{net}.{layer}.weight")}, [n_in, n_out], path)
            bias = ckpt.checked_weights({"weights.0": _column(state.get(f"{net}.{layer}.bias"))}, [1, n_out], path)
            with torch.no_grad():
                module[layer].weight.copy_(weights[0])
                module[layer].bias.copy_(bias[0].flatten())
    return model


def _column(value):
    return value.reshape(-1, 1) if isinstance(value, torch.Tensor) and value.ndim == 1 else value


def load_gan(path: str | os.PathLike) -> GanCheckpoint:
    """Load and validate a GAN checkpoint; raises :class:`~ttfs_deploy.train.checkpoint.CheckpointError` (one line)."""
    path = pathlib.Path(path)
    payload = ckpt.read_payload(path)
    fmt = payload.get("format") if isinstance(payload, dict) else None
    if fmt == ckpt.FORMAT:
        raise ckpt.CheckpointError(
            f"{path} is a classifier checkpoint ({ckpt.FORMAT}); GAN commands need a {FORMAT} file "
            "written by `ttfs-deploy gan train`"
        )
    ckpt._require(fmt == FORMAT, path, f"not a GAN checkpoint (format {short(fmt)}, expected {FORMAT})")
    ckpt._require(payload.get("version") == VERSION, path, f"unsupported version {short(payload.get('version'))}")
    kind = payload.get("kind")
    ckpt._require(kind in KINDS, path, f"bad kind {short(kind)}; one of {', '.join(KINDS)}")
    digit = payload.get("digit")
    ckpt._require(digit is None or (ckpt._is_int(digit) and 0 <= digit <= 9), path, f"bad digit {short(digit)}")
    g_arch, d_arch, coding = payload.get("g_arch"), payload.get("d_arch"), payload.get("coding")
    for name, arch in (("g_arch", g_arch), ("d_arch", d_arch)):
        ok = (
            isinstance(arch, list) and len(arch) == 3 and all(ckpt._is_int(n) and 0 < n <= MAX_LAYER_SIZE for n in arch)
        )
        ckpt._require(ok, path, f"bad {name} {short(arch)}: three layer sizes")
    ckpt._require(g_arch[-1] == d_arch[0], path, "G's output size is not D's input size")
    ckpt._require(
        isinstance(coding, dict)
        and ckpt._is_int(coding.get("T"))
        and 2 <= coding["T"] <= MAX_T
        and coding.get("zero_policy") in ZERO_POLICIES
        and coding.get("noise") == NOISE,
        path,
        f"bad coding parameters (T in 2..{MAX_T}, a zero policy, noise {NOISE})",
    )
    shape = coding.get("image_shape")
    ckpt._require(
        isinstance(shape, list) and len(shape) == 2 and all(ckpt._is_int(v) and v > 0 for v in shape),
        path,
        f"bad image_shape {short(shape)}",
    )
    ckpt._require(shape[0] * shape[1] == g_arch[-1], path, f"image_shape {short(shape)} does not give {g_arch[-1]}")
    metrics, train = payload.get("metrics", {}), payload.get("train", {})
    ckpt._require(isinstance(metrics, dict) and isinstance(train, dict), path, "metrics and train must be mappings")
    load = _load_spiking if kind == "spiking" else _load_ann
    model = load(payload, path, g_arch, d_arch, coding["T"])
    return GanCheckpoint(
        kind, model, digit, coding["T"], coding["zero_policy"], tuple(shape), g_arch[0], metrics, train
    )
