"""Network intermediate representation: a typed graph of named layers (NumPy + networkx only).

A :class:`NetworkIR` is plain, immutable data with no back-references: an :class:`InputLayer`, a chain
of :class:`FireOnceLayer` s connected by ``(src, dst)`` name edges, and the coding parameters every
backend needs (``T``, ``zero_policy``, ``image_shape``, ``delay``). ``quant is None`` marks a float
network; a quantized one carries ``quant = {"profile", "weight_bits", "membrane_bits",
"weight_exponents", ...}`` and integer weights (int32 mantissas) and thresholds.

Quantized arithmetic (what :mod:`ttfs_deploy.semantics.fire_once` and Lava's ``fixed_pt`` models
compute): layer ``k``'s synaptic input in a step is ``shift(sum of the mantissas of the inputs that
spike in that step, weight_exponents[k])`` with ``shift(x, e) = x << e`` for ``e >= 0`` and an
arithmetic (flooring) ``x >> -e`` otherwise, added to a signed ``membrane_bits`` membrane that
saturates; thresholds are in the same (shifted) units as the membrane.

Files (``save_ir`` / ``load_ir``, suffix ``.ttfs``): one ``np.savez_compressed`` archive with arrays
``weight_0``, ``weight_1``, ... (one per fire-once layer, in chain order) and ``metadata``, a uint8
array holding UTF-8 JSON ``{"format": "ttfs-deploy/ir", "version": 1, "layers": [...], "edges",
"T", "zero_policy", "image_shape", "delay", "quant", "meta"}``. Loading never unpickles and turns
every malformed file into one :class:`IRError` naming the path.
"""

from __future__ import annotations

import json
import math
import os
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from numbers import Integral, Real
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np

from ttfs_deploy.errors import TtfsError, short
from ttfs_deploy.fileio import atomic_write, read_npz
from ttfs_deploy.limits import MAX_LAYER_SIZE, MAX_T

__all__ = [
    "FORMAT",
    "VERSION",
    "ZERO_POLICIES",
    "IRError",
    "InputLayer",
    "FireOnceLayer",
    "NetworkIR",
    "save_ir",
    "load_ir",
    "from_checkpoint_weights",
]

FORMAT = "ttfs-deploy/ir"
VERSION = 1
ZERO_POLICIES = ("silent", "last")  # same as ttfs_deploy.coding (kept here so ir.py stays dependency-free)
_QUANT_KEYS = ("profile", "weight_bits", "membrane_bits", "weight_exponents")
_MAX_METADATA_BYTES = 64 * 1024 * 1024
_WEIGHT_NAME = re.compile(r"weight_[0-9]{1,3}")


class IRError(TtfsError):
    """Invalid network IR or unreadable/malformed IR file; the message is one line meant for users."""


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def _frozen_array(values: Any, name: str) -> np.ndarray:
    array = np.asarray(values)
    if array.dtype.kind in "iu":
        if array.size and (array.min() < np.iinfo(np.int32).min or array.max() > np.iinfo(np.int32).max):
            raise IRError(f"layer {name!r}: integer weights must fit in int32")
        array = array.astype(np.int32)
    elif array.dtype.kind in "fb":
        array = array.astype(np.float64)
    else:
        raise IRError(f"layer {name!r}: weights must be a numeric array, got dtype {array.dtype}")
    array = array.copy()
    array.setflags(write=False)
    return array


@dataclass(frozen=True, eq=False)
class InputLayer:
    """The network input: ``size`` spike-time channels (one per pixel).

    Parameters
    ----------
    name : str
        Unique layer name.
    size : int
        Number of input channels.
    """

    name: str
    size: int

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise IRError(f"layer name must be a non-empty string, got {self.name!r}")
        if isinstance(self.size, bool) or not isinstance(self.size, Integral) or not 1 <= self.size <= MAX_LAYER_SIZE:
            raise IRError(
                f"input layer {self.name!r}: size must be an integer in 1..{MAX_LAYER_SIZE}, got {short(self.size)}"
            )
        object.__setattr__(self, "size", int(self.size))


@dataclass(frozen=True, eq=False)
class FireOnceLayer:
    """A fully connected layer of fire-once integrate-and-fire neurons.

    Parameters
    ----------
    name : str
        Unique layer name.
    weight : np.ndarray
        ``(n_out, n_in)`` weights: float64 for a float network, int32 mantissas when quantized.
        Stored as a read-only copy.
    threshold : float or int
        Firing threshold (a neuron fires when its potential is strictly greater), ``>= 0``.
    """

    name: str
    weight: np.ndarray
    threshold: float | int

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise IRError(f"layer name must be a non-empty string, got {self.name!r}")
        weight = _frozen_array(self.weight, self.name)
        if weight.ndim != 2 or 0 in weight.shape:
            raise IRError(
                f"layer {self.name!r}: weight must be a non-empty 2-D (n_out, n_in) array, got shape {weight.shape}"
            )
        if weight.dtype.kind == "f" and not np.isfinite(weight).all():
            raise IRError(f"layer {self.name!r}: weights must be finite")
        threshold = self.threshold
        if isinstance(threshold, bool) or not isinstance(threshold, Real):
            raise IRError(f"layer {self.name!r}: threshold must be a number, got {threshold!r}")
        threshold = int(threshold) if isinstance(threshold, Integral) else float(threshold)
        if not math.isfinite(threshold) or threshold < 0:
            raise IRError(f"layer {self.name!r}: threshold must be finite and >= 0, got {threshold!r}")
        object.__setattr__(self, "weight", weight)
        object.__setattr__(self, "threshold", threshold)

    @property
    def size(self) -> int:
        """Number of neurons (``n_out``)."""
        return int(self.weight.shape[0])

    @property
    def n_in(self) -> int:
        """Number of inputs (``weight.shape[1]``)."""
        return int(self.weight.shape[1])


@dataclass(frozen=True, eq=False)
class NetworkIR:
    """A feed-forward TTFS network: layers, name edges and coding parameters.

    Parameters
    ----------
    layers : tuple of InputLayer / FireOnceLayer
        The layers (any order; :meth:`chain` sorts them along ``edges``).
    edges : tuple of (str, str)
        ``(src, dst)`` layer-name pairs.
    T : int
        Steps per sample; a spike time of ``T`` means no spike.
    zero_policy : str
        ``"silent"`` or ``"last"`` (see :mod:`ttfs_deploy.coding`).
    image_shape : tuple of int
        ``(height, width)`` of one input image; ``height * width`` equals the input size.
    delay : int, optional
        Steps of synaptic delay per layer that the model times include (1, as in S4NN and Lava's Dense).
    quant : dict or None, optional
        ``None`` for a float network, else at least ``profile``, ``weight_bits``, ``membrane_bits`` and
        ``weight_exponents`` (one int per fire-once layer); JSON-serialisable.
    meta : dict, optional
        Free-form JSON-serialisable provenance (checkpoint, accuracy, ...).
    """

    layers: tuple
    edges: tuple
    T: int
    zero_policy: str
    image_shape: tuple
    delay: int = 1
    quant: dict | None = None
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        layers = tuple(self.layers)
        for layer in layers:
            if not isinstance(layer, (InputLayer, FireOnceLayer)):
                raise IRError(f"layers must be InputLayer or FireOnceLayer objects, got {type(layer).__name__}")
        try:
            edges = tuple((str(src), str(dst)) for src, dst in self.edges)
        except (TypeError, ValueError):
            raise IRError(f"edges must be (src, dst) name pairs, got {self.edges!r}") from None
        for key, value in (("T", self.T), ("delay", self.delay)):
            if isinstance(value, bool) or not isinstance(value, Integral):
                raise IRError(f"{key} must be an integer, got {value!r}")
        if not 2 <= self.T <= MAX_T:
            raise IRError(f"T must be 2..{MAX_T} steps (ttfs_deploy.limits.MAX_T), got {short(self.T)}")
        if not 1 <= self.delay <= 16:
            raise IRError(f"delay must be 1..16 steps per layer, got {short(self.delay)}")
        if self.zero_policy not in ZERO_POLICIES:
            raise IRError(f"zero_policy must be one of {ZERO_POLICIES}, got {self.zero_policy!r}")
        try:
            image_shape = tuple(int(v) for v in self.image_shape)
        except (TypeError, ValueError):
            raise IRError(f"image_shape must be (height, width), got {self.image_shape!r}") from None
        if len(image_shape) != 2 or min(image_shape) < 1:
            raise IRError(f"image_shape must be two positive integers, got {self.image_shape!r}")
        if not isinstance(self.meta, dict):
            raise IRError(f"meta must be a dict, got {type(self.meta).__name__}")
        object.__setattr__(self, "layers", layers)
        object.__setattr__(self, "edges", edges)
        object.__setattr__(self, "T", int(self.T))
        object.__setattr__(self, "delay", int(self.delay))
        object.__setattr__(self, "image_shape", image_shape)
        if self.quant is not None:
            object.__setattr__(self, "quant", self._checked_quant(self.quant))

    def _checked_quant(self, quant: dict) -> dict:
        if not isinstance(quant, dict):
            raise IRError(f"quant must be a dict or None, got {type(quant).__name__}")
        missing = [key for key in _QUANT_KEYS if key not in quant]
        if missing:
            raise IRError(f"quant lacks {', '.join(missing)}")
        for key in ("weight_bits", "membrane_bits"):
            value = quant[key]
            if isinstance(value, bool) or not isinstance(value, Integral) or not 2 <= value <= 32:
                raise IRError(f"quant[{key!r}] must be an integer in 2..32, got {value!r}")
        exponents = quant["weight_exponents"]
        if not isinstance(exponents, (list, tuple)) or not all(
            isinstance(e, Integral) and not isinstance(e, bool) and -16 <= e <= 16 for e in exponents
        ):
            raise IRError(f"quant['weight_exponents'] must be a list of integers in -16..16, got {exponents!r}")
        return {
            **quant,
            "weight_bits": int(quant["weight_bits"]),
            "membrane_bits": int(quant["membrane_bits"]),
            "weight_exponents": [int(e) for e in exponents],
        }

    @property
    def is_quantized(self) -> bool:
        """True when the network holds integer weights and thresholds (``quant`` is set)."""
        return self.quant is not None

    def graph(self) -> nx.DiGraph:
        """A new ``networkx.DiGraph``: one node per layer name (attribute ``"layer"``), one edge per pair."""
        graph = nx.DiGraph()
        for layer in self.layers:
            if layer.name in graph:
                raise IRError(f"duplicate layer name {layer.name!r}")
            graph.add_node(layer.name, layer=layer)
        for src, dst in self.edges:
            for end in (src, dst):
                if end not in graph:
                    raise IRError(f"edge ({src!r}, {dst!r}) names unknown layer {end!r}")
            if graph.has_edge(src, dst):
                raise IRError(f"duplicate edge ({src!r}, {dst!r})")
            graph.add_edge(src, dst)
        return graph

    def chain(self) -> list:
        """Validate the network and return its layers in order, input first.

        Raises
        ------
        IRError
            Unless there is exactly one InputLayer, the layers form a single path from it, every
            weight's ``n_in`` equals its source's size, and (when quantized) weights and thresholds
            are integers that fit ``weight_bits`` with one exponent per fire-once layer.
        """
        graph = self.graph()
        inputs = [layer for layer in self.layers if isinstance(layer, InputLayer)]
        if len(inputs) != 1:
            raise IRError(f"a network needs exactly one InputLayer, got {len(inputs)}")
        if not nx.is_directed_acyclic_graph(graph):
            raise IRError("the layer graph has a cycle")
        order = [inputs[0]]
        while True:
            successors = list(graph.successors(order[-1].name))
            if not successors:
                break
            if len(successors) > 1:
                raise IRError(f"layer {order[-1].name!r} feeds {len(successors)} layers; only chains are supported")
            nxt = graph.nodes[successors[0]]["layer"]
            if graph.in_degree(nxt.name) != 1:
                raise IRError(f"layer {nxt.name!r} has {graph.in_degree(nxt.name)} inputs; only chains are supported")
            if nxt.n_in != order[-1].size:
                raise IRError(
                    f"layer {nxt.name!r} expects {nxt.n_in} inputs but {order[-1].name!r} has {order[-1].size} neurons"
                )
            order.append(nxt)
        if len(order) != len(self.layers):
            unreached = sorted(set(graph.nodes) - {layer.name for layer in order})
            raise IRError(f"layers not on the path from the input: {', '.join(unreached)}")
        if len(order) < 2:
            raise IRError("a network needs at least one FireOnceLayer")
        if math.prod(self.image_shape) != order[0].size:
            raise IRError(f"image_shape {self.image_shape} does not match input size {order[0].size}")
        if self.quant is not None:
            self._check_quantized(order[1:])
        return order

    def _check_quantized(self, layers: Sequence[FireOnceLayer]) -> None:
        if len(self.quant["weight_exponents"]) != len(layers):
            raise IRError(
                f"quant['weight_exponents'] has {len(self.quant['weight_exponents'])} entries "
                f"for {len(layers)} fire-once layers"
            )
        bits = self.quant["weight_bits"]
        low, high = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
        for layer in layers:
            if layer.weight.dtype != np.int32:
                raise IRError(
                    f"layer {layer.name!r}: a quantized network needs int32 weights, got {layer.weight.dtype}"
                )
            if layer.weight.min() < low or layer.weight.max() > high:
                raise IRError(
                    f"layer {layer.name!r}: weights {layer.weight.min()}..{layer.weight.max()} "
                    f"do not fit {bits} signed bits"
                )
            if not isinstance(layer.threshold, int):
                raise IRError(
                    f"layer {layer.name!r}: a quantized network needs an integer threshold, got {layer.threshold!r}"
                )
            if layer.threshold >= 1 << (self.quant["membrane_bits"] - 1):
                raise IRError(
                    f"layer {layer.name!r}: threshold {layer.threshold} does not fit "
                    f"{self.quant['membrane_bits']} membrane bits"
                )

    @property
    def sizes(self) -> list[int]:
        """Layer sizes in chain order, input first, e.g. ``[784, 400, 10]``."""
        return [layer.size for layer in self.chain()]

    def fire_once_layers(self) -> list[FireOnceLayer]:
        """The fire-once layers in chain order (validates like :meth:`chain`)."""
        return self.chain()[1:]


def from_checkpoint_weights(
    weights: Sequence[np.ndarray],
    thresholds: float | Sequence[float],
    T: int,
    zero_policy: str,
    image_shape: Sequence[int],
    meta: dict | None = None,
) -> NetworkIR:
    """Build a float :class:`NetworkIR` from per-layer weight matrices.

    Parameters
    ----------
    weights : sequence of np.ndarray
        ``(n_out, n_in)`` matrices, first layer first.
    thresholds : float or sequence of float
        One threshold for every layer, or one per layer.
    T, zero_policy, image_shape, meta
        As in :class:`NetworkIR`.

    Returns
    -------
    NetworkIR
        Layers named ``"input"``, ``"fc1"``, ``"fc2"``, ... connected in a chain (validated).
    """
    weights = [np.asarray(w, dtype=np.float64) for w in weights]
    if not weights:
        raise IRError("from_checkpoint_weights needs at least one weight matrix")
    if isinstance(thresholds, Real):
        thresholds = [thresholds] * len(weights)
    thresholds = list(thresholds)
    if len(thresholds) != len(weights):
        raise IRError(f"got {len(thresholds)} thresholds for {len(weights)} layers")
    if weights[0].ndim != 2:
        raise IRError(f"weights must be 2-D, got shape {weights[0].shape}")
    layers = [InputLayer("input", int(weights[0].shape[1]))]
    layers += [FireOnceLayer(f"fc{k + 1}", w, float(th)) for k, (w, th) in enumerate(zip(weights, thresholds))]
    edges = tuple((a.name, b.name) for a, b in zip(layers, layers[1:]))
    ir = NetworkIR(tuple(layers), edges, T, zero_policy, tuple(image_shape), meta=dict(meta or {}))
    ir.chain()
    return ir


# --- serialisation -------------------------------------------------------------------------------


def _to_metadata(ir: NetworkIR, layers: list) -> dict:
    entries = []
    weight_index = 0
    for layer in layers:
        if isinstance(layer, InputLayer):
            entries.append({"kind": "input", "name": layer.name, "size": layer.size})
        else:
            entries.append(
                {
                    "kind": "fire_once",
                    "name": layer.name,
                    "weight": f"weight_{weight_index}",
                    "threshold": layer.threshold,
                }
            )
            weight_index += 1
    return {
        "format": FORMAT,
        "version": VERSION,
        "layers": entries,
        "edges": [list(e) for e in ir.edges],
        "T": ir.T,
        "zero_policy": ir.zero_policy,
        "image_shape": list(ir.image_shape),
        "delay": ir.delay,
        "quant": ir.quant,
        "meta": ir.meta,
    }


def save_ir(ir: NetworkIR, path: str | os.PathLike) -> Path:
    """Validate ``ir`` and write it to ``path`` atomically (temp file in the same folder + rename).

    Returns the path written. Raises :class:`IRError` when the IR is invalid or ``quant``/``meta``
    are not JSON-serialisable; ``OSError`` when the folder is not writable.
    """
    path = Path(path)
    layers = ir.chain()
    try:
        metadata = json.dumps(_to_metadata(ir, layers), allow_nan=False).encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise IRError(f"cannot save {path}: quant/meta must be JSON-serialisable ({_one_line(exc)})") from None
    arrays = {"metadata": np.frombuffer(metadata, dtype=np.uint8)}
    for k, layer in enumerate(layers[1:]):
        arrays[f"weight_{k}"] = np.ascontiguousarray(layer.weight)
    return atomic_write(path, lambda stream: np.savez_compressed(stream, **arrays))


def _expect(condition: bool, message: str) -> None:
    if not condition:
        raise IRError(message)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _from_metadata(metadata: dict, arrays: dict[str, np.ndarray]) -> NetworkIR:
    _expect(isinstance(metadata, dict), "metadata is not a JSON object")
    _expect(metadata.get("format") == FORMAT, f"not a {FORMAT} file (format {metadata.get('format')!r})")
    _expect(
        metadata.get("version") == VERSION,
        f"unsupported {FORMAT} version {metadata.get('version')!r} (this reader knows {VERSION})",
    )
    missing = [
        k for k in ("layers", "edges", "T", "zero_policy", "image_shape", "delay", "quant", "meta") if k not in metadata
    ]
    _expect(not missing, f"metadata lacks {', '.join(missing)}")
    _expect(isinstance(metadata["layers"], list), "metadata 'layers' must be a list")
    layers = []
    for entry in metadata["layers"]:
        _expect(isinstance(entry, dict), "each layer entry must be an object")
        kind, name = entry.get("kind"), entry.get("name")
        _expect(isinstance(name, str), f"layer entry without a string name: {entry!r}")
        if kind == "input":
            _expect(_is_int(entry.get("size")), f"input layer {name!r} needs an integer size")
            layers.append(InputLayer(name, entry["size"]))
        elif kind == "fire_once":
            key = entry.get("weight")
            _expect(isinstance(key, str) and key in arrays, f"layer {name!r}: weight array {key!r} missing")
            threshold = entry.get("threshold")
            _expect(
                isinstance(threshold, (int, float)) and not isinstance(threshold, bool),
                f"layer {name!r}: threshold must be a number",
            )
            weight = arrays[key]
            _expect(weight.dtype.kind in "iuf", f"layer {name!r}: weight dtype {weight.dtype} is not numeric")
            layers.append(FireOnceLayer(name, weight, threshold))
        else:
            raise IRError(f"unknown layer kind {kind!r}")
    edges = metadata["edges"]
    _expect(
        isinstance(edges, list)
        and all(isinstance(e, list) and len(e) == 2 and all(isinstance(x, str) for x in e) for e in edges),
        "metadata 'edges' must be a list of [src, dst] names",
    )
    for key in ("T", "delay"):
        _expect(_is_int(metadata[key]), f"metadata {key!r} must be an integer")
    _expect(
        isinstance(metadata["image_shape"], list) and all(_is_int(v) for v in metadata["image_shape"]),
        "metadata 'image_shape' must be a list of integers",
    )
    _expect(
        metadata["quant"] is None or isinstance(metadata["quant"], dict), "metadata 'quant' must be an object or null"
    )
    _expect(isinstance(metadata["meta"], dict), "metadata 'meta' must be an object")
    ir = NetworkIR(
        tuple(layers),
        tuple(tuple(e) for e in edges),
        metadata["T"],
        metadata["zero_policy"],
        tuple(metadata["image_shape"]),
        metadata["delay"],
        metadata["quant"],
        metadata["meta"],
    )
    ir.chain()
    return ir


def load_ir(path: str | os.PathLike) -> NetworkIR:
    """Read a ``.ttfs`` file written by :func:`save_ir`.

    Never unpickles (``allow_pickle=False``). Raises :class:`IRError` (one line, naming ``path``)
    for a missing, truncated, foreign or otherwise malformed file.
    """
    path = Path(path)
    # bounded: a regular file, members named, sized and typed by their headers before loading
    arrays = read_npz(path, IRError, lambda name: name == "metadata" or _WEIGHT_NAME.fullmatch(name), "IR file")
    try:
        if "metadata" not in arrays:
            raise IRError("no 'metadata' entry")
        for name, value in arrays.items():
            _expect(isinstance(value, np.ndarray), f"entry {name!r} is not an array")
        raw = arrays.pop("metadata")
        _expect(raw.dtype == np.uint8 and raw.ndim == 1, "metadata entry is not a uint8 byte array")
        _expect(raw.size <= _MAX_METADATA_BYTES, "metadata entry is too large")
        metadata = json.loads(raw.tobytes().decode("utf-8"))
        return _from_metadata(metadata, arrays)
    except IRError as exc:
        raise IRError(f"{path}: invalid IR file: {_one_line(exc)}") from None
    except (
        ValueError,
        OSError,
        EOFError,
        KeyError,
        zipfile.BadZipFile,
        UnicodeDecodeError,
        TypeError,
        RecursionError,
        OverflowError,
        MemoryError,
    ) as exc:
        raise IRError(f"{path}: not a readable {FORMAT} file ({type(exc).__name__}: {_one_line(exc)[:200]})") from None
