"""hw14.q2 plots: per-epoch curves of the three strategies, and t-SNE maps of their embeddings, drawn in each
report language (strategy names: ``spec.WORDS["value"]``)."""

from __future__ import annotations

from typing import Mapping

import numpy as np

from dlgrade.kit import plots

from .spec import WORDS

PANELS = (("test_triplet_loss", {"en": "test random-triplet loss", "fa": "ضرر سه‌تایی‌های تصادفی آزمون"}),
          ("train_active", {"en": "active share\n(train random triplets)", "fa": "سهم سه‌تایی‌های فعال\n(سه‌تایی‌های تصادفی آموزش)"}),
          ("test_knn1_accuracy", {"en": "1-NN test accuracy", "fa": "صحت 1-NN روی آزمون"}))
EPOCH = {"en": "epoch", "fa": "دوره"}
SPLIT = {"train": {"en": "{n} train", "fa": "{n} آموزش"}, "test": {"en": "{n} test", "fa": "{n} آزمون"}}


def _name(strategy: str, lang: str) -> str:
    return plots.text(WORDS["value"][strategy], lang)


def curves(histories: Mapping[str, Mapping[str, list]], *, lang: str):
    """Three panels in a 2 x 2 grid (the legend in the fourth), one line per strategy: test random-triplet loss,
    active share of train random triplets, 1-NN accuracy."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=plots.size(1.0, 0.66), layout="constrained")
    for ax, (key, words) in zip(axes.flat, PANELS):
        for s, h in histories.items():
            ax.plot(np.arange(1, len(h[key]) + 1), h[key], marker="o", markersize=3, label=_name(s, lang))
        ax.set_xlabel(plots.text(EPOCH, lang))
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.set_ylabel(plots.text(words, lang))
        ax.grid(alpha=0.3)
    spare = axes.flat[-1]
    spare.axis("off")
    handles, names = axes.flat[0].get_legend_handles_labels()
    spare.legend(handles, names, loc="center", markerfirst=lang != "fa")
    return fig


def tsne(maps: Mapping[str, tuple[np.ndarray, np.ndarray, np.ndarray]], *, lang: str):
    """One column per strategy: t-SNE of train (top row) and test (bottom row) embeddings, coloured by digit and
    each digit's label at its median."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, len(maps), figsize=plots.size(1.0, 0.66), squeeze=False, layout="constrained")
    cmap = plt.get_cmap("tab10")
    for col, (s, (pts, labels, split)) in enumerate(maps.items()):
        for row, part in enumerate(("train", "test")):
            ax, sel = axes[row, col], split == part
            for d in range(10):
                m = sel & (labels == d)
                ax.scatter(pts[m, 0], pts[m, 1], s=4, color=cmap(d))
                if m.any():
                    cx, cy = np.median(pts[m, 0]), np.median(pts[m, 1])
                    ax.text(cx, cy, plots.text(str(d), lang), fontsize=10, weight="bold", ha="center", va="center",
                            bbox={"boxstyle": "round,pad=0.15", "fc": "white", "alpha": 0.7, "lw": 0})
            ax.set_title(_name(s, lang) + "\n" + plots.text(SPLIT[part], lang, n=int(sel.sum())), fontsize=8.5)
            ax.set_xticks([])
            ax.set_yticks([])
    return fig
