"""lava-dl netx HDF5 files (``.net``) in and out, for dense CUBA networks fed by spikes.

What ``lava.lib.dl.netx.hdf5.Network`` builds from a file, and how it maps onto the IR (quantised LIF
layers, :mod:`ttfs_deploy.ir.lif`, which golden and loihi-sim run with Lava's own arithmetic):

* ``layer/0`` of type ``input`` with only a ``shape``: the network's input port feeds the first dense
  layer's synapses with spikes, as the IR's input layer does (the window is ``simulation/tSample``
  steps, or ``steps`` given here; images become spikes by the IR's rate coding);
* ``layer/0`` of type ``input`` with a CUBA ``neuron`` (lava-dl's default layout): netx's ``Input``
  block, LIF neurons whose synapses nothing reaches; lava-dl presents dense input through their bias
  (``net.in_layer.neuron.bias_mant``, ``bias_exp = 6``). The file does not say how images were fed in
  training, so ``input_norm = (mean, std)`` must (torchvision ``Normalize`` on pixels in 0..1); the
  input transform ``weight`` (default 64 = 1.0) and ``bias`` (default 0) come from the file. The IR
  holds it as rate scheme ``"bias"`` (:class:`~ttfs_deploy.ir.lif.BiasInput`; golden computes those
  neurons' spikes, :func:`~ttfs_deploy.semantics.lif.bias_input_raster`);
* the last ``dense`` layer without a ``neuron``: netx's non-spiking integrator (Lava's LIF with
  ``du = -1``, ``dv = 4096``, ``vth = 2^17``), an integrator read-out layer in the IR whose membrane is
  the output (arg-max of the last step's ``v`` for a classifier, docs/lif.md);
* ``dense`` layers: integer ``weight`` ``(n_out, n_in)`` (netx's ``optimize_weight_bits`` turns it
  into Lava Dense mantissas and exponent with the same sums; here: the largest exponent ``e`` that
  leaves 8-bit mantissas ``w >> e`` exact), a ``neuron`` group ``{type: CUBA, iDecay, vDecay,
  vThMant, refDelay, gradedSpike}`` and an optional ``bias``. netx makes Lava's ``LIF`` with
  ``du = iDecay - 1``, ``dv = vDecay``, ``vth = vThMant``, ``bias_mant = bias``, ``bias_exp = 6``;
  Lava's bit-accurate LIF ignores ``refDelay`` and so does the IR.

Refused, with one line naming the layer and the feature: conv, pool, recurrent (``dense_rec``),
complex, flatten or concat layers; graded spikes; synaptic delays; a dense layer without a
``neuron`` anywhere but last; per-neuron biases; ``iDecay = 0`` or ``vDecay = 4096`` in a neuron
group (outside the IR's 12-bit fields); weights that need more than 8 bits.

Export (:func:`write_netx`) writes that layout from a quantised LIF network, exactly: each weight
``q << e`` must fit netx's synapse (mixed signs: -256..254) with ``e >= 0``, the bias
``bias_mant << bias_exp`` must be a multiple of 64, and there is no refractory period. Fire-once
networks are refused: netx's CUBA neuron fires again after its reset, so the fire-once property
would be lost (``export --format nir`` keeps it).
"""

from __future__ import annotations

import io
import math
import os

import numpy as np

from ttfs_deploy.errors import short
from ttfs_deploy.fileio import atomic_write
from ttfs_deploy.interop import InteropError
from ttfs_deploy.interop.hdf5 import read_tree
from ttfs_deploy.ir import InputLayer, NetworkIR, QuantSpec
from ttfs_deploy.ir.lif import LIF_FIELD_LIMITS, BiasInput, LifLayer, RateCoding
from ttfs_deploy.limits import MAX_T

__all__ = ["read_netx", "write_netx", "NETX_BIAS_EXP", "NETX_WEIGHT_RANGE"]

NETX_BIAS_EXP = 6  # netx's get_neuron_params: bias_exp = 6
NETX_WEIGHT_RANGE = (-256, 254)  # optimize_weight_bits clips mixed-sign weights to this
PROFILE = "loihi2"


def _text(value) -> str:
    array = np.asarray(value, dtype=object).reshape(-1)
    return str(array[0]) if array.size else ""


def _int(group: dict, key: str, where: str) -> int:
    if key not in group:
        raise InteropError(f"{where}: missing {key}")
    array = np.asarray(group[key]).reshape(-1)
    if array.size != 1 or array.dtype.kind not in "biuf" or not float(array[0]).is_integer():
        raise InteropError(f"{where}: {key} must be one integer, got {short(array.tolist())}")
    return int(array[0])


def _mantissas(weight: np.ndarray, where: str) -> tuple[np.ndarray, int]:
    """8-bit mantissas and the largest exponent that reproduces integer ``weight`` exactly."""
    w = weight.astype(np.int64)
    for e in range(8, -1, -1):
        if np.all(w % (1 << e) == 0) and np.abs(w >> e).max(initial=0) <= 127 and (w >> e).min(initial=0) >= -128:
            return (w >> e).astype(np.int32), e
    raise InteropError(f"{where}: weights {w.min()}..{w.max()} need more than 8-bit mantissas")


def _neuron(group: dict, where: str) -> tuple[int, int, int]:
    """A CUBA neuron group's Lava LIF fields (du, dv, vth), within the IR's widths."""
    ntype = _text(group.get("type"))
    if ntype not in ("CUBA", "LOIHI"):
        raise InteropError(f"{where}: neuron type {short(ntype)} is not supported (CUBA only)")
    if bool(np.asarray(group.get("gradedSpike", False)).reshape(-1)[0]):
        raise InteropError(f"{where}: graded spikes are not supported (the IR's spikes are binary)")
    du, dv, vth = _int(group, "iDecay", where) - 1, _int(group, "vDecay", where), _int(group, "vThMant", where)
    for key, value in (("du (iDecay - 1)", du), ("dv (vDecay)", dv), ("vth (vThMant)", vth)):
        low, high = LIF_FIELD_LIMITS[key.split()[0]]
        if not low <= value <= high:
            raise InteropError(f"{where}: {key} = {value} is outside {low}..{high}")
    return du, dv, vth


def _bias_input(first: dict, input_norm: tuple[float, float] | None) -> BiasInput:
    if input_norm is None:
        raise InteropError(
            "layer 0: an input layer with a neuron takes images through its bias; the file does not say how "
            "they were normalised in training: give --input-norm MEAN,STD (ttfs-deploy import; 0,1 = pixels / 255)"
        )
    _, dv, vth = _neuron(first["neuron"], "layer 0")
    transform = {}
    for key in ("weight", "bias"):  # netx's create_input: int(layer['weight']) (default 64), int(layer['bias'])
        if key in first:
            value = np.asarray(first[key]).reshape(-1)
            if value.size != 1 or value.dtype.kind not in "biuf" or not np.isfinite(value[0]):
                raise InteropError(f"layer 0: input {key} must be one number, got {short(value.tolist())}")
            transform[key] = float(int(value[0]))
    mean, std = input_norm
    return BiasInput(mean, std, vth, dv, **transform)


def _dense(layer: dict, where: str, n_in: int) -> tuple[LifLayer, int]:
    kind = _text(layer.get("type"))
    if kind != "dense":
        raise InteropError(f"{where}: netx layer type {short(kind)} is not supported (dense only)")
    if "delay" in layer:
        raise InteropError(f"{where}: synaptic delays are not supported")
    weight = np.asarray(layer.get("weight"))
    if weight.dtype.kind not in "biuf" or weight.ndim != 2 or weight.shape[1] != n_in:
        raise InteropError(f"{where}: weight must be a numeric ({short('n_out')}, {n_in}) matrix, got {weight.shape}")
    if not np.all(np.isfinite(weight)) or not np.all(weight == np.round(weight)):
        raise InteropError(f"{where}: weights must be integers (netx fixed point)")
    if weight.size and (weight.min() < NETX_WEIGHT_RANGE[0] or weight.max() > 255):
        raise InteropError(
            f"{where}: weights {weight.min():g}..{weight.max():g} are outside netx's synapse range -256..255"
        )
    q, e = _mantissas(weight, where)
    integrator = "neuron" not in layer  # netx: a non-leaky integrator that never spikes
    du, dv, vth = (0, 0, 0) if integrator else _neuron(layer["neuron"], where)
    bias = 0
    if "bias" in layer:
        values = np.asarray(layer["bias"]).reshape(-1)
        if values.size and not np.all(values == values[0]):
            raise InteropError(f"{where}: per-neuron biases are not supported (the IR has one bias per layer)")
        bias = int(values[0]) if values.size else 0
    low, high = LIF_FIELD_LIMITS["bias_mant"]
    if not low <= bias <= high:
        raise InteropError(f"{where}: bias_mant = {bias} is outside {low}..{high}")
    name = f"dense{where.rsplit(' ', 1)[-1]}"
    exp = NETX_BIAS_EXP if bias else 0
    return LifLayer(name, q, vth, du, dv, bias_mant=bias, bias_exp=exp, integrator=integrator), e


def read_netx(
    path: str | os.PathLike, steps: int | None = None, input_norm: tuple[float, float] | None = None
) -> NetworkIR:
    """A netx file as a quantised LIF :class:`NetworkIR` (module doc); one :class:`InteropError` line otherwise.

    ``steps`` overrides ``simulation/tSample``; ``input_norm`` (mean, std) is needed by, and only by, an
    input layer with a neuron."""
    tree = read_tree(path, InteropError, "netx file")
    layers_group = tree.get("layer")
    if not isinstance(layers_group, dict) or not layers_group:
        raise InteropError(f"{path}: not a netx file (no 'layer' group)")
    keys = sorted(layers_group, key=lambda k: int(k) if str(k).isdigit() else -1)
    if not all(str(k).isdigit() for k in keys) or [int(k) for k in keys] != list(range(len(keys))):
        raise InteropError(f"{path}: layer groups must be named 0, 1, 2, ...")
    first, rate = layers_group[keys[0]], RateCoding()
    if _text(first.get("type")) == "input":
        if "neuron" in first:
            rate = RateCoding("bias", bias_input=_bias_input(first, input_norm))
        shape, keys = np.asarray(first.get("shape", []), dtype=np.int64).reshape(-1), keys[1:]
    else:  # lava-dl's SLAYER writes no input layer: spikes go straight into layer 0's synapses
        weight = first.get("weight")
        shape = np.asarray([np.asarray(weight).shape[-1] if weight is not None else 0])
    if shape.size == 0 or shape.min() < 1 or math.prod(shape.tolist()) > 100_000:
        raise InteropError(f"layer 0: bad input shape {short(shape.tolist())}")
    n_in = math.prod(shape.tolist())
    layers, exponents = [InputLayer("input", n_in)], []
    for key in keys:
        layer, e = _dense(layers_group[key], f"layer {key}", layers[-1].size)
        layers.append(layer)
        exponents.append(e)
    if len(layers) < 2:
        raise InteropError(f"{path}: no dense layers")
    if any(layer.integrator for layer in layers[1:-1]):
        raise InteropError(f"{path}: a dense layer without a neuron (a non-spiking integrator) must be the last layer")
    if steps is None:
        steps = _int(tree.get("simulation", {}), "tSample", f"{path}: simulation") if "simulation" in tree else None
    if steps is None or not 2 <= steps <= MAX_T:
        raise InteropError(f"{path}: the number of steps per sample (simulation/tSample or --steps) must be 2..{MAX_T}")
    dims = shape[::-1].tolist()  # netx stores (C, H, W) reversed as (W, H, C)
    side = math.isqrt(n_in)
    image_shape = (dims[1], dims[0]) if len(dims) >= 2 else (side, side) if side * side == n_in else (1, n_in)
    edges = tuple((a.name, b.name) for a, b in zip(layers, layers[1:]))
    quant = QuantSpec(PROFILE, 8, 24, tuple(exponents))
    ir = NetworkIR(
        tuple(layers),
        edges,
        steps,
        "silent",
        image_shape,
        quant=quant,
        rate=rate,
        meta={"source": f"netx {path}"},
    )
    ir.chain()
    return ir


def _write_neuron(group, i_decay: int, v_decay: int, vth: int) -> None:
    n = group.create_group("neuron")
    n.create_dataset("type", data=b"CUBA")
    for key, value in (("iDecay", i_decay), ("vDecay", v_decay), ("vThMant", vth), ("refDelay", 1)):
        n.create_dataset(key, data=int(value))
    n.create_dataset("gradedSpike", data=False)


def write_netx(ir: NetworkIR, path: str | os.PathLike) -> None:
    """Write a quantised LIF network as a netx file (module doc), atomically; refuse what netx cannot express."""
    import h5py

    if ir.neuron == "fire_once":
        raise InteropError(
            "fire-once neurons: netx's CUBA neuron fires again after its reset and lava-dl's netx Network "
            "ignores refDelay (Lava's refractory LIF is float-only), so the fire-once property would be lost "
            "(export --format nir keeps it)"
        )
    if not ir.is_quantized:
        raise InteropError("netx holds fixed-point networks: compile the model first (ttfs-deploy compile)")
    chain = ir.chain()
    low, high = NETX_WEIGHT_RANGE
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as handle:
        sim = handle.create_group("simulation")
        sim.create_dataset("Ts", data=1)
        sim.create_dataset("tSample", data=ir.T)
        group = handle.create_group("layer")
        first = group.create_group("0")
        first.create_dataset("type", data=np.array([b"input"]))
        first.create_dataset("shape", data=np.array([chain[0].size]))
        cfg = ir.rate.bias_input if ir.rate is not None else None
        if cfg is not None:  # lava-dl's dense input (mean and std are not netx's: read back with input_norm)
            first.create_dataset("weight", data=np.float32(cfg.weight))
            first.create_dataset("bias", data=np.float32(cfg.bias))
            _write_neuron(first, 4096, cfg.dv, cfg.vth)
        for k, (layer, e) in enumerate(zip(chain[1:], ir.quant.weight_exponents), start=1):
            if e < 0:
                raise InteropError(
                    f"layer {layer.name!r}: weight exponent {e} (a flooring right shift) has no netx form"
                )
            weight = layer.weight.astype(np.int64) << e
            if weight.min() < low or weight.max() > high:
                raise InteropError(
                    f"layer {layer.name!r}: weights {weight.min()}..{weight.max()} after the exponent exceed netx's {low}..{high}"
                )
            if layer.refractory:
                raise InteropError(f"layer {layer.name!r}: refractory period (Lava's bit-accurate LIF has none)")
            bias = layer.bias_mant << layer.bias_exp
            if bias % (1 << NETX_BIAS_EXP):
                raise InteropError(f"layer {layer.name!r}: bias {bias} is not a multiple of 64 (netx's bias_exp is 6)")
            g = group.create_group(str(k))
            g.create_dataset("type", data=np.array([b"dense"]))
            g.create_dataset("shape", data=np.array([layer.size]))
            g.create_dataset("weight", data=weight.astype(np.float32))
            if bias:
                g.create_dataset("bias", data=np.full(layer.size, bias >> NETX_BIAS_EXP, dtype=np.float32))
            if not layer.integrator:  # netx makes a layer without a neuron group the non-spiking integrator
                _write_neuron(g, layer.du + 1, layer.dv, layer.vth)
    atomic_write(path, lambda stream: stream.write(buffer.getvalue()))
