"""Lava Processes for streaming TTFS inference (interfaces only; behaviour lives in ``models.py``).

Lava imports every module in this directory to discover ProcessModels, so this package holds
Process and ProcessModel definitions and nothing else: no side effects at import time.

Graph built by :mod:`ttfs_deploy.backends.lava_sim` (``ctrl`` fans out to every ``reset_in`` /
``ctrl_in``)::

    SpikeTimeSource ─s_out─▶ Dense ─▶ FireOnceNeuron ─▶ Dense ─▶ ... ─▶ FireOnceNeuron
           ▲                              │ s_out                              │ s_out
           │                              ▼ s_in_0                             ▼ s_in_K-1
           └──────────── ctrl ─────────── TrialRecorder ─ctrl_out (also to every reset_in)
                                               │ out (external pipe): one message per sample ──▶ host
"""

from __future__ import annotations

import typing as ty

import numpy as np
from lava.magma.core.process.ports.ports import InPort, OutPort
from lava.magma.core.process.process import AbstractProcess
from lava.magma.core.process.variable import Var

from ttfs_deploy.targets import LAVA_MAX_LAYERS

__all__ = ["FireOnceNeuron", "SpikeTimeSource", "TrialRecorder", "MAX_LAYERS", "host_end"]


def host_end(out: OutPort):
    """The host end of a recorder's ``out`` port flagged as an external pipe (a CSP receive port;
    available once the runtime exists)."""
    port = getattr(out, "external_pipe_csp_recv_port", None)
    if port is None:
        raise RuntimeError("the Lava runtime has not been created yet")
    return port


class FireOnceNeuron(AbstractProcess):
    """Non-leaky integrate-and-fire neurons that fire at most once per sample.

    Each step: ``v <- v + a_in`` (fixed point: saturating at ``membrane_bits`` signed bits), spike
    when ``v > vth`` and the neuron has not fired yet. A non-zero ``reset_in`` at a step clears ``v``
    and ``fired``, discards that step's ``a_in`` and emits no spike (the first step of a new sample).

    Parameters
    ----------
    shape : tuple of int
        Neuron array shape, e.g. ``(400,)``.
    vth : int or float
        Firing threshold (strictly greater fires), shared by all neurons.
    membrane_bits : int
        Width of the signed, saturating membrane register (fixed point only).
    """

    def __init__(self, *, shape: tuple[int, ...], vth: float, membrane_bits: int = 24, name: str | None = None) -> None:
        super().__init__(shape=shape, vth=vth, membrane_bits=membrane_bits, name=name)
        self.a_in = InPort(shape=shape)
        self.reset_in = InPort(shape=(1,))
        self.s_out = OutPort(shape=shape)
        self.v = Var(shape=shape, init=0)
        self.fired = Var(shape=shape, init=0)
        self.vth = Var(shape=(1,), init=vth)
        self.membrane_bits = Var(shape=(1,), init=membrane_bits)


class SpikeTimeSource(AbstractProcess):
    """Plays one TTFS spike-time vector per sample, samples back to back.

    Sample ``k``'s input ``i`` spikes at the step ``start_k + times[k, i]`` (times ``>= T`` never
    spike). A non-zero ``ctrl_in`` at a step starts the next sample at that very step.

    Parameters
    ----------
    times : np.ndarray
        ``(n_samples, n_inputs)`` integer spike times.
    T : int
        Window length in steps.
    """

    def __init__(self, *, times: np.ndarray, T: int, name: str | None = None) -> None:
        times = np.asarray(times)
        super().__init__(times=times, T=T, name=name)
        self.s_out = OutPort(shape=(times.shape[1],))
        self.ctrl_in = InPort(shape=(1,))
        self.times = Var(shape=times.shape, init=times)
        self.T = Var(shape=(1,), init=T)
        self.sample = Var(shape=(1,), init=0)
        self.step = Var(shape=(1,), init=0)


MAX_LAYERS = LAVA_MAX_LAYERS  # fire-once layers one TrialRecorder watches (ports are declared statically)


class TrialRecorder(AbstractProcess):
    """Watches every fire-once layer: records first-spike steps, ends samples, starts the next one.

    One process does both jobs because Lava's per-step cost grows with the number of processes
    (each synchronises with the runtime every step); a recorder per layer plus a controller cost
    ~35 % more time per step here.

    Ending a sample: at relative step ``T - 1`` or, with ``early_stop``, at the first step where an
    output neuron (the last watched layer) spikes. The step after an end, ``ctrl_out`` carries 1
    (``ctrl_out`` is buffered by one step, like Dense's output, so the graph has no zero-delay
    cycle). After ``n_samples`` ends it stays silent.

    Recording: on that same step, the finished sample's first-spike steps (relative to the sample's
    start, ``T`` for none) of all layers, concatenated in layer order, go out through ``out``, a Lava
    external pipe the host reads with :meth:`receive_port`; at most ``n_samples`` messages are sent.

    Parameters
    ----------
    sizes : sequence of int
        Neurons per watched layer, output layer last (at most ``MAX_LAYERS``). Layer ``k`` connects
        to ``s_in_k``; the other ports stay unconnected (they read zeros).
    T : int
        Window length in steps.
    n_samples : int
        Number of samples streamed.
    early_stop : bool
        End a sample at its first output spike.
    buffer_size : int
        Messages the host pipe holds before the recorder blocks.
    """

    def __init__(
        self,
        *,
        sizes: ty.Sequence[int],
        T: int,
        n_samples: int,
        early_stop: bool,
        buffer_size: int = 64,
        name: str | None = None,
    ) -> None:
        sizes = [int(x) for x in sizes]
        if not 1 <= len(sizes) <= MAX_LAYERS:
            raise ValueError(f"TrialRecorder watches 1 to {MAX_LAYERS} layers, got {len(sizes)}")
        super().__init__(sizes=sizes, T=T, n_samples=n_samples, early_stop=early_stop, name=name)
        padded = sizes + [0] * (MAX_LAYERS - len(sizes))
        for k, size in enumerate(padded):
            setattr(self, f"s_in_{k}", InPort(shape=(max(size, 1),)))
        self.ctrl_out = OutPort(shape=(1,))
        self.out = OutPort(shape=(sum(sizes),))
        self.out.flag_external_pipe(buffer_size=buffer_size)
        self.sizes = Var(shape=(MAX_LAYERS,), init=np.array(padded))
        self.times = Var(shape=(sum(sizes),), init=T)
        self.T = Var(shape=(1,), init=T)
        self.n_samples = Var(shape=(1,), init=n_samples)
        self.early_stop = Var(shape=(1,), init=int(early_stop))
        self.step = Var(shape=(1,), init=0)
        self.pending = Var(shape=(1,), init=0)
        self.done = Var(shape=(1,), init=0)
        self.sent = Var(shape=(1,), init=0)

    def watch_ports(self) -> list:
        """The InPorts of the watched layers, in layer order."""
        return [getattr(self, f"s_in_{k}") for k in range(MAX_LAYERS)]

    def receive_port(self):
        """The host end of ``out`` (:func:`host_end`)."""
        return host_end(self.out)
