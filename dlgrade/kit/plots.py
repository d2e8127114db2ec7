"""Plots the questions share: learning curves, confusion matrices, non-overlapping point labels. Written as PNG files."""

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


def place_labels(ax, labels: dict, fontsize: float = 9) -> None:
    """Annotate points, choosing for each label the offset (of eight) that overlaps least with labels already
    placed, with every point's marker and with the axes' edges (greedy).

    Args:
        labels: text -> ((x, y) in data coordinates, extra ``annotate`` keyword arguments).
    """
    fig = ax.figure
    to_px = fig.dpi / 72.0
    xy = {k: ax.transData.transform(p) for k, (p, _) in labels.items()}
    h = fontsize * to_px * 1.05
    r = 4 * to_px  # marker half-size in pixels
    boxes = [(x - r, y - r, x + r, y + r) for x, y in xy.values()]
    bbox = ax.get_window_extent()
    edge = (bbox.x0, bbox.y0, bbox.x1, bbox.y1)

    def overlap(b):
        total = 0.0
        for o in boxes:
            w = min(b[2], o[2]) - max(b[0], o[0])
            v = min(b[3], o[3]) - max(b[1], o[1])
            if w > 0 and v > 0:
                total += w * v
        outside = (max(0, edge[0] - b[0]) + max(0, b[2] - edge[2])) * h + (max(0, edge[1] - b[1]) + max(0, b[3] - edge[3])) * h
        return total + 4 * outside

    order = sorted(labels, key=lambda k: xy[k][1])
    for k in order:
        x, y = xy[k]
        w = 0.6 * fontsize * to_px * len(k)
        g = 3 * to_px
        cands = [(g, g), (g, -g - h), (-g - w, g), (-g - w, -g - h), (-w / 2, g + r), (-w / 2, -g - r - h),
                 (g + r, -h / 2), (-g - r - w, -h / 2)]
        best = min(cands, key=lambda c: overlap((x + c[0], y + c[1], x + c[0] + w, y + c[1] + h)))
        boxes.append((x + best[0], y + best[1], x + best[0] + w, y + best[1] + h))
        ax.annotate(k, labels[k][0], xytext=(best[0] / to_px, best[1] / to_px), textcoords="offset points",
                    fontsize=fontsize, ha="left", va="bottom", zorder=5, **labels[k][1])
