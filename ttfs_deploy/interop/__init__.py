"""Bring your own model: other tools' networks in and out of the toolchain's IR.

* :mod:`~ttfs_deploy.interop.convert` — a plain PyTorch ReLU MLP (``state_dict``) converted to a
  fire-once TTFS checkpoint (``ttfs-deploy convert``); imports torch and :mod:`ttfs_deploy.train`.
* :mod:`~ttfs_deploy.interop.nir_io` — NIR graphs (``.nir``, the ``nir`` package) read as and written
  from a :class:`~ttfs_deploy.ir.NetworkIR`.
* :mod:`~ttfs_deploy.interop.netx` — lava-dl netx HDF5 files (``.net``, ``h5py``) read and written.

Everything a file holds that the IR cannot represent exactly is refused with one
:class:`InteropError` line naming the layer and the feature; every size a file claims is checked
before it is read. Stage: between ``compiler`` (whose ``load_network`` dispatches ``.net`` and
``.nir`` here, lazily) and ``train``; never imports Lava.
"""

from ttfs_deploy.errors import TtfsError

__all__ = ["InteropError"]


class InteropError(TtfsError):
    """A foreign model file that cannot be represented exactly, or is malformed or hostile (one line)."""
