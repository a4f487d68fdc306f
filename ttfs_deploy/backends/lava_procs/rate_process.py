"""Lava Processes that stream rate-coded samples into stock Dense + LIF layers and read them out.

Only source and read-out are ours; the neurons are Lava's own ``LIFReset`` (``PyLifResetModelBitAcc``
under ``fixed_pt``), the synapses Lava's ``Dense``. Interfaces only; behaviour is in ``rate_models.py``.
"""

from __future__ import annotations

import typing as ty

import numpy as np
from lava.magma.core.process.ports.ports import InPort, OutPort, RefPort
from lava.magma.core.process.process import AbstractProcess
from lava.magma.core.process.variable import Var

from ttfs_deploy.backends.lava_procs.process import host_end
from ttfs_deploy.targets import LAVA_MAX_LAYERS

__all__ = ["RasterSource", "RasterRecorder", "MembraneRecorder"]


class RasterSource(AbstractProcess):
    """Plays ``(n_samples, T, n_inputs)`` spike rasters back to back: sample ``k``'s step ``t`` at Lava
    step ``1 + k T + t``; silent afterwards."""

    def __init__(self, *, spikes: np.ndarray, name: str | None = None) -> None:
        spikes = np.asarray(spikes)
        super().__init__(spikes=spikes, name=name)
        n, T, n_in = spikes.shape
        self.s_out = OutPort(shape=(n_in,))
        self.spikes = Var(shape=(n * T, n_in), init=spikes.reshape(n * T, n_in).astype(np.int8))
        self.step = Var(shape=(1,), init=0)


class RasterRecorder(AbstractProcess):
    """Records every watched layer's spikes per sample and sends one message per sample to the host.

    Layer ``k`` (1-based, output last) is in local step ``t`` of sample ``j`` at Lava step
    ``1 + j T + k + t``. When the output layer finishes a sample, the sample's rasters of all layers
    (``(T, size)`` each, layer order) go out through ``out`` packed 32 bits per int32 word
    (``numpy.packbits``, big-endian bit order within bytes, bytes native order).
    """

    def __init__(
        self, *, sizes: ty.Sequence[int], T: int, n_samples: int, buffer_size: int = 64, name: str | None = None
    ) -> None:
        sizes = [int(x) for x in sizes]
        if not 1 <= len(sizes) <= LAVA_MAX_LAYERS:
            raise ValueError(f"RasterRecorder watches 1 to {LAVA_MAX_LAYERS} layers, got {len(sizes)}")
        if len(sizes) > T:
            raise ValueError(f"RasterRecorder needs T >= the number of layers ({len(sizes)}), got T = {T}")
        super().__init__(sizes=sizes, T=T, n_samples=n_samples, name=name)
        padded = sizes + [0] * (LAVA_MAX_LAYERS - len(sizes))
        for k, size in enumerate(padded):
            setattr(self, f"s_in_{k}", InPort(shape=(max(size, 1),)))
        words = (T * sum(sizes) + 31) // 32
        self.out = OutPort(shape=(words,))
        self.out.flag_external_pipe(buffer_size=buffer_size)
        self.sizes = Var(shape=(LAVA_MAX_LAYERS,), init=np.array(padded))
        self.buffer = Var(shape=(2, T * sum(sizes)), init=0)
        self.T = Var(shape=(1,), init=T)
        self.n_samples = Var(shape=(1,), init=n_samples)
        self.step = Var(shape=(1,), init=0)

    def watch_ports(self) -> list:
        """The InPorts of the watched layers, in layer order."""
        return [getattr(self, f"s_in_{k}") for k in range(LAVA_MAX_LAYERS)]

    def receive_port(self):
        """The host end of ``out`` (:func:`~ttfs_deploy.backends.lava_procs.process.host_end`)."""
        return host_end(self.out)


class MembraneRecorder(AbstractProcess):
    """Reads a non-spiking integrator layer's ``v`` each step (a RefPort on the stock LIF's Var) and sends
    one message per sample to the host: the ``(T, size)`` int32 membranes of local steps ``0..T-1``.

    The layer is layer ``layer`` (1-based), so its local step ``t`` of sample ``j`` is Lava step
    ``1 + j T + layer + t`` (as for :class:`RasterRecorder`); the read happens in the management phase
    after that step's neuron update.
    """

    def __init__(
        self, *, size: int, layer: int, T: int, n_samples: int, buffer_size: int = 64, name: str | None = None
    ) -> None:
        super().__init__(size=size, layer=layer, T=T, n_samples=n_samples, name=name)
        self.v_in = RefPort(shape=(size,))
        self.out = OutPort(shape=(T * size,))
        self.out.flag_external_pipe(buffer_size=buffer_size)
        self.buffer = Var(shape=(T, size), init=0)
        self.layer = Var(shape=(1,), init=layer)
        self.T = Var(shape=(1,), init=T)
        self.n_samples = Var(shape=(1,), init=n_samples)

    def receive_port(self):
        """The host end of ``out`` (:func:`~ttfs_deploy.backends.lava_procs.process.host_end`)."""
        return host_end(self.out)
