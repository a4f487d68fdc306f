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
from ttfs_deploy.data import Dataset, check_labels
from ttfs_deploy.errors import UsageError
from ttfs_deploy.ir import IRError, NetworkIR, from_checkpoint_weights, load_ir
from ttfs_deploy.ir.network import layer_sizes
from ttfs_deploy.targets import COMPILE_TARGETS

__all__ = [
    "TARGETS",
    "DEFAULT_PROFILE",
    "CALIBRATION_DATA",
    "CALIBRATION_SAMPLES",
    "CompileResult",
    "load_network",
    "compile_network",
    "Deployed",
    "deploy",
]

TARGETS = COMPILE_TARGETS  # the integer targets
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

    ``path`` may also name a shipped model (``mnist-s4nn``; see :mod:`ttfs_deploy.models`).
    Raises CheckpointError / IRError (one line) on a bad file.
    """
    from ttfs_deploy.models import resolve_model

    path = resolve_model(path)
    if path.suffix == ".ttfs":
        return load_ir(path)
    if path.suffix == ".nir":  # NIR graph (ttfs_deploy.interop.nir_io): a float network
        from ttfs_deploy.interop.nir_io import read_nir

        return read_nir(path)
    if path.suffix == ".net":  # lava-dl netx HDF5 (ttfs_deploy.interop.netx): a fixed-point LIF network
        from ttfs_deploy.interop.netx import read_netx

        return read_netx(path)
    from ttfs_deploy.train.checkpoint import load_checkpoint, read_payload  # torch is needed only here
    from ttfs_deploy.train.lif_checkpoint import is_rate_payload, load_rate_checkpoint

    payload = read_payload(path)  # read once; its format marker says which loader validates it
    if is_rate_payload(payload):
        from ttfs_deploy.compiler.lif import rate_network_ir

        return rate_network_ir(load_rate_checkpoint(path, payload))
    return checkpoint_network(load_checkpoint(path, payload))


def checkpoint_network(ckpt) -> NetworkIR:
    """The float IR of a loaded TTFS checkpoint (:class:`ttfs_deploy.train.checkpoint.Checkpoint`); a
    ``convert`` checkpoint carries its source ANN's shape into ``meta["ann_sizes"]``."""
    weights = [w.detach().double().numpy() for w in ckpt.model.weights]
    source = ckpt.train.get("converted_from", {})
    ann = layer_sizes(source.get("ann_arch")) if isinstance(source, dict) else None
    ends = [weights[0].shape[1], weights[-1].shape[0]]
    meta = {"ann_sizes": ann} if ann is not None and [ann[0], ann[-1]] == ends else {}
    return from_checkpoint_weights(
        weights, ckpt.model.thresholds, ckpt.T, ckpt.zero_policy, ckpt.image_shape, meta, readout=ckpt.readout
    )


def float_or_converted(path: pathlib.Path, calibration: str | None) -> tuple[NetworkIR, str]:
    """:func:`load_network`, except that a plain PyTorch ReLU MLP state_dict is converted on the fly
    (:func:`converted_plain`): (network, a sentence saying it was converted, or "")."""
    from ttfs_deploy.train.checkpoint import PlainStateDictError

    try:
        return load_network(path), ""
    except PlainStateDictError:
        return converted_plain(path, calibration)


def converted_plain(path: pathlib.Path, calibration: str | None) -> tuple[NetworkIR, str]:
    """A plain PyTorch ReLU MLP state_dict converted as ``ttfs-deploy convert`` does by default, calibrated
    on ``calibration`` data (:func:`ttfs_deploy.interop.convert.converted_network`); one line without data."""
    if calibration is None:
        raise UsageError(
            f"{path.name} is a plain PyTorch state_dict: converting it needs calibration data (--calibration DATA)"
        )
    from ttfs_deploy import data as data_mod
    from ttfs_deploy.interop.convert import converted_network

    return converted_network(path, data_mod.load(calibration))


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
        raise UsageError(f"cannot compile for target {target!r}; compile targets: {', '.join(TARGETS)}")
    if ir.is_quantized:
        raise IRError("this artifact is already compiled; compile the checkpoint (.pt) instead")
    if ir.neuron == "lif":
        from ttfs_deploy.compiler.lif import compile_rate

        return compile_rate(ir, target, profile_name)
    profile = load_profile(profile_name)

    def spikes(data: Dataset | None):
        if data is None:
            return None
        check_labels(data, ir.sizes[-1])
        if data.images.shape[1] != ir.sizes[0]:
            raise IRError(
                f"data {data.name} has {data.images.shape[1]} pixels per image but the model expects "
                f"{ir.sizes[0]} inputs"
            )
        return encode_ttfs(data.images, ir.T, ir.zero_policy), data.labels

    quantized, report = quantize(ir, profile, spikes(calibration), spikes(validation))
    quantized = replace(quantized, meta={**quantized.meta, "target": target})
    placement = check(quantized, profile, target)
    return CompileResult(quantized, target, profile, placement, report)


@dataclass(frozen=True)
class Deployed:
    """The integer network a command runs: from a ``.ttfs`` as stored, from a ``.pt`` as ``compile`` builds it."""

    ir: NetworkIR
    profile: str  # the hardware profile the network was compiled under (the one to price it with)
    note: str  # one true sentence on how it was obtained ("" for an artifact used as stored)
    compiled: CompileResult | None = None  # set when a checkpoint was compiled here


def deploy(
    model_path: str | pathlib.Path,
    target: str = "loihi-sim",
    profile: str | None = None,
    calibration: str | None = CALIBRATION_DATA,
    calibration_samples: int | None = CALIBRATION_SAMPLES,
) -> Deployed:
    """The one definition of "the deployed network" every command, the pytest plugin and the demo use.

    A compiled artifact (``.ttfs``) is used as stored; its own profile (``ir.quant.profile``) is
    the default. A checkpoint (``.pt``, or a shipped model's name) is compiled exactly as
    ``ttfs-deploy compile`` compiles it: clipping chosen on the first ``calibration_samples`` of
    ``calibration`` (default :data:`CALIBRATION_DATA`, :data:`CALIBRATION_SAMPLES`), under
    ``profile`` (default :data:`DEFAULT_PROFILE`). Nothing is cached on disk.
    """
    from ttfs_deploy.models import resolve_model

    path = resolve_model(model_path)
    ir, converted_note = float_or_converted(path, calibration)
    if ir.is_quantized:
        own = ir.quant.profile
        if profile is None or profile == own:
            return Deployed(ir, own, "")
        return Deployed(ir, profile, f"{path.name} was compiled under profile {own}; figures priced under {profile}")
    profile = profile or DEFAULT_PROFILE
    cal = None
    if calibration is not None and ir.neuron != "lif":  # a LIF network compiles without calibration data
        from ttfs_deploy import data as data_mod

        cal = data_mod.load(calibration).head(calibration_samples)
        if cal.images.shape[1] != ir.sizes[0]:
            raise IRError(
                f"{path.name} has {ir.sizes[0]} inputs but the calibration data {cal.name} has "
                f"{cal.images.shape[1]} pixels per image; give --calibration DATA of the model's input size "
                "(as `ttfs-deploy compile` needs)"
            )
    compiled = compile_network(ir, target if target in TARGETS else "loihi-sim", profile, cal)
    how = (
        f"clipping chosen on {compiled.quant.n_calibration} samples of {cal.name}"
        if cal is not None
        else "no calibration (no clipping)"
    )
    note = f"{path.name} compiled as `ttfs-deploy compile` does: profile {profile}, {how}"
    return Deployed(compiled.ir, profile, "; ".join(x for x in (converted_note, note) if x), compiled)
