"""Training loop for TTFSClassifier (deterministic with a seed; never imports Lava).

Mini-batch version of S4NN's per-sample SGD: the gradient of a batch is the *sum* of the per-sample
S4NN updates (each sample's error normalised on its own), and weight decay shrinks the weights by
``lr * decay`` once per sample, applied after the step as S4NN does. With ``batch_size=1`` this is
exactly S4NN's update except that the hidden error uses the output weights from before this sample's
update (S4NN uses them after; the difference is of order ``lr``; see tests/test_training.py).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
from tqdm import tqdm

from ttfs_deploy.coding import encode_ttfs
from ttfs_deploy.reproducible import one_thread
from ttfs_deploy.semantics.readout import RunResult, classify
from ttfs_deploy.train.epochs import batch_indices, epoch_images
from ttfs_deploy.train.losses import temporal_loss
from ttfs_deploy.train.model import TTFSClassifier

if TYPE_CHECKING:
    from ttfs_deploy.data import Dataset

__all__ = ["TrainConfig", "EpochLog", "train", "train_step", "run_epoch", "evaluate", "config_dict"]


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a training run (recorded in the checkpoint)."""

    arch: tuple[int, ...] = (784, 400, 10)
    loss: str = "aggressive"
    optimizer: str = "sgd"  # "sgd" (S4NN) or "adam" (same gradient, per-weight step sizes)
    epochs: int = 30
    seed: int = 0
    batch_size: int = 32
    lr: tuple[float, ...] = (0.2, 0.2)
    lr_final_fraction: float = 0.1  # lr decays linearly (per epoch) to this fraction of its start
    decay: float = 1e-6
    gamma: int = 3
    norm: str = "l2"
    T: int = 256
    zero_policy: str = "silent"
    thresholds: tuple[float, ...] = (100.0, 100.0)
    init_scale: float = 1.0  # multiplies the S4NN init bounds (see nn.model.default_init_bounds)
    shift: int = 2  # augmentation: random shifts of up to this many pixels in x and y (0 = off)
    dead_fraction: float = 0.001  # hidden neurons firing on fewer samples than this are re-initialised
    init_from: str | None = None  # checkpoint whose weights start the run (fine-tuning), recorded for provenance
    # "ann" (as the CLI): start from a converted binary network, whose weights train() takes as
    # initial_weights (ttfs_deploy.train.ann_init.ann_initial_weights); "s4nn": S4NN's uniform random start
    init: str = "ann"
    ann_epochs: int = 30  # training epochs of that MLP


@dataclass
class EpochLog:
    """Per-epoch record: training loss, validation accuracy / decision step / spikes, re-initialised neurons."""

    epoch: int
    loss: float
    val_accuracy: float
    val_mean_decision_step: float
    val_mean_spikes_until_decision: float
    reinitialised: int


def evaluate(model: TTFSClassifier, data: Dataset, zero_policy: str, target: str = "float") -> RunResult:
    """Run the float model on ``data`` and classify by first output spike (see :mod:`ttfs_deploy.semantics.readout`)."""
    t_in = torch.from_numpy(encode_ttfs(data.images, model.T, zero_policy))
    times = model.spike_times(t_in)
    return classify([t.numpy() for t in times], data.labels, model.T, target)


def train_step(
    model: TTFSClassifier,
    t_in: torch.Tensor,
    labels: torch.Tensor,
    cfg: TrainConfig,
    lrs: list[float],
    adam: torch.optim.Optimizer | None = None,
) -> tuple[list[torch.Tensor], float]:
    """One update on a batch of input spike times (steps); returns the layer times and the loss.

    SGD: ``W -= lr * dL/dW`` with the S4NN gradient, then ``W *= 1 - lr * decay * batch`` (S4NN's
    per-sample weight decay, applied after the step).
    """
    times = model(t_in)
    loss = temporal_loss(times[-1], labels, cfg.T, cfg.loss, cfg.gamma)
    model.zero_grad(set_to_none=True)
    loss.backward()
    with torch.no_grad():
        if adam is not None:
            for group, lr in zip(adam.param_groups, lrs):
                group["lr"] = lr
            adam.step()
        for weight, lr in zip(model.weights, lrs):
            if adam is None:
                weight -= lr * weight.grad
            weight *= 1 - lr * cfg.decay * len(t_in)
    return [t.detach() for t in times], float(loss.detach())


def run_epoch(
    model: TTFSClassifier,
    t_all: torch.Tensor,
    labels: torch.Tensor,
    cfg: TrainConfig,
    lrs: list[float],
    generator: torch.Generator,
    adam: torch.optim.Optimizer | None = None,
) -> tuple[list[torch.Tensor], float]:
    """One pass over ``t_all`` (input spike times, steps) in shuffled batches.

    Returns how many samples each hidden neuron fired on (one tensor per hidden layer) and the summed loss.
    """
    fired = [torch.zeros(n, dtype=torch.long) for n in cfg.arch[1:-1]]
    total_loss = 0.0
    for idx in batch_indices(len(t_all), cfg.batch_size, generator):
        times, loss = train_step(model, t_all[idx], labels[idx], cfg, lrs, adam)
        for count, hidden in zip(fired, times[1:-1]):
            count += (hidden < cfg.T).sum(dim=0).long()
        total_loss += loss
    return fired, total_loss


def train(
    cfg: TrainConfig,
    train_set: Dataset,
    val_set: Dataset,
    progress: bool = True,
    dtype: torch.dtype = torch.float32,
    initial_weights: list[torch.Tensor] | None = None,
) -> tuple[TTFSClassifier, list[EpochLog]]:
    """Train a TTFSClassifier; returns the final model and one :class:`EpochLog` per epoch.

    ``initial_weights`` (one tensor per layer) replace the random initialisation, for fine-tuning.
    """
    if len(cfg.lr) != len(cfg.arch) - 1:
        raise ValueError(f"need one learning rate per weight layer ({len(cfg.arch) - 1}), got {len(cfg.lr)}")
    if cfg.init == "ann" and initial_weights is None:
        raise ValueError("init='ann' starts from converted weights: pass ann_init.ann_initial_weights(...).weights")
    torch.manual_seed(cfg.seed)
    generator = torch.Generator().manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    model = TTFSClassifier(list(cfg.arch), list(cfg.thresholds), cfg.T, cfg.norm).to(dtype)
    model.init_weights(generator, cfg.init_scale)
    if initial_weights is not None:
        with torch.no_grad():
            for weight, start in zip(model.weights, initial_weights, strict=True):
                weight.copy_(start)
    adam = torch.optim.Adam([{"params": [w]} for w in model.weights]) if cfg.optimizer == "adam" else None
    logs: list[EpochLog] = []
    bar = tqdm(range(cfg.epochs), desc="training", unit="epoch", disable=not progress)
    with one_thread():  # a seeded run repeats bit for bit (ttfs_deploy.reproducible)
        for epoch in bar:
            frac = epoch / max(cfg.epochs - 1, 1)
            lrs = [lr * (1 - frac * (1 - cfg.lr_final_fraction)) for lr in cfg.lr]
            images = epoch_images(train_set, cfg.shift, rng)
            t_all = torch.from_numpy(encode_ttfs(images, cfg.T, cfg.zero_policy))
            labels_all = torch.from_numpy(train_set.labels)
            fired, total_loss = run_epoch(model, t_all, labels_all, cfg, lrs, generator, adam)
            n_dead = 0
            for layer, count in enumerate(fired):
                dead = torch.nonzero(count < cfg.dead_fraction * len(images)).flatten()
                if len(dead):
                    model.reinit_neurons(layer, dead, generator)
                n_dead += len(dead)
            result = evaluate(model, val_set, cfg.zero_policy)
            summary = result.to_json()
            logs.append(
                EpochLog(
                    epoch + 1,
                    total_loss / len(images),
                    summary["accuracy"],
                    summary["mean_decision_step"],
                    summary["mean_spikes_until_decision"],
                    n_dead,
                )
            )
            bar.set_postfix(
                loss=f"{logs[-1].loss:.3f}",
                val_acc=f"{summary['accuracy']:.4f}",
                step=f"{summary['mean_decision_step']:.1f}",
            )
    return model, logs


def config_dict(cfg: TrainConfig) -> dict:
    """TrainConfig as plain built-in types (for checkpoints and JSON)."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(cfg).items()}
