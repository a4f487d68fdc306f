"""PyLoihiProcessModels of the Processes in ``process.py`` (CPU simulation, LoihiProtocol).

Every ``run_spk`` receives from each InPort exactly once per step (channels must not back up) and
sends on each OutPort exactly once per step. ``TrialRecorder`` sends before it receives, which
breaks the only cycle in the graph (recorder → source/neurons → ... → recorder).

Imports are absolute: Lava loads each file of this directory as a top-level module when it looks
for ProcessModels, so relative imports would fail there.
"""

from __future__ import annotations

import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.model import PyLoihiProcessModel
from lava.magma.core.model.py.ports import PyInPort, PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol

from ttfs_deploy.backends.lava_procs.process import FireOnceNeuron, SpikeTimeSource, TrialRecorder

__all__ = ["PyFireOnceFixed", "PyFireOnceFloat", "PySpikeTimeSource", "PyTrialRecorder"]


class _AbstractPyFireOnce(PyLoihiProcessModel):
    """Shared step logic; subclasses declare types and how the membrane accumulates."""

    reset_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=1)
    fired: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=1)
    membrane_bits: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=6)

    def _accumulate(self, a_in: np.ndarray) -> None:
        raise NotImplementedError

    def run_spk(self) -> None:
        reset = bool(self.reset_in.recv()[0])
        a_in = self.a_in.recv()
        if reset:
            self.v[:] = 0
            self.fired[:] = 0
            self.s_out.send(np.zeros(self.v.shape, dtype=self.v.dtype))
            return
        self._accumulate(a_in)
        spikes = (self.v > self.vth[0]) & (self.fired == 0)
        self.fired[spikes] = 1
        self.s_out.send(spikes.astype(self.v.dtype))


@implements(proc=FireOnceNeuron, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt", "bit_accurate_loihi")
class PyFireOnceFixed(_AbstractPyFireOnce):
    """Integer fire-once neuron with a signed saturating ``membrane_bits``-bit membrane."""

    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=24)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=1)
    v: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    vth: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)

    def _accumulate(self, a_in: np.ndarray) -> None:
        bits = int(self.membrane_bits[0])
        low, high = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
        total = self.v.astype(np.int64) + a_in.astype(np.int64)
        self.v[:] = np.clip(total, low, high)


@implements(proc=FireOnceNeuron, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyFireOnceFloat(_AbstractPyFireOnce):
    """Float64 fire-once neuron (no saturation)."""

    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    v: np.ndarray = LavaPyType(np.ndarray, float)
    vth: np.ndarray = LavaPyType(np.ndarray, float)

    def _accumulate(self, a_in: np.ndarray) -> None:
        self.v[:] = self.v + a_in


@implements(proc=SpikeTimeSource, protocol=LoihiProtocol)
@requires(CPU)
class PySpikeTimeSource(PyLoihiProcessModel):
    """Emits ``times[sample] == step``; a control pulse moves to the next sample at step 0."""

    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, bool, precision=1)
    ctrl_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=1)
    times: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=32)
    T: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=32)
    sample: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=32)
    step: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=32)

    def run_spk(self) -> None:
        if self.ctrl_in.recv()[0]:
            self.sample[0] += 1
            self.step[0] = 0
        sample, step = int(self.sample[0]), int(self.step[0])
        if sample < self.times.shape[0] and step < int(self.T[0]):
            spikes = self.times[sample] == step
        else:
            spikes = np.zeros(self.s_out.shape, dtype=bool)
        self.step[0] = step + 1
        self.s_out.send(spikes)


@implements(proc=TrialRecorder, protocol=LoihiProtocol)
@requires(CPU)
class PyTrialRecorder(PyLoihiProcessModel):
    """Records each layer's first spike step per sample and ends samples (see ``TrialRecorder``)."""

    s_in_0: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=1)
    s_in_1: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=1)
    s_in_2: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=1)
    s_in_3: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=1)
    ctrl_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=1)
    out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=32)
    sizes: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=32)
    times: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=32)
    T: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=32)
    n_samples: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=32)
    early_stop: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=1)
    step: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=32)
    pending: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=1)
    done: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=32)
    sent: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=32)

    def _receive(self) -> list[np.ndarray]:
        """This step's spikes of every watched layer, in layer order (output last)."""
        ports = (self.s_in_0, self.s_in_1, self.s_in_2, self.s_in_3)
        return [ports[k].recv() != 0 for k in range(int(np.count_nonzero(self.sizes)))]

    def run_spk(self) -> None:
        # the pulse sent now (decided last step) starts a new sample at this very step everywhere
        new_sample = bool(self.pending[0])
        self.ctrl_out.send(self.pending.copy())
        layers = self._receive()
        spikes = np.concatenate(layers)
        T = int(self.T[0])
        if new_sample:
            if int(self.sent[0]) < int(self.n_samples[0]):
                self.out.send(self.times.astype(np.int32))
                self.sent[0] += 1
            self.times[:] = T
        step = int(self.step[0])
        self.times[:] = np.where(spikes & (self.times == T), step, self.times)
        active = int(self.done[0]) < int(self.n_samples[0])
        ended = active and ((bool(self.early_stop[0]) and bool(layers[-1].any())) or step >= T - 1)
        self.pending[0] = int(ended)
        self.step[0] = 0 if ended else step + 1
        self.done[0] += int(ended)
