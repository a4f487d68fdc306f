"""checkpoint → float IR → quantized IR → mapped artifact: the ``ttfs-deploy compile`` pipeline.

The only torch-touching step is reading the checkpoint; everything after is NumPy data
(:class:`ttfs_deploy.ir.NetworkIR`), which every backend consumes.
"""
from __future__ import annotations

import pathlib
from dataclasses import dataclass, replace

import numpy as np

from .coding import encode_ttfs
from .hardware import HardwareProfile, load_profile
from .ir import IRError, NetworkIR, from_checkpoint_weights, load_ir
from .mapping import Placement, check
from .quantize import QuantReport, quantize

__all__ = ["TARGETS", "DEFAULT_PROFILE", "CompileResult", "load_network", "compile_network"]

TARGETS = ("golden", "loihi-sim", "loihi-hw")
DEFAULT_PROFILE = "loihi2"


@dataclass(frozen=True)
class CompileResult:
    """A compiled network plus what the compiler decided and measured."""

    ir: NetworkIR
    target: str
    profile: HardwareProfile
    placement: Placement
    quant: QuantReport


def load_network(path: str | pathlib.Path) -> NetworkIR:
    """Read a checkpoint (``.pt``) as a float IR, or a compiled artifact (``.ttfs``) as it is.

    Raises CheckpointError / IRError (one line) on a bad file.
    """
    path = pathlib.Path(path)
    if path.suffix == ".ttfs":
        return load_ir(path)
    from .checkpoint import load_checkpoint  # torch is needed only here

    ckpt = load_checkpoint(path)
    weights = [w.detach().double().numpy() for w in ckpt.model.weights]
    ir = from_checkpoint_weights(weights, ckpt.model.thresholds, ckpt.T, ckpt.zero_policy, ckpt.image_shape)
    return ir


def compile_network(ir: NetworkIR, target: str, profile_name: str = DEFAULT_PROFILE,
                    calibration_images: np.ndarray | None = None,
                    calibration_labels: np.ndarray | None = None) -> CompileResult:
    """Quantize ``ir`` under the profile, map it onto cores and check every limit.

    Raises QuantizationError / MappingError / ProfileError with a one-line message when the network
    does not fit. Calibration images (uint8, (n, pixels)) choose the clipping levels and measure the
    float → integer accuracy change.
    """
    if target not in TARGETS:
        raise ValueError(f"unknown target {target!r}; available: {', '.join(TARGETS)}")
    if ir.is_quantized:
        raise IRError("this artifact is already compiled; compile the checkpoint (.pt) instead")
    profile = load_profile(profile_name)
    calibration = None
    if calibration_images is not None:
        calibration = (encode_ttfs(calibration_images, ir.T, ir.zero_policy), calibration_labels)
    quantized, report = quantize(ir, profile, calibration)
    quantized = replace(quantized, meta={**quantized.meta, "target": target})
    placement = check(quantized, profile)
    return CompileResult(quantized, target, profile, placement, report)
