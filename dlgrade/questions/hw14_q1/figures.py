"""hw14.q1 plots: 2-D PCA maps of word groups with analogy arrows, and occupations projected on the gender
direction, drawn in each report language. The points are GloVe's English words and stay Latin in both; titles,
axes, legends (group and arrow names: ``spec.WORDS``) are in the report's language."""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from dlgrade.kit import plots

from .spec import WORDS

ARROW_COLOURS = {"gender": "#c0392b", "age": "#2471a3", "plural": "#7d3c98", "adult_to_young": "#1e8449",
                 "old_to_young": "#b9770e"}
TEXT = {
    "arrow": {"en": "arrow: {kind}", "fa": "پیکان: {kind}"},
    "stars": {"en": "analogy point / its answer", "fa": "نقطهٔ قیاس / پاسخ آن"},
    "answer": {"en": "{word} (top-1)", "fa": "{word} (اولین پاسخ)"},
    "pc": {"en": "PC {i} ({share}% of variance)", "fa": "مؤلفهٔ اصلی {i} ({share}٪ واریانس)"},
    "projection": {"en": "cosine with the gender direction  (← he side    she side →)",
                   "fa": "کسینوس با جهت جنسیت  (← سمت he    سمت she →)"},
    "projection_title": {"en": "Occupations projected on the gender direction (PCA of {n} she/he pairs)",
                         "fa": "پیش‌نگاشت شغل‌ها بر جهت جنسیت (PCA روی {n} جفت she/he)"},
}


def pca_map(points: Mapping[str, np.ndarray], groups: Mapping[str, Sequence[str]], arrows: Sequence[tuple[str, str, str]],
            stars: Mapping[str, np.ndarray], explained: Sequence[float], name: str, answer: str | None = None, *, lang: str):
    """Draw a 2-D map of word groups with labelled points, analogy arrows and starred extra points.

    Args:
        points: word -> its 2-D position.
        groups: group code -> its words (one colour per group).
        arrows: ``(from, to, kind)``; one colour per kind.
        stars: label -> 2-D position of an extra point (drawn as a black star, label in italics).
        explained: explained-variance ratio of the two axes.
        name: the map's code (its title is ``WORDS["map"][name]``).
        answer: the star that is the analogy's answer (labelled "(top-1)").
    """
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=plots.size(1.0, 0.62), layout="constrained")
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (group, words) in enumerate(groups.items()):
        pts = np.array([points[w] for w in words])
        ax.scatter(pts[:, 0], pts[:, 1], s=22, color=colours[i % len(colours)], label=plots.text(WORDS["group"][group], lang), zorder=3)
    shown_kinds = set()
    for f, t, kind in arrows:
        colour = ARROW_COLOURS.get(kind, "#555555")
        ax.annotate("", xy=points[t], xytext=points[f], zorder=2,
                    arrowprops={"arrowstyle": "-|>", "color": colour, "lw": 1.1, "alpha": 0.8, "shrinkA": 4, "shrinkB": 4})
        if kind not in shown_kinds:
            ax.plot([], [], color=colour, lw=1.2, label=plots.text(TEXT["arrow"], lang, kind=WORDS["arrow"][kind][lang]))
            shown_kinds.add(kind)
    for p in stars.values():
        ax.scatter([p[0]], [p[1]], marker="*", s=110, color="black", zorder=4)
    if stars:
        ax.scatter([], [], marker="*", s=80, color="black", label=plots.text(TEXT["stars"], lang))
    ax.margins(0.1)
    for i in (0, 1):
        getattr(ax, "set_xlabel" if i == 0 else "set_ylabel")(
            plots.text(TEXT["pc"], lang, i=i + 1, share=f"{100 * explained[i]:.0f}"))
    ax.set_title(plots.text(WORDS["map"][name], lang))
    ax.grid(alpha=0.25)
    plots.legend(ax, lang, where="right")
    fig.canvas.draw()  # fix the layout before the labels are placed in display coordinates
    fig.set_layout_engine("none")
    words = [w for ws in groups.values() for w in ws]
    star_labels = {(plots.text(TEXT["answer"], lang, word=k) if k == answer else plots.text(k, lang)): (v, {"style": "italic"})
                   for k, v in stars.items()}
    plots.place_labels(ax, {plots.text(w, lang): (points[w], {}) for w in words} | star_labels, fontsize=9)
    return fig


def projection_plot(projections: Mapping[str, float], pairs: int, *, lang: str):
    """Horizontal bars of each occupation's projection on the gender direction (female side positive), sorted."""
    import matplotlib.pyplot as plt

    names = list(projections)
    order = np.argsort(list(projections.values()))
    names = [names[i] for i in order]
    values = np.asarray(list(projections.values()))[order]
    fig, ax = plt.subplots(figsize=plots.size(1.0, 0.15 + 0.028 * len(names)), layout="constrained")
    ax.barh(range(len(names)), values, color=["#c0392b" if v > 0 else "#2471a3" for v in values], height=0.72)
    ax.set_yticks(range(len(names)), [plots.text(n, lang) for n in names])
    ax.axvline(0, color="black", lw=0.8)
    ax.set_xlabel(plots.text(TEXT["projection"], lang))
    ax.set_title(plots.text(TEXT["projection_title"], lang, n=pairs))
    ax.grid(axis="x", alpha=0.3)
    ax.set_ylim(-0.7, len(names) - 0.3)
    return fig
