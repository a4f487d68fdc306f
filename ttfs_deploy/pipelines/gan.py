"""GAN jobs: sample a trained generator on any target, profile its samples, measure their quality.

Sampling on an integer target compiles the generator like any network: its float IR
(:func:`ttfs_deploy.ir.from_checkpoint_weights`, one 1 x 100 "image" of noise inputs) goes through
:func:`ttfs_deploy.compiler.pipeline.compile_network` without calibration data (no clipping: the
compiler's calibration scores classification decisions, which a generator does not make), and the
backend runs the noise spike times directly (``backend(name).simulate(ir, t_in, early_stop=False)``).
Images are decoded from G's output spike times with :func:`ttfs_deploy.coding.decode_ttfs`. The
same seed gives the same noise on every target, so golden and loihi-sim give identical images.
"""

from __future__ import annotations

import pathlib
from dataclasses import dataclass

import numpy as np

from ttfs_deploy.coding import decode_ttfs
from ttfs_deploy.compiler.pipeline import DEFAULT_PROFILE, compile_network
from ttfs_deploy.errors import UsageError
from ttfs_deploy.ir import NetworkIR, from_checkpoint_weights

__all__ = [
    "SAMPLE_TARGETS",
    "Samples",
    "load",
    "noise_times",
    "network_ir",
    "sample",
    "profile_samples",
    "quality",
    "make_judge",
    "save_grid",
    "check_samples_budget",
]

SAMPLE_TARGETS = ("float", "golden", "loihi-sim")
MAX_SAMPLES = 1_000_000


@dataclass(frozen=True)
class Samples:
    """Generated images ``(n, h, w)`` uint8, the noise and (integer targets) every G layer's spike times."""

    images: np.ndarray
    noise: np.ndarray
    times: list[np.ndarray] | None
    ir: NetworkIR | None  # the compiled generator (integer targets)
    target: str


def load(path: str | pathlib.Path):
    """A GAN checkpoint (:func:`ttfs_deploy.train.gan_checkpoint.load_gan`), or a shipped one by name
    (``gan-digit-3``); one-line error otherwise."""
    from ttfs_deploy.models import resolve_model
    from ttfs_deploy.train.gan_checkpoint import load_gan

    return load_gan(resolve_model(path))


def noise_times(n: int, size: int, T: int, seed: int) -> np.ndarray:
    """``(n, size)`` int64 noise spike times from U{0, ..., T} (``T`` = silent), fixed by ``seed``."""
    if not 1 <= n <= MAX_SAMPLES:
        raise UsageError(f"--n must be 1..{MAX_SAMPLES:,} samples, got {n}")
    return np.random.default_rng(seed).integers(0, T + 1, size=(n, size), dtype=np.int64)


def network_ir(ckpt, net: str = "G") -> NetworkIR:
    """The float IR of a spiking GAN's generator (``"G"``) or discriminator (``"D"``)."""
    if ckpt.kind != "spiking":
        raise UsageError("this is the ANN GAN baseline: it runs on --target float only")
    model = getattr(ckpt.model, net)
    weights = [w.detach().double().numpy() for w in model.weights]
    shape = (1, ckpt.noise_size) if net == "G" else ckpt.image_shape
    meta = {"gan": net, "digit": ckpt.digit}
    return from_checkpoint_weights(weights, model.thresholds, ckpt.T, ckpt.zero_policy, shape, meta)


def _compiled(ckpt, net: str, target: str, profile: str) -> NetworkIR:
    return compile_network(network_ir(ckpt, net), target, profile, calibration=None).ir


def _run(ir: NetworkIR, target: str, t_in: np.ndarray, timeout_s: float | None) -> list[np.ndarray]:
    from ttfs_deploy.backends import backend, missing

    why = missing(target)
    if why:
        raise UsageError(f"target {target} is not available here: {why}")
    return backend(target).simulate(ir, t_in, early_stop=False, timeout_s=timeout_s)


def sample(
    ckpt, n: int, seed: int, target: str = "golden", profile: str = DEFAULT_PROFILE, timeout_s: float | None = None
) -> Samples:
    """``n`` images from the generator on ``target`` (float, golden or loihi-sim) with noise seed ``seed``."""
    if target not in SAMPLE_TARGETS:
        raise UsageError(f"unknown sample target {target!r}; one of {', '.join(SAMPLE_TARGETS)}")
    z = noise_times(n, ckpt.noise_size, ckpt.T, seed)
    shape = (n, *ckpt.image_shape)
    if target == "float":
        import torch

        from ttfs_deploy.reproducible import one_thread

        with one_thread():
            if ckpt.kind == "ann":
                return Samples(ckpt.model.images(torch.from_numpy(z).float()).reshape(shape), z, None, None, target)
            times = [t.numpy() for t in ckpt.model.G.spike_times(torch.from_numpy(z))]
        return Samples(decode_ttfs(times[-1], ckpt.T).reshape(shape), z, times, None, target)
    ir = _compiled(ckpt, "G", target, profile)
    times = _run(ir, target, z, timeout_s)
    return Samples(decode_ttfs(times[-1], ckpt.T).reshape(shape), z, times, ir, target)


def profile_samples(ckpt, samples: Samples, profile: str = DEFAULT_PROFILE, timeout_s: float | None = None) -> dict:
    """Spikes, synaptic ops and energy per generated sample: G alone, and G + D (D judging G's output).

    D runs on the same target as the samples (golden for float samples), on G's output spike times.
    ``spikes_g_plus_d`` counts G's output spikes once more as D's input, as the paper's bound of
    2,470 (= 100 + 400 + 784 + 784 + 400 + 2 neurons) does.
    """
    from ttfs_deploy.compiler.hardware import load_profile
    from ttfs_deploy.measure.costs import network_costs

    if samples.times is None:
        raise UsageError("the ANN GAN baseline has no spikes to profile")
    target = "golden" if samples.target == "float" else samples.target
    g_ir = samples.ir if samples.ir is not None else _compiled(ckpt, "G", target, profile)
    d_ir = _compiled(ckpt, "D", target, profile)
    hw = load_profile(profile)
    g_times = samples.times if samples.ir is not None else _run(g_ir, target, samples.noise, timeout_s)
    d_times = _run(d_ir, target, g_times[-1], timeout_s)
    g, d = (network_costs(t, ir, False, target, hw) for t, ir in ((g_times, g_ir), (d_times, d_ir)))
    g_spikes = sum(layer.spikes for layer in g.layers)
    d_spikes = sum(layer.spikes for layer in d.layers)  # its input layer = G's output spikes again
    total = None if g.energy_total_nj is None or d.energy_total_nj is None else g.energy_total_nj + d.energy_total_nj
    return {
        "target": target,
        "profile": profile,
        "n": int(samples.noise.shape[0]),
        "spikes_per_layer_g": {layer.name: layer.spikes for layer in g.layers},
        "spikes_per_layer_d": {layer.name: layer.spikes for layer in d.layers},
        "spikes_g": g_spikes,
        "spikes_g_plus_d": g_spikes + d_spikes,
        "neurons_g_plus_d": sum(g_ir.sizes) + sum(d_ir.sizes),
        "synaptic_ops_g": sum(layer.synaptic_ops for layer in g.layers),
        "synaptic_ops_g_plus_d": sum(layer.synaptic_ops for layer in g.layers + d.layers),
        "energy_g_nj": g.energy_total_nj,
        "energy_terms_g_nj": {key: _nj(term["value"]) for key, term in g.energy_pj.items()},
        "energy_g_plus_d_nj": total,
        "energy_is_estimate": g.energy_is_estimate,
        "d_says_real": float((d_times[-1][:, 1] < d_times[-1][:, 0]).mean()),
    }


JUDGE = {"sizes": [784, 128, 10], "epochs": 15, "shift": 2}


def make_judge(seed: int = 0, progress: bool = False):
    """The quality judge: a ReLU MLP (:data:`JUDGE`) trained on mnist-5k:train with
    :func:`ttfs_deploy.train.ann_baseline.fit_mlp` (deterministic with ``seed``)."""
    from ttfs_deploy import data as data_mod
    from ttfs_deploy.reproducible import one_thread
    from ttfs_deploy.train.ann_baseline import fit_mlp

    with one_thread():
        return fit_mlp(
            JUDGE["sizes"], data_mod.load("mnist-5k:train"), JUDGE["epochs"], JUDGE["shift"], seed, progress=progress
        )


def check_samples_budget(ckpt, samples: Samples, budget_path, profile: str = DEFAULT_PROFILE) -> list:
    """The generator's spike budget, checked like any network's (:func:`ttfs_deploy.measure.budget.check_budget`).

    Spikes, energy and per-layer limits (``input``, ``fc1``, ``fc2``) apply to G per generated sample,
    on golden spike times; ``min_accuracy`` has no meaning for a generator and is refused. The run's
    "decision" is G's first output spike (``max_decision_steps``, ``max_spikes_until_decision``).
    """
    from ttfs_deploy.compiler.hardware import load_profile
    from ttfs_deploy.measure.budget import BudgetError, check_budget, load_budget
    from ttfs_deploy.measure.costs import network_costs
    from ttfs_deploy.semantics import classify

    budget = load_budget(budget_path)
    if "min_accuracy" in budget.limits:
        raise BudgetError(f"{budget_path}: a generator has no accuracy; remove min_accuracy")
    target = "golden" if samples.target == "float" else samples.target
    ir = samples.ir if samples.ir is not None else _compiled(ckpt, "G", target, profile)
    times = samples.times if samples.ir is not None else _run(ir, target, samples.noise, None)
    budget.check_layers([layer.name for layer in ir.chain()])
    run = classify(times, np.zeros(len(samples.noise), dtype=np.int64), ir.T, target)
    return check_budget(budget, run, network_costs(times, ir, False, target, load_profile(profile)))


def _nj(pj: float | None) -> float | None:
    return None if pj is None else pj / 1000


def quality(images: np.ndarray, digit: int | None, judge=None, judge_seed: int = 0) -> dict:
    """Intended-digit fraction, Fréchet distance and diversity of ``images`` against mnist-5k:train.

    The judge (:func:`make_judge`) is trained on mnist-5k:train; its hidden layer is the feature
    space. Real references: the training digits of the class (what the GAN learnt from) and the
    held-out mnist-5k:val digits of the class (the judge's own accuracy on real digits, and the
    Fréchet distance real-to-real at that sample size).
    """
    import torch

    from ttfs_deploy import data as data_mod
    from ttfs_deploy.measure.gan_quality import frechet_distance, intended_fraction, mean_pairwise_distance
    from ttfs_deploy.reproducible import one_thread
    from ttfs_deploy.train.epochs import pixels

    judge = make_judge(judge_seed) if judge is None else judge
    train, val = data_mod.load("mnist-5k:train"), data_mod.load("mnist-5k:val")

    def judged(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = pixels(np.asarray(x).reshape(len(x), -1))
        with torch.no_grad(), one_thread():
            return judge[1](judge[0](x)).numpy().astype(np.float64), judge(x).argmax(dim=1).numpy()

    real = train.images if digit is None else train.images[train.labels == digit]
    held_out = val.images if digit is None else val.images[val.labels == digit]
    (gen_f, gen_p), (real_f, _), (val_f, val_p) = judged(images), judged(real), judged(held_out)
    result = {
        "n": len(images),
        "digit": digit,
        "frechet": frechet_distance(real_f, gen_f),
        "frechet_real_val": frechet_distance(real_f, val_f),
        "diversity": mean_pairwise_distance(images),
        "diversity_real": mean_pairwise_distance(real),
        "judge": f"{'-'.join(map(str, JUDGE['sizes']))} ReLU MLP on mnist-5k:train "
        f"({JUDGE['epochs']} epochs, shift {JUDGE['shift']}, seed {judge_seed})",
        "judge_val_accuracy": float((judged(val.images)[1] == val.labels).mean()),
    }
    if digit is not None:
        result["intended"] = intended_fraction(gen_p, digit)
        result["intended_real_val"] = intended_fraction(val_p, digit)
    else:  # an all-digit generator: which digits it makes (collapse onto a few classes shows here)
        result["judged_classes"] = np.bincount(gen_p, minlength=10).tolist()
    result["diversity_ratio"] = result["diversity"] / result["diversity_real"]
    return result


def save_grid(images: np.ndarray, path: str | pathlib.Path, columns: int = 8) -> None:
    """Write ``images`` ((n, 784) or (n, 28, 28) uint8) as one grey PNG grid, ``columns`` wide (atomically)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    from ttfs_deploy.fileio import atomic_write

    images = np.asarray(images).reshape(len(images), 28, 28)
    rows = -(-len(images) // columns)
    grid = np.zeros((rows * 29 + 1, columns * 29 + 1), dtype=np.uint8)
    for k, image in enumerate(images):
        r, c = divmod(k, columns)
        grid[1 + 29 * r : 29 * (r + 1), 1 + 29 * c : 29 * (c + 1)] = image
    atomic_write(path, lambda stream: plt.imsave(stream, grid, cmap="gray", vmin=0, vmax=255, format="png"))
