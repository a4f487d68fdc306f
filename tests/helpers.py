"""Helpers shared by the test modules: the CLI as a user runs it, small hand-built networks, and the
slow, obvious step-by-step simulator the fast code is held to."""

import os
import pathlib
import subprocess
import sys

import numpy as np

from ttfs_deploy.ir import FireOnceLayer, InputLayer, NetworkIR

REPO = pathlib.Path(__file__).resolve().parents[1]
MODELS = REPO / "ttfs_deploy" / "models"


def cli(*args, cwd=None, env=None):
    """Run ``python -m ttfs_deploy ARGS`` in a subprocess (exit code, stdout, stderr as a user sees them)."""
    env = dict(os.environ, PYTHONPATH=str(REPO), **(env or {}))
    return subprocess.run(
        [sys.executable, "-m", "ttfs_deploy", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=300,
    )


def spawn_cli(*args, **popen_kwargs) -> subprocess.Popen:
    """Start ``python -m ttfs_deploy ARGS`` from the repository in a session of its own (so that its whole
    process group can be signalled or killed): stdin empty, stdout and stderr piped."""
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.Popen(
        [sys.executable, "-m", "ttfs_deploy", *map(str, args)],
        cwd=REPO,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        **popen_kwargs,
    )


def chain_net(weights, thresholds, T, quant=None, zero_policy="silent"):
    """A feed-forward chain input → fc1 → ... from weight matrices ``(n_out, n_in)`` and thresholds."""
    layers = [InputLayer("input", weights[0].shape[1])]
    layers += [FireOnceLayer(f"fc{k + 1}", w, th) for k, (w, th) in enumerate(zip(weights, thresholds))]
    edges = tuple((a.name, b.name) for a, b in zip(layers, layers[1:]))
    return NetworkIR(tuple(layers), edges, T, zero_policy, (1, weights[0].shape[1]), quant=quant)


def quant(bits=24, exponents=(0,), weight_bits=8, profile="test"):
    """The ``quant`` dict of an integer network: membrane ``bits``, one weight exponent per layer."""
    return {"profile": profile, "weight_bits": weight_bits, "membrane_bits": bits, "weight_exponents": list(exponents)}


def stepwise(net: NetworkIR, t_in: np.ndarray) -> list[np.ndarray]:
    """Obvious simulation: every sample, every step, every layer (integer or float)."""
    T = net.T
    out = [np.minimum(t_in, T)]
    for k, layer in enumerate(net.fire_once_layers()):
        prev, result = out[-1], np.full((len(t_in), layer.size), T)
        for n in range(len(t_in)):
            v = np.zeros(layer.size, dtype=np.int64 if net.is_quantized else float)
            for s in range(T):
                step = layer.weight[:, prev[n] == s].sum(axis=1)
                if net.is_quantized:
                    e, bits = net.quant.weight_exponents[k], net.quant.membrane_bits
                    step = step.astype(np.int64)
                    step = step << e if e >= 0 else step >> -e
                    v = np.clip(v + step, -(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
                else:
                    v = v + step
                fires = (result[n] == T) & (v > layer.threshold)
                result[n, fires] = min(s + 1, T)
        out.append(result)
    return out
