"""The ``.ttfs`` file: one ``.npz`` of weight arrays plus a JSON metadata member; never unpickled."""

from __future__ import annotations

import json
import os
import re
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from ttfs_deploy.errors import short
from ttfs_deploy.fileio import atomic_write, read_npz
from ttfs_deploy.ir.layers import FireOnceLayer, InputLayer, IRError, one_line
from ttfs_deploy.ir.lif import LifLayer
from ttfs_deploy.ir.network import NetworkIR

__all__ = ["FORMAT", "VERSION", "save_ir", "load_ir"]

FORMAT = "ttfs-deploy/ir"
VERSION = 1
_MAX_METADATA_BYTES = 64 * 1024 * 1024
_WEIGHT_NAME = re.compile(r"weight_[0-9]{1,3}")


def _to_metadata(ir: NetworkIR, layers: list) -> dict:
    entries = []
    weight_index = 0
    for layer in layers:
        if isinstance(layer, InputLayer):
            entries.append({"kind": "input", "name": layer.name, "size": layer.size})
        elif isinstance(layer, LifLayer):
            entries.append({"kind": "lif", "name": layer.name, "weight": f"weight_{weight_index}", **layer.params()})
            weight_index += 1
        else:
            entries.append(
                {
                    "kind": "fire_once",
                    "name": layer.name,
                    "weight": f"weight_{weight_index}",
                    "threshold": layer.threshold,
                    **({"integrator": True} if layer.integrator else {}),  # older files stay byte-identical
                }
            )
            weight_index += 1
    rate = {} if ir.rate is None else {"rate": ir.rate.to_dict()}  # fire-once files are unchanged
    return {
        "format": FORMAT,
        "version": VERSION,
        "layers": entries,
        "edges": [list(e) for e in ir.edges],
        "T": ir.T,
        "zero_policy": ir.zero_policy,
        "image_shape": list(ir.image_shape),
        "delay": ir.delay,
        "quant": None if ir.quant is None else ir.quant.to_dict(),
        "meta": ir.meta,
        **rate,
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
        raise IRError(f"cannot save {path}: quant/meta must be JSON-serialisable ({one_line(exc)})") from None
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
            unknown = set(entry) - {"kind", "name", "weight", "threshold", "integrator"}
            _expect(not unknown, f"layer {name!r}: unknown fire-once fields {sorted(map(short, unknown))!r}")
            layers.append(FireOnceLayer(name, weight, threshold, entry.get("integrator", False)))
        elif kind == "lif":
            key = entry.get("weight")
            _expect(isinstance(key, str) and key in arrays, f"layer {name!r}: weight array {key!r} missing")
            _expect(arrays[key].dtype.kind in "iuf", f"layer {name!r}: weight dtype {arrays[key].dtype} is not numeric")
            params = {k: v for k, v in entry.items() if k not in ("kind", "name", "weight")}
            _expect(
                set(params) <= {"vth", "du", "dv", "bias_mant", "bias_exp", "refractory", "integrator"},
                f"layer {name!r}: unknown LIF fields {sorted(set(params))!r}",
            )
            layers.append(LifLayer(name, arrays[key], **params))
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
        metadata.get("rate"),
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
        raise IRError(f"{path}: invalid IR file: {one_line(exc)}") from None
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
        raise IRError(f"{path}: not a readable {FORMAT} file ({type(exc).__name__}: {one_line(exc)[:200]})") from None
