"""Plots shared by the tasks: learning curves, confusion matrices, bar charts. Written as PNG files."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

DPI = 150


def save(fig, path: Path) -> Path:
    """Lay out, write as PNG and close ``fig``."""
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return Path(path)


def learning_curves(histories: Mapping[str, Mapping[str, Sequence[float]]], path: Path,
                    metrics: Sequence[str] = ("accuracy", "loss"), title: str = "") -> Path:
    """One panel per metric; a solid line for training and a dashed one for validation per history.

    Args:
        histories: label -> Keras ``History.history`` dict.
        path: PNG file to write.
        metrics: metric names (``val_`` variants are drawn when present).
    """
    fig, axes = plt.subplots(1, len(metrics), figsize=(5.2 * len(metrics), 3.6), squeeze=False)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, metric in zip(axes[0], metrics):
        for i, (label, hist) in enumerate(histories.items()):
            c = colours[i % len(colours)]
            style = {"color": c, "marker": "o" if len(hist.get(metric, [])) <= 15 else None, "markersize": 3}
            if metric in hist:
                ax.plot(np.arange(1, len(hist[metric]) + 1), hist[metric], label=f"{label} train", **style)
            if f"val_{metric}" in hist:
                ax.plot(np.arange(1, len(hist[f"val_{metric}"]) + 1), hist[f"val_{metric}"], ls="--", label=f"{label} val", **style)
        ax.set_xlabel("epoch")
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    if title:
        fig.suptitle(title)
    return save(fig, path)


def confusion_matrix(matrix: np.ndarray, labels: Sequence[str], path: Path, normalise: bool = True, title: str = "") -> Path:
    """A heat map of a confusion matrix (rows: true class, columns: predicted)."""
    m = np.asarray(matrix, dtype=np.float64)
    shown = m / np.maximum(m.sum(axis=1, keepdims=True), 1) if normalise else m
    n = len(labels)
    fig, ax = plt.subplots(figsize=(0.55 * n + 2.5, 0.55 * n + 2))
    im = ax.imshow(shown, cmap="Blues", vmin=0, vmax=1 if normalise else None)
    ax.set_xticks(range(n), labels, rotation=45, ha="right")
    ax.set_yticks(range(n), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in range(n):
        for j in range(n):
            ax.text(j, i, f"{shown[i, j]:.2f}" if normalise else f"{int(m[i, j])}", ha="center", va="center",
                    fontsize=7, color="white" if shown[i, j] > (0.5 if normalise else shown.max() / 2) else "black")
    fig.colorbar(im, ax=ax, fraction=0.046)
    if title:
        ax.set_title(title)
    return save(fig, path)


def bars(values: Mapping[str, float], path: Path, ylabel: str, title: str = "", reference: float | None = None) -> Path:
    """A bar chart of labelled values with an optional reference line."""
    fig, ax = plt.subplots(figsize=(max(4, 0.8 * len(values) + 2), 3.4))
    ax.bar(list(values), list(values.values()), color="#4c72b0")
    for i, v in enumerate(values.values()):
        ax.text(i, v, f"{v:.3f}", ha="center", va="bottom", fontsize=8)
    if reference is not None:
        ax.axhline(reference, color="#c44e52", ls="--", label="reference")
        ax.legend(fontsize=8)
    ax.set_ylabel(ylabel)
    ax.tick_params(axis="x", rotation=20)
    if title:
        ax.set_title(title)
    return save(fig, path)
