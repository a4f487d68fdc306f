"""Network intermediate representation: a typed graph of named layers (NumPy + networkx only).

A :class:`NetworkIR` is plain, immutable data with no back-references: an :class:`InputLayer`, a chain
of :class:`FireOnceLayer` s connected by ``(src, dst)`` name edges, and the coding parameters every
backend needs (``T``, ``zero_policy``, ``image_shape``, ``delay``). ``quant is None`` marks a float
network; a quantized one carries a :class:`QuantSpec` (``profile``, ``weight_bits``, ``membrane_bits``,
``weight_exponents``) and integer weights (int32 mantissas) and thresholds.

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

Modules: ``layers`` (layers and the quantisation spec), ``network`` (the graph), ``fileformat`` (the
``.ttfs`` file). May import NumPy, networkx and the base modules (``errors``, ``fileio``, ``limits``).
"""

from ttfs_deploy.ir.fileformat import FORMAT, VERSION, load_ir, save_ir
from ttfs_deploy.ir.layers import FireOnceLayer, InputLayer, IRError, QuantSpec
from ttfs_deploy.ir.network import ZERO_POLICIES, NetworkIR, from_checkpoint_weights

__all__ = [
    "FORMAT",
    "VERSION",
    "ZERO_POLICIES",
    "IRError",
    "InputLayer",
    "FireOnceLayer",
    "QuantSpec",
    "NetworkIR",
    "from_checkpoint_weights",
    "save_ir",
    "load_ir",
]
