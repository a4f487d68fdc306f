"""checkpoint → float IR → quantized IR → mapped artifact: the ``ttfs-deploy compile`` pipeline.

The only torch-touching step is reading the checkpoint; everything after is NumPy data
(:class:`ttfs_deploy.ir.NetworkIR`), which every backend consumes.
"""

from __future__ import annotations

import pathlib
from dataclasses import dataclass, replace

from ttfs_deploy.coding import encode_ttfs
from ttfs_deploy.compiler.hardware import HardwareProfile, load_profile
from ttfs_deploy.compiler.mapping import Placement, check
from ttfs_deploy.compiler.quantize import QuantReport, quantize
from ttfs_deploy.data import Dataset
from ttfs_deploy.ir import IRError, NetworkIR, from_checkpoint_weights, load_ir

__all__ = [
    "TARGETS",
    "DEFAULT_PROFILE",
    "CALIBRATION_DATA",
    "CALIBRATION_SAMPLES",
    "CompileResult",
    "load_network",
    "compile_network",
]

TARGETS = ("golden", "loihi-sim", "loihi-hw")
DEFAULT_PROFILE = "loihi2"
# what `compile`, the demo and the pytest plugin choose clipping on by default
CALIBRATION_DATA = "mnist-5k:train"
CALIBRATION_SAMPLES = 1000


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
    from ttfs_deploy.train.checkpoint import load_checkpoint  # torch is needed only here

    ckpt = load_checkpoint(path)
    weights = [w.detach().double().numpy() for w in ckpt.model.weights]
    ir = from_checkpoint_weights(weights, ckpt.model.thresholds, ckpt.T, ckpt.zero_policy, ckpt.image_shape)
    return ir


def compile_network(
    ir: NetworkIR,
    target: str,
    profile_name: str = DEFAULT_PROFILE,
    calibration: Dataset | None = None,
    validation: Dataset | None = None,
) -> CompileResult:
    """Quantize ``ir`` under the profile, map it onto cores and check every limit.

    Raises QuantizationError / MappingError / ProfileError with a one-line message when the network
    does not fit. ``calibration`` data choose the clipping levels; the float → integer accuracy change
    is measured on ``validation`` data.
    """
    if target not in TARGETS:
        raise ValueError(f"unknown target {target!r}; available: {', '.join(TARGETS)}")
    if ir.is_quantized:
        raise IRError("this artifact is already compiled; compile the checkpoint (.pt) instead")
    profile = load_profile(profile_name)

    def spikes(data: Dataset | None):
        if data is None:
            return None
        if data.images.shape[1] != ir.sizes[0]:
            raise IRError(
                f"data {data.name} has {data.images.shape[1]} pixels per image but the model expects "
                f"{ir.sizes[0]} inputs"
            )
        return encode_ttfs(data.images, ir.T, ir.zero_policy), data.labels

    quantized, report = quantize(ir, profile, spikes(calibration), spikes(validation))
    quantized = replace(quantized, meta={**quantized.meta, "target": target})
    placement = check(quantized, profile)
    return CompileResult(quantized, target, profile, placement, report)
