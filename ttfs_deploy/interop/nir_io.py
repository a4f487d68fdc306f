"""NIR graphs (``.nir``) in and out: Input → (Linear | Affine → IF | LIF | CubaLIF)* → Output chains.

Time: NIR neurons are ODEs; the IR is discrete with one step per ``dt``. A node's ``dt`` is the graph's
``dt`` metadata if present (ttfs-deploy writes 1), else ``tau_mem / r`` — the unit-gain convention
snnTorch's ``export_to_nir`` uses (``r = tau / dt``). Forward Euler then gives Lava's LIF exactly:

* ``LIF(tau, r, v_leak, v_threshold, v_reset=0)`` → ``LifLayer(du=1, dv=dt/tau)``, input gain
  ``dt r / tau`` (1 in the unit-gain convention) folded into the weights, bias ``dv v_leak`` plus a
  uniform Affine bias;
* ``CubaLIF`` → ``LifLayer(du=dt/tau_syn, dv=dt/tau_mem)``, current gain ``dt w_in / tau_syn`` folded
  into the weights; an Affine bias would be integrated by the current, which Lava's LIF cannot do;
* ``IF(r, v_threshold, v_reset=0)`` → ``LifLayer(du=1, dv=0)`` (gain ``r dt``), or, with node
  metadata ``fire_once: True``, a :class:`~ttfs_deploy.ir.FireOnceLayer` (that property exists only
  in this metadata: a tool that drops it would run a different network).

Export writes the same nodes with ``dt = 1`` plus each layer's exact parameters in node metadata
(``ttfs_deploy_*``, preferred on import when they agree with the node's own fields) and the coding
(``T``, zero policy, rate scheme, image shape) in graph metadata; a file from elsewhere gets
:data:`DEFAULT_CODING`. Refused with one line naming the node: other node types (Conv, pooling,
Flatten, recurrent subgraphs), branches, per-neuron thresholds, decays or biases (the IR has one
per layer), ``v_reset != 0``, refractory periods, quantised networks (export the ``.pt``).
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
from ttfs_deploy.ir import FireOnceLayer, InputLayer, NetworkIR
from ttfs_deploy.ir.lif import LifLayer, RateCoding

__all__ = ["read_nir", "write_nir", "DEFAULT_CODING"]

DEFAULT_CODING = {"T": 25, "fire_once_T": 256, "zero_policy": "silent", "scheme": "poisson", "max_rate": 1.0}
_META = "ttfs_deploy_"


def _scalar(value, node: str, field: str, size: int) -> float:
    """The one value of a per-neuron field (the IR has one per layer); refuse differing values."""
    array = np.asarray(value, dtype=np.float64).reshape(-1)
    if array.size not in (1, size):
        raise InteropError(f"node {node!r}: {field} has {array.size} values for {size} neurons")
    if not (np.all(array == array[0]) or np.allclose(array, array[0], rtol=1e-12, atol=0)):
        raise InteropError(f"node {node!r}: per-neuron {field} differs between neurons (the IR has one per layer)")
    return float(array[0])


def _chain(graph) -> list[tuple[str, object]]:
    """The nodes from Input to Output along the edges; anything but a single path is refused."""
    succ: dict[str, list[str]] = {}
    for src, dst in graph.edges:
        succ.setdefault(src, []).append(dst)
    starts = [name for name, node in graph.nodes.items() if type(node).__name__ == "Input"]
    if len(starts) != 1:
        raise InteropError(f"the graph needs exactly one Input node, has {len(starts)}")
    order, seen = [starts[0]], {starts[0]}
    while succ.get(order[-1]):
        nxt = succ[order[-1]]
        if len(nxt) != 1:
            raise InteropError(f"node {order[-1]!r} feeds {len(nxt)} nodes; only chains are supported")
        if nxt[0] in seen or nxt[0] not in graph.nodes:
            raise InteropError(f"node {order[-1]!r}: edge to {short(nxt[0])} makes a cycle or names no node")
        order.append(nxt[0])
        seen.add(nxt[0])
    left = sorted(set(graph.nodes) - seen)
    if left:
        raise InteropError(f"nodes not on the path from the input: {short(left)}")
    return [(name, graph.nodes[name]) for name in order]


def _meta(node) -> dict:
    return {k: (v.item() if isinstance(v, np.generic) else v) for k, v in (node.metadata or {}).items()}


def _exact(node_name: str, meta: dict, derived: dict) -> dict:
    """Prefer the exact values ttfs-deploy wrote in metadata when they agree with the node's fields."""
    out = dict(derived)
    for key, value in derived.items():
        if _META + key not in meta:
            continue
        exact = float(meta[_META + key])
        if math.isfinite(value) and not math.isclose(exact, value, rel_tol=1e-6, abs_tol=1e-12):
            raise InteropError(f"node {node_name!r}: metadata {key} = {exact!r} disagrees with the node ({value!r})")
        out[key] = exact
    return out


def _neuron(name: str, node, weight: np.ndarray, bias: np.ndarray | None, dt_graph: float | None):
    kind, size, meta = type(node).__name__, weight.shape[0], _meta(node)
    fire_once = bool(meta.get("fire_once", False))
    if fire_once and kind != "IF":
        raise InteropError(f"node {name!r}: fire_once metadata on a {kind} node (only IF nodes fire once)")
    reset = getattr(node, "v_reset", None)
    if reset is not None and _scalar(reset, name, "v_reset", size) != 0.0:
        raise InteropError(f"node {name!r}: v_reset != 0 (Lava's LIF and the fire-once neuron reset to 0)")
    vth = _scalar(node.v_threshold, name, "v_threshold", size)
    b = 0.0 if bias is None else _scalar(bias, name + " bias", "bias", size)
    if kind == "IF":
        dt = dt_graph if dt_graph is not None else 1.0
        gain, du, dv, leak = _scalar(node.r, name, "r", size) * dt, 1.0, 0.0, 0.0
    elif kind in ("LIF", "CubaLIF"):
        tau = _scalar(node.tau if kind == "LIF" else node.tau_mem, name, "tau", size)
        r = _scalar(node.r, name, "r", size)
        dt = dt_graph if dt_graph is not None else (tau / r if r > 0 and math.isfinite(tau / r) else float("nan"))
        if not (dt > 0 and math.isfinite(dt)):
            raise InteropError(f"node {name!r}: cannot tell the time step (no graph dt, tau / r = {tau / r!r})")
        dv, gain = dt / tau, dt * r / tau if math.isfinite(tau) else 1.0
        leak = dv * _scalar(node.v_leak, name, "v_leak", size)
        du = 1.0
        if kind == "CubaLIF":
            tau_syn, w_in = _scalar(node.tau_syn, name, "tau_syn", size), _scalar(node.w_in, name, "w_in", size)
            du = dt / tau_syn
            gain *= dt * w_in / tau_syn if math.isfinite(tau_syn) else 1.0
            if b != 0.0:
                raise InteropError(f"node {name!r}: a CubaLIF fed by an Affine bias has no Lava LIF equivalent")
    else:
        raise InteropError(f"node {name!r}: NIR {kind} has no mapping (supported: IF, LIF, CubaLIF)")
    p = _exact(name, meta, {"du": du, "dv": dv, "gain": gain, "bias": leak + b, "vth": vth})
    for key in ("du", "dv"):
        if not 0.0 <= p[key] <= 1.0:
            raise InteropError(f"node {name!r}: {key} = dt/tau = {p[key]!r} is outside 0..1 (tau shorter than dt)")
    if fire_once:
        if p["bias"] != 0.0:
            raise InteropError(f"node {name!r}: a fire-once IF node with a bias (the fire-once neuron has none)")
        return FireOnceLayer(name, weight * p["gain"], p["vth"])
    return LifLayer(name, weight * p["gain"], p["vth"], p["du"], p["dv"], bias_mant=p["bias"])


def _graph_meta(graph) -> dict:
    return {k: (v.item() if isinstance(v, np.generic) else v) for k, v in (graph.metadata or {}).items()}


def read_nir(path: str | os.PathLike) -> NetworkIR:
    """A ``.nir`` file as a float :class:`NetworkIR` (module doc); one :class:`InteropError` line otherwise."""
    import nir

    tree = read_tree(path, InteropError, "NIR file")
    node = tree.get("node")
    if not isinstance(node, dict) or node.get("type") != "NIRGraph":
        raise InteropError(f"{path}: not a NIR graph file (no top-level NIRGraph node)")
    for name, sub in (node.get("nodes") or {}).items():
        kind = sub.get("type") if isinstance(sub, dict) else None
        if kind not in ("Input", "Output", "Linear", "Affine", "IF", "LIF", "CubaLIF"):
            raise InteropError(f"node {name!r}: NIR {short(kind)} has no mapping in ttfs-deploy")
    try:
        graph = nir.dict2NIRNode({**node, "type_check": False})
    except Exception as exc:  # nir raises assertions, KeyErrors, TypeErrors on malformed graphs
        raise InteropError(f"{path}: malformed NIR graph ({type(exc).__name__}: {short(str(exc))})") from None
    meta = _graph_meta(graph)
    dt = float(meta["dt"]) if "dt" in meta else None
    chain = _chain(graph)
    if type(chain[-1][1]).__name__ != "Output":
        raise InteropError(f"node {chain[-1][0]!r}: the chain must end in an Output node")
    n_in = int(np.prod(np.asarray(chain[0][1].input_type["input"]).reshape(-1)))
    layers, pending, prev = [InputLayer("input", n_in)], None, n_in
    for name, item in chain[1:-1]:
        kind = type(item).__name__
        if kind in ("Linear", "Affine"):
            if pending is not None:
                raise InteropError(f"node {name!r}: two weight nodes in a row (fold them into one first)")
            weight = np.asarray(item.weight, dtype=np.float64)
            if weight.ndim != 2 or weight.shape[1] != prev:
                raise InteropError(f"node {name!r}: weight shape {weight.shape} does not take {prev} inputs")
            pending = (weight, np.asarray(item.bias) if kind == "Affine" else None)
        elif pending is None:
            raise InteropError(f"node {name!r}: a {kind} node without a Linear/Affine node before it")
        else:
            layers.append(_neuron(name, item, pending[0], pending[1], dt))
            prev, pending = pending[0].shape[0], None
    if pending is not None or len(layers) < 2:
        raise InteropError(f"{path}: the graph must alternate weight and neuron nodes, ending in a neuron")
    fire_once = isinstance(layers[1], FireOnceLayer)
    shape = meta.get(_META + "image_shape")
    side = math.isqrt(n_in)
    image_shape = (
        tuple(int(v) for v in shape) if shape is not None else (side, side) if side * side == n_in else (1, n_in)
    )
    edges = tuple((a.name, b.name) for a, b in zip(layers, layers[1:]))
    T = int(meta.get(_META + "T", DEFAULT_CODING["fire_once_T" if fire_once else "T"]))
    rate = None
    if not fire_once:
        rate = RateCoding(
            str(meta.get(_META + "scheme", DEFAULT_CODING["scheme"])),
            float(meta.get(_META + "max_rate", DEFAULT_CODING["max_rate"])),
            str(meta.get(_META + "task", "classify")),
        )
    zero_policy = str(meta.get(_META + "zero_policy", DEFAULT_CODING["zero_policy"]))
    ir = NetworkIR(tuple(layers), edges, T, zero_policy, image_shape, rate=rate, meta={"source": f"NIR {path}"})
    ir.chain()
    return ir


def _export_layer(layer, nodes: dict, meta_common: dict) -> None:
    import nir

    n, name = layer.size, layer.name
    ones = np.ones(n)
    weight = np.asarray(layer.weight, dtype=np.float64)
    if isinstance(layer, FireOnceLayer):
        if layer.integrator:
            raise InteropError(
                f"layer {name!r}: an integrator read-out (a fire-once layer that never fires, read as a membrane) "
                "has no NIR node that keeps its meaning; export is refused"
            )
        nodes[f"{name}_w"] = nir.Linear(weight=weight)
        nodes[name] = nir.IF(
            r=ones, v_threshold=ones * layer.threshold, v_reset=0 * ones, metadata={"fire_once": True, **meta_common}
        )
        return
    if layer.refractory:
        raise InteropError(f"layer {name!r}: refractory period {layer.refractory} (NIR's LIF has none)")
    du, dv, bias, vth = float(layer.du), float(layer.dv), float(layer.bias_mant), float(layer.vth)
    exact = {_META + k: v for k, v in (("du", du), ("dv", dv), ("bias", bias), ("vth", vth), ("gain", 1.0))}
    metadata = {"fire_once": False, **exact, **meta_common}
    if du == 1.0:  # current = this step's input: IF or LIF, the bias as an Affine bias (R I with gain 1)
        nodes[f"{name}_w"] = nir.Affine(weight=weight, bias=ones * bias) if bias else nir.Linear(weight=weight)
        if dv == 0.0:
            nodes[name] = nir.IF(r=ones, v_threshold=ones * vth, v_reset=0 * ones, metadata=metadata)
        else:
            tau = 1.0 / dv
            nodes[name] = nir.LIF(
                tau=ones * tau,
                r=ones * tau,
                v_leak=0 * ones,
                v_threshold=ones * vth,
                v_reset=0 * ones,
                metadata=metadata,
            )
        return
    if bias and dv == 0.0:
        raise InteropError(f"layer {name!r}: a bias with dv = 0 and du < 1 has no NIR CubaLIF form")
    tau_mem, tau_syn = (1.0 / dv if dv else math.inf), (1.0 / du if du else math.inf)
    nodes[f"{name}_w"] = nir.Linear(weight=weight)
    nodes[name] = nir.CubaLIF(
        tau_syn=ones * tau_syn,
        tau_mem=ones * tau_mem,
        r=ones * tau_mem,
        v_leak=ones * (bias / dv if dv else 0.0),
        v_threshold=ones * vth,
        v_reset=0 * ones,
        w_in=ones * tau_syn,
        metadata=metadata,
    )


def write_nir(ir: NetworkIR, path: str | os.PathLike) -> None:
    """Write a float network as a NIR graph (module doc), atomically; quantised networks are refused."""
    import nir

    if ir.is_quantized:
        raise InteropError("this network is quantised; NIR holds float parameters: export the checkpoint (.pt)")
    chain = ir.chain()
    nodes = {"input": nir.Input(input_type={"input": np.array([chain[0].size])})}
    common = {_META + "T": ir.T}
    names = ["input"]
    for layer in chain[1:]:
        _export_layer(layer, nodes, common)
        names += [f"{layer.name}_w", layer.name]
    nodes["output"] = nir.Output(output_type={"output": np.array([chain[-1].size])})
    names.append("output")
    meta = {"dt": 1.0, _META + "T": ir.T, _META + "zero_policy": ir.zero_policy}
    meta[_META + "image_shape"] = np.array(ir.image_shape)
    meta[_META + "neuron"] = ir.neuron
    if ir.rate is not None:
        meta.update(
            {_META + "scheme": ir.rate.scheme, _META + "max_rate": ir.rate.max_rate, _META + "task": ir.rate.task}
        )
    graph = nir.NIRGraph(nodes=nodes, edges=list(zip(names, names[1:])), metadata=meta, type_check=False)
    buffer = io.BytesIO()  # h5py needs a seekable, readable file; the bytes go out in one atomic write
    nir.write(buffer, graph)
    atomic_write(path, lambda stream: stream.write(buffer.getvalue()))
