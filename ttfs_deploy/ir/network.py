"""The network graph: :class:`NetworkIR` (layers, name edges, coding) and its construction from weights."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from numbers import Integral, Real

import networkx as nx
import numpy as np

from ttfs_deploy.errors import short
from ttfs_deploy.ir.layers import FireOnceLayer, InputLayer, IRError, QuantSpec
from ttfs_deploy.ir.lif import LifLayer, RateCoding, check_lif_float, check_lif_quantized
from ttfs_deploy.limits import MAX_LAYER_SIZE, MAX_T

__all__ = ["ZERO_POLICIES", "NetworkIR", "from_checkpoint_weights", "layer_sizes"]

ZERO_POLICIES = ("silent", "last")  # same as ttfs_deploy.coding (kept here so the IR stays dependency-free)


READOUTS = ("first_spike", "membrane")


def layer_sizes(value) -> list[int] | None:
    """``value`` when it is a list of at least two layer sizes (integers in 1..MAX_LAYER_SIZE, not
    booleans), else None. ``meta["ann_sizes"]`` (the ANN a converted network came from) is read
    through it, since meta is free-form JSON."""
    ok = isinstance(value, list) and len(value) >= 2
    ok = ok and all(isinstance(v, int) and not isinstance(v, bool) and 0 < v <= MAX_LAYER_SIZE for v in value)
    return [int(v) for v in value] if ok else None


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
    quant : QuantSpec or None, optional
        ``None`` for a float network, else the integer arithmetic (:class:`QuantSpec`; a dict with its
        fields is converted).
    meta : dict, optional
        Free-form JSON-serialisable provenance (checkpoint, accuracy, ...).
    rate : RateCoding or None, optional
        Set for a network of :class:`~ttfs_deploy.ir.lif.LifLayer` s (rate coding; ``zero_policy`` is
        then unused), ``None`` for a fire-once TTFS network. A network holds one neuron kind.
    """

    layers: tuple
    edges: tuple
    T: int
    zero_policy: str
    image_shape: tuple
    delay: int = 1
    quant: QuantSpec | None = None
    meta: dict = field(default_factory=dict)
    rate: RateCoding | None = None

    def __post_init__(self) -> None:
        layers = tuple(self.layers)
        for layer in layers:
            if not isinstance(layer, (InputLayer, FireOnceLayer, LifLayer)):
                raise IRError(
                    f"layers must be InputLayer, FireOnceLayer or LifLayer objects, got {type(layer).__name__}"
                )
        if isinstance(self.rate, dict):
            object.__setattr__(self, "rate", RateCoding.from_dict(self.rate))
        elif self.rate is not None and not isinstance(self.rate, RateCoding):
            raise IRError(f"rate must be a RateCoding, a dict or None, got {type(self.rate).__name__}")
        kinds = {type(layer) for layer in layers} - {InputLayer}
        if LifLayer in kinds and (FireOnceLayer in kinds or self.rate is None):
            raise IRError("a network holds one neuron kind: LIF layers need rate coding and no fire-once layers")
        if FireOnceLayer in kinds and self.rate is not None:
            raise IRError("fire-once layers use TTFS coding; rate coding is for LIF networks")
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
        if isinstance(self.quant, dict):  # as stored in files and written by hand in tests
            object.__setattr__(self, "quant", QuantSpec.from_dict(self.quant))
        elif self.quant is not None and not isinstance(self.quant, QuantSpec):
            raise IRError(f"quant must be a QuantSpec, a dict or None, got {type(self.quant).__name__}")

    @property
    def neuron(self) -> str:
        """The network's neuron kind: ``"lif"`` (rate-coded) or ``"fire_once"`` (TTFS)."""
        return "lif" if self.rate is not None else "fire_once"

    @property
    def readout(self) -> str:
        """``"membrane"`` when the last layer is a non-spiking integrator (its final potential's arg-max is
        the class), else ``"first_spike"`` (fire-once) or the LIF read-out (spike counts)."""
        return "membrane" if getattr(self.chain()[-1], "integrator", False) else "first_spike"

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

        The network is immutable, so it is checked once (the check reads every weight: ~65 us for a
        784-400-10 network, a tenth of golden's time for 100 digits) and later calls return the order
        found then.

        Raises
        ------
        IRError
            Unless there is exactly one InputLayer, the layers form a single path from it, every
            weight's ``n_in`` equals its source's size, and (when quantized) weights and thresholds
            are integers that fit ``weight_bits`` with one exponent per fire-once layer.
        """
        checked = self.__dict__.get("_chain")
        if checked is None:
            checked = tuple(self._checked_chain())
            object.__setattr__(self, "_chain", checked)  # not a field: equality and files ignore it
        return list(checked)

    def _checked_chain(self) -> list:
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
        readouts = [layer.name for layer in order[1:-1] if getattr(layer, "integrator", False)]
        if readouts:
            raise IRError(
                f"layer {readouts[0]!r}: an integrator read-out (a layer without spikes) must be the last layer"
            )
        if math.prod(self.image_shape) != order[0].size:
            raise IRError(f"image_shape {self.image_shape} does not match input size {order[0].size}")
        if self.quant is not None:
            self._check_quantized(order[1:])
        for layer in order[1:]:
            if isinstance(layer, LifLayer):
                (check_lif_float if self.quant is None else check_lif_quantized)(layer)
        return order

    def _check_quantized(self, layers: Sequence[FireOnceLayer]) -> None:
        if len(self.quant.weight_exponents) != len(layers):
            raise IRError(
                f"quant['weight_exponents'] has {len(self.quant.weight_exponents)} entries "
                f"for {len(layers)} fire-once layers"
            )
        bits = self.quant.weight_bits
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
            if isinstance(layer, LifLayer):
                continue  # checked by check_lif_quantized
            if not isinstance(layer.threshold, int):
                raise IRError(
                    f"layer {layer.name!r}: a quantized network needs an integer threshold, got {layer.threshold!r}"
                )
            if layer.threshold >= 1 << (self.quant.membrane_bits - 1):
                raise IRError(
                    f"layer {layer.name!r}: threshold {layer.threshold} does not fit "
                    f"{self.quant.membrane_bits} membrane bits"
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
    readout: str = "first_spike",
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
    readout : str
        ``"first_spike"`` (the first output neuron to fire decides) or ``"membrane"`` (the last layer is
        a non-spiking integrator: :attr:`FireOnceLayer.integrator`).

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
    if readout not in READOUTS:
        raise IRError(f"readout must be one of {', '.join(READOUTS)}, got {short(readout)}")
    last = len(weights) - 1
    layers += [
        FireOnceLayer(
            f"fc{k + 1}",
            w,
            0.0 if k == last and readout == "membrane" else float(th),
            k == last and readout == "membrane",
        )
        for k, (w, th) in enumerate(zip(weights, thresholds))
    ]
    edges = tuple((a.name, b.name) for a, b in zip(layers, layers[1:]))
    ir = NetworkIR(tuple(layers), edges, T, zero_policy, tuple(image_shape), meta=dict(meta or {}))
    ir.chain()
    return ir


# --- serialisation -------------------------------------------------------------------------------
