"""The meaning of a network, bit for bit: spike-time rules, read-out and timing.

Owns: the fire-once neuron's spike times (float and integer), the compiled loops shared with
training (``kernels``), the decision step and early-stop view (``readout``), and where spikes fall
on Lava/hardware steps (``timing``); for rate-coded networks of Loihi CUBA LIF neurons, their
bit-accurate arithmetic (``lif``, Lava's ``PyLifModelBitAcc``) and their results (``rate``: spike-count
classification, reconstruction MSE; the rate decision steps live in ``readout``). Every other stage uses these functions instead of restating
them: quantize calibrates with them, the golden backend runs them, Lava is tested against them.

May import: ``ttfs_deploy.ir``, ``ttfs_deploy.coding``, ``ttfs_deploy.errors``, NumPy, Numba.
Never torch, never Lava.
"""

from ttfs_deploy.semantics.fire_once import check_times, integrator_membrane, layer_times, simulate
from ttfs_deploy.semantics.readout import RunResult, SampleResult, classify, decision_steps, early_stop_view
from ttfs_deploy.semantics.timing import hardware_times, sample_starts

__all__ = [
    "check_times",
    "integrator_membrane",
    "layer_times",
    "simulate",
    "RunResult",
    "SampleResult",
    "classify",
    "decision_steps",
    "early_stop_view",
    "hardware_times",
    "sample_starts",
]
