"""PyLoihiProcessModels of ``rate_process.py`` (CPU simulation, LoihiProtocol); absolute imports only."""

from __future__ import annotations

import numpy as np
from lava.magma.core.decorator import implements, requires
from lava.magma.core.model.py.model import PyLoihiProcessModel
from lava.magma.core.model.py.ports import PyInPort, PyOutPort, PyRefPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol

from ttfs_deploy.backends.lava_procs.rate_process import MembraneRecorder, RasterRecorder, RasterSource

__all__ = ["PyRasterSource", "PyRasterRecorder", "PyMembraneRecorder"]


@implements(proc=RasterSource, protocol=LoihiProtocol)
@requires(CPU)
class PyRasterSource(PyLoihiProcessModel):
    """Sends row ``step`` of the flattened rasters each step (zeros after the last)."""

    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, bool, precision=1)
    spikes: np.ndarray = LavaPyType(np.ndarray, np.int8, precision=1)
    step: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=32)

    def run_spk(self) -> None:
        step = int(self.step[0])
        if step < self.spikes.shape[0]:
            self.s_out.send(self.spikes[step] != 0)
        else:
            self.s_out.send(np.zeros(self.s_out.shape, dtype=bool))
        self.step[0] = step + 1


@implements(proc=RasterRecorder, protocol=LoihiProtocol)
@requires(CPU)
class PyRasterRecorder(PyLoihiProcessModel):
    """Writes layer ``k``'s spikes into the buffer of the sample it is working on; sends finished samples."""

    s_in_0: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=1)
    s_in_1: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=1)
    s_in_2: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=1)
    s_in_3: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=1)
    out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=32)
    sizes: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=32)
    buffer: np.ndarray = LavaPyType(np.ndarray, np.int8, precision=1)
    T: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=32)
    n_samples: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=32)
    step: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=32)

    def run_spk(self) -> None:
        ports = (self.s_in_0, self.s_in_1, self.s_in_2, self.s_in_3)
        sizes = [int(s) for s in self.sizes if s > 0]
        T, n = int(self.T[0]), int(self.n_samples[0])
        step = int(self.step[0])  # Lava time_step - 1
        self.step[0] = step + 1
        offset = 0
        for k, size in enumerate(sizes, start=1):
            spikes = ports[k - 1].recv()
            sample, t = divmod(step - k, T)
            if 0 <= sample < n:
                start = offset + t * size
                self.buffer[sample % 2, start : start + size] = spikes != 0
                if k == len(sizes) and t == T - 1:
                    bits = np.packbits(self.buffer[sample % 2].astype(np.uint8))
                    words = np.zeros(self.out.shape[0] * 4, dtype=np.uint8)
                    words[: bits.size] = bits
                    self.out.send(words.view(np.int32))
            offset += T * size


@implements(proc=MembraneRecorder, protocol=LoihiProtocol)
@requires(CPU)
class PyMembraneRecorder(PyLoihiProcessModel):
    """Copies the watched ``v`` into the sample's row each step; sends the sample after its last step."""

    v_in: PyRefPort = LavaPyType(PyRefPort.VEC_DENSE, np.int32, precision=24)
    out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=32)
    buffer: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=32)
    layer: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=32)
    T: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=32)
    n_samples: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=32)

    def post_guard(self) -> bool:
        return True  # every step: v is read in the management phase, after the step's update

    def run_post_mgmt(self) -> None:
        T, n = int(self.T[0]), int(self.n_samples[0])
        sample, t = divmod(self.time_step - 1 - int(self.layer[0]), T)
        if not 0 <= sample < n:
            return
        self.buffer[t] = self.v_in.read()
        if t == T - 1:
            self.out.send(self.buffer.reshape(-1).astype(np.int32))
