"""hw14.q2 plots: per-epoch curves of the three strategies, and t-SNE maps of their embeddings. Strategy names in the
PNGs are the English words of the codes (``spec.WORDS``)."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

import numpy as np

from dlgrade.kit import plots

from .spec import WORDS

PANELS = (("test_triplet_loss", "test random-triplet loss"), ("train_active", "active share (train random triplets)"),
          ("test_knn1_accuracy", "1-NN test accuracy"))


def _name(strategy: str) -> str:
    return WORDS["value"][strategy]["en"]


def curves(histories: Mapping[str, Mapping[str, list]], path: Path) -> Path:
    """Three panels, one line per strategy: test random-triplet loss, active share of train random triplets, 1-NN accuracy."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(PANELS), figsize=(13, 3.6))
    for ax, (key, label) in zip(axes, PANELS):
        for s, h in histories.items():
            ax.plot(np.arange(1, len(h[key]) + 1), h[key], marker="o", markersize=3, label=_name(s))
        ax.set_xlabel("epoch")
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    return plots.save(fig, path)


def tsne(maps: Mapping[str, tuple[np.ndarray, np.ndarray, np.ndarray]], path: Path) -> Path:
    """One column per strategy: t-SNE of train (top row) and test (bottom row) embeddings, coloured by digit."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, len(maps), figsize=(4.4 * len(maps), 8.4), squeeze=False)
    cmap = plt.get_cmap("tab10")
    for col, (s, (pts, labels, split)) in enumerate(maps.items()):
        for row, part in enumerate(("train", "test")):
            ax, sel = axes[row, col], split == part
            for d in range(10):
                m = sel & (labels == d)
                ax.scatter(pts[m, 0], pts[m, 1], s=6, color=cmap(d), label=str(d))
                if m.any():
                    cx, cy = np.median(pts[m, 0]), np.median(pts[m, 1])
                    ax.text(cx, cy, str(d), fontsize=11, weight="bold", ha="center", va="center",
                            bbox={"boxstyle": "round,pad=0.15", "fc": "white", "alpha": 0.7, "lw": 0})
            ax.set_title(f"{_name(s)}: {int(sel.sum())} {part}", fontsize=10)
            ax.set_xticks([])
            ax.set_yticks([])
    axes[0, -1].legend(fontsize=7, markerscale=2, ncol=2, loc="best")
    return plots.save(fig, path)
