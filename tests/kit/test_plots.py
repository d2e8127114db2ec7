"""The shared plots: one drawing per language, Persian text in the Persian figure, print-size legibility,
labels of the word maps that do not overlap."""

from __future__ import annotations

import re

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest

from dlgrade.kit import plots
from dlgrade.typeset.bidi import LRI, PDI
from dlgrade.results import figure_file, missing_figures, TaskResult

HISTORY = {"accuracy": [0.1, 0.2, 0.3], "val_accuracy": [0.1, 0.15, 0.2], "loss": [2.0, 1.5, 1.2], "val_loss": [2.1, 1.8, 1.7]}
LABELS = {"baseline": {"en": "baseline", "fa": "مدل پایه"}}
ISOLATE = re.compile(f"{LRI}[^{PDI}]*{PDI}")


def texts(fig) -> list[str]:
    """Every visible, non-empty text of ``fig`` (titles, labels, ticks, legend entries), once laid out."""
    fig.canvas.draw()
    return [t.get_text() for t in fig.findobj(matplotlib.text.Text) if t.get_visible() and t.get_text().strip()]


def drawn(lang: str, figure, *args, **kwargs):
    with plots.language(lang):
        fig = figure(*args, lang=lang, **kwargs)
        plots.localise_ticks(fig, lang)
        return fig


def test_persian_figure_has_persian_words_and_digits_and_latin_only_in_isolates():
    fig = drawn("fa", plots.learning_curves, {"baseline": HISTORY}, labels=LABELS,
                title={"en": "CIFAR-10: best", "fa": "CIFAR-10: بهترین پیکربندی"})
    shown = texts(fig)
    plt.close(fig)
    joined = "\n".join(shown)
    assert "مدل پایه، آموزش" in joined and "صحت" in joined and "ضرر" in joined
    assert re.search("[۰-۹]", joined) and not re.search("[0-9]", ISOLATE.sub("", joined)), shown
    outside = [s for s in shown if re.search("[A-Za-z]", ISOLATE.sub("", s))]
    assert outside == [], outside


def test_english_figure_has_english_words():
    fig = drawn("en", plots.learning_curves, {"baseline": HISTORY}, labels=LABELS)
    joined = "\n".join(texts(fig))
    plt.close(fig)
    assert "baseline train" in joined and "epoch" in joined and not re.search("[\u0600-\u06ff]", joined)


def test_draw_writes_one_file_per_language(tmp_path):
    result = TaskResult(task="t")
    result.figures["cm"] = "cm.png"
    assert missing_figures(result, tmp_path) == ["cm.en.png", "cm.fa.png"]
    paths = {lang: tmp_path / figure_file("cm.png", lang) for lang in ("en", "fa")}
    plots.draw(paths, plots.confusion_matrix, np.eye(3) * 5 + 1, [{"en": "cat", "fa": "گربه"}, "dog", "frog"])
    assert missing_figures(result, tmp_path) == []
    assert figure_file("a.b.png", "fa") == "a.b.fa.png"
    with pytest.raises(ValueError, match="extension"):
        figure_file("curves", "fa")


def test_figures_too_large_or_with_tiny_text_are_refused(tmp_path):
    fig, ax = plt.subplots(figsize=(plots.PRINT_WIDTH_IN + 2, 3))
    with pytest.raises(ValueError, match="prints at most"):
        plots.save(fig, tmp_path / "wide.png")
    fig, ax = plt.subplots(figsize=plots.size())
    ax.set_title("tiny", fontsize=plots.MIN_FONT_PT - 2)
    with pytest.raises(ValueError, match="tiny"):
        plots.save(fig, tmp_path / "tiny.png")
    plt.close("all")


def test_every_figure_text_is_at_least_the_minimum_size():
    fig = drawn("fa", plots.confusion_matrix, np.arange(100).reshape(10, 10), [str(i) for i in range(10)])
    sizes = [t.get_fontsize() for t in fig.findobj(matplotlib.text.Text) if t.get_text().strip()]
    plt.close(fig)
    assert min(sizes) >= plots.MIN_FONT_PT


def test_map_labels_do_not_overlap():
    rng = np.random.default_rng(0)
    centre = rng.normal(size=(4, 2))
    words = [f"word{i}" for i in range(16)]
    points = {w: centre[i % 4] + rng.normal(scale=0.05, size=2) for i, w in enumerate(words)}  # crowded clusters
    with plots.language("en"):
        fig, ax = plt.subplots(figsize=plots.size(1.0, 0.62))
        ax.scatter(*np.array(list(points.values())).T)
        ax.margins(0.1)
        plots.place_labels(ax, {w: (p, {}) for w, p in points.items()})
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        boxes = [t.get_window_extent(renderer) for t in ax.texts]
    plt.close(fig)
    assert len(boxes) == len(words)
    overlaps = [(i, j) for i in range(len(boxes)) for j in range(i) if boxes[i].overlaps(boxes[j])]
    assert overlaps == []
