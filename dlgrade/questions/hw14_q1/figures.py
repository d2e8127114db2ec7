"""hw14.q1 plots: 2-D PCA maps of word groups with analogy arrows, and occupations projected on the gender
direction. Labels in the PNGs are the English words of the codes (``spec.WORDS``)."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from dlgrade.kit import plots

from .spec import WORDS

STYLE = {"font.size": 9, "axes.titlesize": 10, "axes.labelsize": 9, "legend.fontsize": 8,
         "xtick.labelsize": 8, "ytick.labelsize": 8}
ARROW_COLOURS = {"gender": "#c0392b", "age": "#2471a3", "plural": "#7d3c98", "adult_to_young": "#1e8449",
                 "old_to_young": "#b9770e"}


def _en(kind: str, code: str) -> str:
    return WORDS[kind][code]["en"]


def pca_map(points: Mapping[str, np.ndarray], groups: Mapping[str, Sequence[str]], arrows: Sequence[tuple[str, str, str]],
            stars: Mapping[str, np.ndarray], explained: Sequence[float], title: str, path: Path) -> Path:
    """Draw a 2-D map of word groups with labelled points, analogy arrows and starred extra points.

    Args:
        points: word -> its 2-D position.
        groups: group code -> its words (one colour per group).
        arrows: ``(from, to, kind)``; one colour per kind.
        stars: label -> 2-D position of an extra point (drawn as a black star, label in italics).
        explained: explained-variance ratio of the two axes.
        title: the map's title.
        path: PNG file to write.
    """
    import matplotlib.pyplot as plt

    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(6.8, 4.3))
        colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
        for i, (name, words) in enumerate(groups.items()):
            pts = np.array([points[w] for w in words])
            ax.scatter(pts[:, 0], pts[:, 1], s=22, color=colours[i % len(colours)], label=_en("group", name), zorder=3)
        shown_kinds = set()
        for f, t, kind in arrows:
            colour = ARROW_COLOURS.get(kind, "#555555")
            ax.annotate("", xy=points[t], xytext=points[f], zorder=2,
                        arrowprops={"arrowstyle": "-|>", "color": colour, "lw": 1.1, "alpha": 0.8, "shrinkA": 4, "shrinkB": 4})
            if kind not in shown_kinds:
                ax.plot([], [], color=colour, lw=1.2, label=f"arrow: {_en('arrow', kind)}")
                shown_kinds.add(kind)
        for p in stars.values():
            ax.scatter([p[0]], [p[1]], marker="*", s=110, color="black", zorder=4)
        if stars:
            ax.scatter([], [], marker="*", s=80, color="black", label="analogy point / its answer")
        ax.margins(0.12)
        ax.set_xlabel(f"PC 1 ({100 * explained[0]:.0f}% of variance)")
        ax.set_ylabel(f"PC 2 ({100 * explained[1]:.0f}% of variance)")
        ax.set_title(title)
        ax.grid(alpha=0.25)
        ax.legend(loc="best", framealpha=0.85)
        fig.tight_layout()
        ax.set_xlim(ax.get_xlim())
        ax.set_ylim(ax.get_ylim())
        words = [w for ws in groups.values() for w in ws]
        plots.place_labels(ax, {w: (points[w], {}) for w in words} | {k: (v, {"style": "italic"}) for k, v in stars.items()},
                           fontsize=9)
        return plots.save(fig, path)


def projection_plot(projections: Mapping[str, float], path: Path, title: str) -> Path:
    """Horizontal bars of each occupation's projection on the gender direction (female side positive), sorted."""
    import matplotlib.pyplot as plt

    names = list(projections)
    order = np.argsort(list(projections.values()))
    names = [names[i] for i in order]
    values = np.asarray(list(projections.values()))[order]
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(6.8, 4.3))
        ax.barh(range(len(names)), values, color=["#c0392b" if v > 0 else "#2471a3" for v in values], height=0.72)
        ax.set_yticks(range(len(names)), names, fontsize=8)
        ax.axvline(0, color="black", lw=0.8)
        ax.set_xlabel("cosine with the gender direction  (← he side    she side →)")
        ax.set_title(title)
        ax.grid(axis="x", alpha=0.3)
        ax.set_ylim(-0.7, len(names) - 0.3)
        return plots.save(fig, path)
