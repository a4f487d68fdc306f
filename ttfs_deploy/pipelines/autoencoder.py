"""Seed 002's comparison: a rate-coded spiking autoencoder against the same-shape ANN autoencoder.

For a shipped (or given) spiking AE checkpoint: its reconstructions on held-out images on the golden
simulator (compiled) and in float, and an ANN AE of the same shape trained here on the same training
images for the same number of epochs and seed (:mod:`ttfs_deploy.train.ae_ann`); quality is seed
002's normalised MSE for all three. ``grid`` draws originals above each model's reconstructions.
"""

from __future__ import annotations

import pathlib

import numpy as np

from ttfs_deploy import data as data_mod
from ttfs_deploy.data import Dataset
from ttfs_deploy.pipelines.run import run_target

__all__ = ["autoencoder_row", "autoencoder_markdown", "grid"]


def autoencoder_row(model: pathlib.Path, data: Dataset, with_images: bool = False) -> dict:
    """MSE of the spiking AE (golden, float) and of the same-shape ANN AE on ``data``."""
    from ttfs_deploy.models import resolve_model
    from ttfs_deploy.train.ae_ann import ae_ann_reconstruct, train_ae_ann
    from ttfs_deploy.train.lif_checkpoint import load_rate_checkpoint

    ckpt = load_rate_checkpoint(resolve_model(model))
    golden = run_target(str(model), "golden", data).result
    floating = run_target(str(model), "float", data).result
    settings = ckpt.train
    train_set = data_mod.load(settings.get("data", "mnist-5k:train")).head(settings.get("n_train"))
    epochs, seed = int(settings.get("epochs", 1)), int(settings.get("seed", 0))
    ann = train_ae_ann(ckpt.model.sizes, train_set, epochs, seed)
    ann_recon, ann_mse = ae_ann_reconstruct(ann, data)
    row = {
        "model": pathlib.Path(model).name,
        "arch": "-".join(map(str, ckpt.model.sizes)),
        "T": ckpt.model.T,
        "leak": ckpt.model.dv,
        "n": golden.to_json()["n"],
        "mse_snn_golden": golden.mse,
        "mse_snn_float": floating.mse,
        "mse_ann": ann_mse,
        "ann": f"sigmoid {'-'.join(map(str, ckpt.model.sizes))}, Adam lr 1e-3, {epochs} epochs on {train_set.name} "
        f"({len(train_set.labels)} images), seed {seed}",
        "snn_wins": bool(golden.mse < ann_mse),
        "mean_spikes_total": golden.to_json()["mean_spikes_total"],
    }
    if with_images:
        row["_images"] = (data.images, golden.reconstructions, ann_recon)
    return row


def autoencoder_markdown(rows: list[dict]) -> list[str]:
    """The autoencoder table as Markdown lines."""
    if not rows:
        return []
    lines = [
        "",
        "## Autoencoders (seed 002): spiking vs same-shape ANN, normalised MSE on held-out images",
        "",
        "| model | arch | T | leak | n | SNN golden | SNN float | ANN | SNN better | spikes per inference |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['model']} | {r['arch']} | {r['T']} | {r['leak']:g} | {r['n']} | {r['mse_snn_golden']:.4f} | "
            f"{r['mse_snn_float']:.4f} | {r['mse_ann']:.4f} | {'yes' if r['snn_wins'] else 'no'} | "
            f"{r['mean_spikes_total']:,.0f} |"
        )
    lines += [
        "",
        "ANN: " + "; ".join(f"{r['model']}: {r['ann']}" for r in rows) + ". Seed 002's finding (on 60k "
        "images, 1 epoch): the spiking AE beats the ANN AE on Fashion-MNIST, not on MNIST (paper's Figs. 5-6).",
    ]
    return lines


def grid(path: pathlib.Path, images: list[np.ndarray], labels: list[str], shape=(28, 28), count: int = 10) -> None:
    """One row per image set (originals first), ``count`` columns, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(images), count, figsize=(count, len(images) * 1.1))
    for row, (batch, label) in enumerate(zip(images, labels)):
        for col in range(count):
            ax = axes[row, col]
            ax.imshow(np.asarray(batch[col]).reshape(shape), cmap="gray", vmin=0, vmax=255)
            ax.set_xticks([])
            ax.set_yticks([])
        axes[row, 0].set_ylabel(label, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
