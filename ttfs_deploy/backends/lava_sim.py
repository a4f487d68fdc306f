"""``loihi-sim`` target: the network as a Lava process graph on Lava's Loihi CPU simulator.

Graph (one compiled graph streams every sample; processes in :mod:`.lava_procs`)::

    SpikeTimeSource → Dense → FireOnceNeuron → Dense → ... → FireOnceNeuron
                                   ↓ spikes                       ↓ spikes
                                   └──────────▶ TrialRecorder ◀───┘
                            ctrl (1 step later) to source and neurons │ one message per sample (external pipe)

* Dense is Lava's own ``lava.proc.dense.process.Dense``. Quantized IRs run with
  ``Loihi2SimCfg(select_tag="fixed_pt")`` (bit-accurate Dense + integer saturating neurons), float IRs
  with ``"floating_pt"``. An 8-bit signed mantissa ``q`` with exponent ``e`` is given to Dense the way
  Loihi stores mixed-sign weights: ``weights = 2 q``, ``weight_exp = e - 1``,
  ``sign_mode = MIXED``, ``num_weight_bits = 8`` (Lava drops the lowest bit of mixed-sign weights, and
  ``(sum 2q) >> 1`` is exactly ``sum q``), so each step's synaptic input is ``shift(sum q, e)`` as
  in the golden simulator.
* Time: a sample whose window starts at Lava step ``S`` sends its ``t = 0`` inputs at ``S``, and every
  layer's spike of model time ``t`` leaves at step ``S + t`` (Dense's one-step delay is the model's
  ``+1`` per layer, see :mod:`ttfs_deploy.semantics.fire_once`). The recorder counts steps from ``S``, so results come back in the
  model's time convention, directly comparable with :func:`ttfs_deploy.semantics.fire_once.simulate`.
* Reset and early stop inside the graph: the recorder ends a sample at relative step ``T - 1``
  or, with ``early_stop``, at its first output spike (decision step ``d``). On the next step
  (``S + d + 1``) its pulse makes the source start the next sample and every neuron clear ``v`` and
  ``fired`` and drop that step's input. That input is the previous sample's spikes of time ``d`` (or
  ``T - 1``), which the model would only let act at a step whose crossing cannot produce a spike
  before the decision, so nothing leaks from one sample into the next. A sample therefore costs
  ``d + 1`` steps with early stop and ``T`` without. Spikes that would have come after the decision
  step are not issued and are reported as ``T`` (golden's ``early_stop=True`` view); inputs later
  than the decision step are reported as ``T`` too.
* Read-out: the recorder sends one vector (first spike step of every neuron of every layer) per
  sample to the host through a Lava external pipe; the host drains it while the graph runs (``RunContinuous``) and
  stops the runtime once every sample has arrived. No Var is read per step.
* Robustness: an exception inside a ProcessModel can leave Lava blocked forever. The host polls the
  Lava worker processes while it waits and has a deadline (``timeout_s``); on either failure it
  raises :class:`LavaRunError`, and ``stop()`` always runs in ``finally`` (in a helper thread with its
  own deadline; Lava worker processes that outlive it are terminated). The same happens on Ctrl-C,
  SIGTERM or SIGHUP (:mod:`ttfs_deploy.signals`): the workers ignore Ctrl-C themselves, are
  terminated by the host, and are killed by the kernel if the host dies first. The default deadline
  is bounded in absolute terms (:func:`default_timeout`); ``--timeout`` sets it.

Lava is imported lazily: this module imports without it and raises :class:`BackendUnavailable` on
use. Importing Lava switches ``multiprocessing`` to the ``fork`` start method for the process.
"""

from __future__ import annotations

import importlib.util
import multiprocessing
import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from ttfs_deploy.coding import encode_ttfs
from ttfs_deploy.compiler.mapping import check_target
from ttfs_deploy.errors import TtfsError
from ttfs_deploy.ir import IRError, NetworkIR
from ttfs_deploy.limits import DEFAULT_TIMEOUT_CAP_S
from ttfs_deploy.semantics import RunResult, check_times, classify, early_stop_view
from ttfs_deploy.signals import worker_children

__all__ = [
    "BackendUnavailable",
    "LavaRunError",
    "available",
    "simulate",
    "simulate_readout",
    "run",
    "run_collecting",
    "default_timeout",
]

_INSTALL_ADVICE = (
    "install lava: `pip install lava-nc==0.10.0` (on Python 3.11 also run scripts/bootstrap.sh, which patches it)"
)
_PIPE_BUFFER = 256  # messages in the recorder's pipe before the graph waits for the host
_STOP_TIMEOUT_S = 20.0


class BackendUnavailable(TtfsError):
    """Lava (or a feature of it) is not available here; the message says what to install."""


class LavaRunError(RuntimeError):
    """A Lava run failed, hung past its deadline, or returned incomplete results."""


def _lava() -> dict[str, Any]:
    """Import what this backend needs from Lava, or raise :class:`BackendUnavailable`."""
    import multiprocessing

    # Lava calls set_start_method('fork') unconditionally at import, which raises once anything has fixed
    # the context (tqdm's lock does). When that context already is 'fork', clearing it changes nothing.
    if multiprocessing.get_start_method(allow_none=True) == "fork":
        multiprocessing.set_start_method(None, force=True)
    try:
        from lava.magma.core.run_conditions import RunContinuous
        from lava.magma.core.run_configs import Loihi2SimCfg
        from lava.proc.dense.process import Dense
        from lava.utils.weightutils import SignMode

        from ttfs_deploy.backends.lava_procs.process import FireOnceNeuron, SpikeTimeSource, TrialRecorder
        from ttfs_deploy.backends.lava_procs.rate_process import MembraneRecorder
    except ImportError as exc:
        raise BackendUnavailable(f"the loihi-sim target needs Lava ({exc}); {_INSTALL_ADVICE}") from None
    except RuntimeError as exc:  # lava sets the fork start method at import and fails if another was set
        raise BackendUnavailable(
            f"Lava could not be imported ({' '.join(str(exc).split())}); it needs the "
            "'fork' multiprocessing start method, set before anything else chose one"
        ) from None
    return {
        "RunContinuous": RunContinuous,
        "Loihi2SimCfg": Loihi2SimCfg,
        "Dense": Dense,
        "SignMode": SignMode,
        "FireOnceNeuron": FireOnceNeuron,
        "SpikeTimeSource": SpikeTimeSource,
        "TrialRecorder": TrialRecorder,
        "MembraneRecorder": MembraneRecorder,
    }


def missing() -> str | None:
    """None when Lava is installed here, else what to install (Lava itself is not imported)."""
    if importlib.util.find_spec("lava") is None:
        return f"lava-nc is not installed; {_INSTALL_ADVICE}"
    return None


def available() -> bool:
    """True when Lava imports here."""
    try:
        _lava()
    except BackendUnavailable:
        return False
    return True


def default_timeout(n_samples: int, T: int) -> float:
    """A generous wall-clock limit: 60 s of start-up plus 20 ms per simulated step (~1 ms measured),
    never more than :data:`~ttfs_deploy.limits.DEFAULT_TIMEOUT_CAP_S` (``--timeout`` sets another)."""
    return min(60.0 + 0.02 * n_samples * T, DEFAULT_TIMEOUT_CAP_S)


@dataclass
class _Graph:
    source: Any
    neurons: list
    recorder: Any
    run_cfg: Any
    membrane: Any = None  # MembraneRecorder of an integrator read-out


def _dense_args(ir: NetworkIR, k: int, weight: np.ndarray, lava: dict) -> dict:
    # the target rules (weight bits, accumulator) were checked before the graph is built
    if not ir.is_quantized:
        return {"weights": weight.astype(np.float64)}
    return {
        "weights": 2 * weight.astype(np.int32),
        "weight_exp": ir.quant.weight_exponents[k] - 1,
        "num_weight_bits": 8,
        "sign_mode": lava["SignMode"].MIXED,
    }


def _build(ir: NetworkIR, t_in: np.ndarray, early_stop: bool, lava: dict) -> _Graph:
    layers = ir.chain()
    T, n = ir.T, len(t_in)
    membrane_bits = ir.quant.membrane_bits if ir.is_quantized else 32
    source = lava["SpikeTimeSource"](times=t_in.astype(np.int32), T=T, name="source")
    fire_once = layers[1:]
    recorder = lava["TrialRecorder"](
        sizes=[layer.size for layer in fire_once],
        T=T,
        n_samples=n,
        early_stop=early_stop,
        buffer_size=min(n, _PIPE_BUFFER),
        name="recorder",
    )
    neurons, upstream, membrane = [], source.s_out, None
    for k, (layer, watch) in enumerate(zip(fire_once, recorder.watch_ports())):
        dense = lava["Dense"](name=f"dense_{layer.name}", **_dense_args(ir, k, layer.weight, lava))
        threshold = int(layer.threshold) if ir.is_quantized else float(layer.threshold)
        if layer.integrator:  # the saturating register never exceeds its largest value: never fires
            threshold = (1 << (membrane_bits - 1)) - 1
        neuron = lava["FireOnceNeuron"](
            shape=(layer.size,), vth=threshold, membrane_bits=membrane_bits, name=layer.name
        )
        upstream.connect(dense.s_in)
        dense.a_out.connect(neuron.a_in)
        neuron.s_out.connect(watch)
        neurons.append(neuron)
        upstream = neuron.s_out
        if layer.integrator:
            # potential after model step s is v after Lava step S + s + 1, S = 1 + j T: "layer" offset 1
            membrane = lava["MembraneRecorder"](
                size=layer.size, layer=1, T=T, n_samples=n, buffer_size=min(n, _PIPE_BUFFER), name="membrane"
            )
            membrane.v_in.connect_var(neuron.v)
    recorder.ctrl_out.connect([source.ctrl_in] + [x.reset_in for x in neurons])
    tag = "fixed_pt" if ir.is_quantized else "floating_pt"
    return _Graph(source, neurons, recorder, lava["Loihi2SimCfg"](select_tag=tag), membrane)


def _actors(process: Any) -> list:
    runtime = getattr(process, "runtime", None)
    infrastructure = getattr(runtime, "_messaging_infrastructure", None)
    return list(getattr(infrastructure, "actors", []) or [])


def _dead_actor_report(actors: list) -> str | None:
    dead = [a for a in actors if not a.is_alive()]
    if not dead:
        return None
    for actor in dead:
        try:
            error = actor.exception
        except Exception:
            error = None
        if error:
            last = [line for line in str(error[1]).strip().splitlines() if line.strip()]
            return f"a Lava process failed: {last[-1] if last else error[0]!r}"
    return f"{len(dead)} Lava process(es) exited unexpectedly (exit code {dead[0].exitcode})"


def _terminate(actors: list) -> None:
    for actor in actors:
        if actor.is_alive():
            actor.terminate()
    for actor in actors:
        multiprocessing.Process.join(actor, 2.0)  # SystemProcess.join() takes no timeout
        if actor.is_alive():
            actor.kill()


def _stop(process: Any, actors: list, graceful: bool) -> None:
    """Call ``stop()`` with a deadline; terminate Lava's worker processes if it cannot finish.

    After a failure (``graceful=False``) the workers are terminated first, because ``stop()`` waits
    for answers that a crashed or blocked worker never sends.
    """
    if not graceful:
        _terminate(actors)
    finished = threading.Event()

    def target() -> None:
        try:
            process.stop()
        except Exception:
            pass
        finally:
            finished.set()

    threading.Thread(target=target, name="lava-stop", daemon=True).start()
    if finished.wait(_STOP_TIMEOUT_S if graceful else 2.0):
        return
    _terminate(actors)
    infrastructure = getattr(getattr(process, "runtime", None), "_messaging_infrastructure", None)
    manager = getattr(infrastructure, "smm", None)
    if manager is not None:
        try:
            manager.shutdown()
        except Exception:
            pass


def _collect(receivers: list, n: int, deadline: float, actors_of: Any) -> list[np.ndarray]:
    """Read ``n`` messages from each ``(port, decode, row_size, dtype)`` of a running graph, polling all
    of them (a recorder whose pipe is full blocks the whole Lava step, so no port may wait for another);
    checks for dead workers and the deadline while waiting. Returns one ``(n, row_size)`` array each."""
    outs = [np.empty((n, size), dtype=dtype) for _, _, size, dtype in receivers]
    received = [0] * len(receivers)
    next_check, pause = 0.0, 0.0005
    while min(received) < n:
        got = False
        for r, (port, decode, _, _) in enumerate(receivers):
            if received[r] < n and port.probe():
                outs[r][received[r]] = decode(port.recv())
                received[r] += 1
                got = True
        if got:
            pause = 0.0005
            continue
        now = time.monotonic()
        if now >= next_check:
            problem = _dead_actor_report(actors_of())
            if problem:
                raise LavaRunError(f"loihi-sim run failed after {min(received)} of {n} samples: {problem}")
            next_check = now + 0.05
        if now > deadline:
            raise LavaRunError(
                f"loihi-sim run did not finish in time ({min(received)} of {n} samples done; "
                "--timeout SECONDS sets it); a Lava ProcessModel may have hung"
            )
        time.sleep(pause)
        pause = min(2 * pause, 0.01)  # back off while samples take long; the Lava workers need the cores
    return outs


def run_collecting(source: Any, run_cfg: Any, receivers: Any, n: int, T: int, timeout_s: float | None, lava: dict):
    """Run the graph ``source`` belongs to, :func:`_collect` ``n`` messages from each of ``receivers()``
    (called once the runtime exists: the host ends are made by it) and stop the graph, terminating its
    workers on any failure or signal. ``timeout_s`` None: :func:`default_timeout` of ``n`` samples."""
    limit = default_timeout(n, T) if timeout_s is None else float(timeout_s)
    deadline = time.monotonic() + limit
    graceful = True
    try:  # workers ignore Ctrl-C and die with this process; on any failure or signal they are terminated
        with worker_children():
            source.run(condition=lava["RunContinuous"](), run_cfg=run_cfg)
            return _collect(receivers(), n, deadline, lambda: _actors(source))
    except BaseException:  # LavaRunError, or Ctrl-C / SIGTERM (ttfs_deploy.signals.Terminated)
        graceful = False
        raise
    finally:
        if getattr(source, "runtime", None) is not None:
            _stop(source, _actors(source), graceful)


def _run_graph(ir: NetworkIR, t: np.ndarray, early_stop: bool, timeout_s: float | None):
    """Build, run and stop the graph; returns the per-layer spike times (fire-once layers) and the
    integrator's potentials ``(n, T, size)`` (None without an integrator)."""
    n, T = len(t), ir.T
    lava = _lava()
    graph = _build(ir, t, early_stop, lava)
    sizes = [neuron.s_out.shape[0] for neuron in graph.neurons]

    def receivers() -> list:
        ports = [(graph.recorder.receive_port(), lambda m: m, sum(sizes), np.int64)]
        if graph.membrane is not None:
            ports.append((graph.membrane.receive_port(), lambda m: m, T * sizes[-1], np.int64))
        return ports

    merged, *rest = run_collecting(graph.source, graph.run_cfg, receivers, n, T, timeout_s, lava)
    membrane = rest[0].reshape(n, T, sizes[-1]) if rest else None
    return np.split(merged, np.cumsum(sizes)[:-1], axis=1), membrane


def simulate(
    ir: NetworkIR, t_in: np.ndarray, early_stop: bool = True, timeout_s: float | None = None, hardware: bool = False
) -> list[np.ndarray]:
    """Stream every sample through one compiled Lava graph; return per-layer spike times.

    Parameters
    ----------
    ir : NetworkIR
        Quantized (runs ``fixed_pt``) or float (``floating_pt``) network.
    t_in : np.ndarray
        ``(n, n_in)`` integer input spike times.
    early_stop : bool, optional
        End each sample at its first output spike (spikes after the decision step are reported as
        ``T``: equal to ``golden.simulate(ir, t_in, early_stop=True)``).
    timeout_s : float, optional
        Wall-clock limit for the whole run (default :func:`default_timeout`).
    hardware : bool, optional
        Run on a Loihi board: not supported by this graph (its custom processes are CPU-only).

    Returns
    -------
    list of np.ndarray
        ``(n, size)`` int64 spike times per layer, input first, in the model's time convention.

    Raises
    ------
    BackendUnavailable
        Lava is not installed (or ``hardware=True``).
    LavaRunError
        The run failed or exceeded ``timeout_s``.
    """
    layers = ir.chain()
    check_target(ir, "loihi-hw" if hardware else "loihi-sim")  # the same rules `compile --target` applies
    T = ir.T
    t = check_times(t_in, layers[0].size, T)
    n = len(t)
    if hardware:
        raise BackendUnavailable(
            "the fire-once neuron and streaming processes have CPU ProcessModels only; "
            "running on a Loihi board needs NcProcessModels (lava-loihi), not provided"
        )
    if n == 0:
        return [t] + [np.empty((0, layer.size), dtype=np.int64) for layer in layers[1:]]
    if ir.readout == "membrane":
        if early_stop:
            raise IRError("early stop needs a first-spike read-out; this network's class is read from a membrane")
        return simulate_readout(ir, t, timeout_s)[0]
    times = [t] + _run_graph(ir, t, early_stop, timeout_s)[0]
    if early_stop:
        times = early_stop_view(times, T)  # inputs later than the decision step were never sent
    return times


def simulate_readout(
    ir: NetworkIR, t_in: np.ndarray, timeout_s: float | None = None
) -> tuple[list[np.ndarray], np.ndarray | None]:
    """Spike times (no early stop) and, for an integrator read-out, its potentials ``(n, T - 1, n_out)``
    as Lava computed them: the integrator is the fire-once neuron with a threshold its saturating
    register cannot exceed, its ``v`` read each step through a RefPort (``lava_procs.MembraneRecorder``).
    Equal to :func:`ttfs_deploy.semantics.fire_once.integrator_membrane` (tests/test_convert.py)."""
    layers = ir.chain()
    check_target(ir, "loihi-sim")
    t = check_times(t_in, layers[0].size, ir.T)
    if layers[-1].integrator and not ir.is_quantized:
        raise IRError("an integrator read-out runs on loihi-sim as a quantized network; compile it first")
    if len(t) == 0:
        empty = np.zeros((0, ir.T - 1, layers[-1].size), np.int64) if layers[-1].integrator else None
        return [t] + [np.empty((0, layer.size), dtype=np.int64) for layer in layers[1:]], empty
    recorded, membrane = _run_graph(ir, t, False, timeout_s)
    return [t] + recorded, (None if membrane is None else membrane[:, : ir.T - 1])


def run(
    ir: NetworkIR, images: np.ndarray, labels: np.ndarray, early_stop: bool = True, timeout_s: float | None = None
) -> RunResult:
    """Encode ``images`` (``(n, pixels)`` uint8) with the IR's coding, run on Lava, classify ("loihi-sim")."""
    images = np.asarray(images)
    t_in = encode_ttfs(images.reshape(len(images), -1), ir.T, ir.zero_policy)
    if ir.readout == "membrane":
        times, membrane = simulate_readout(ir, t_in, timeout_s)
        return classify(times, labels, ir.T, target="loihi-sim", membrane=membrane)
    times = simulate(ir, t_in, early_stop=early_stop, timeout_s=timeout_s)
    return classify(times, labels, ir.T, target="loihi-sim")
