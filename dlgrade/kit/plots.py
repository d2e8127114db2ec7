"""Plots the questions share, drawn once per report language and sized for the printed page.

Every figure is drawn by one function that takes the language (``lang``: "en" or "fa") and returns the
matplotlib figure; :func:`draw` calls it once per language with that language's fonts (the Persian face,
shaped right to left, see :mod:`dlgrade.typeset.figure_text`), localises the tick labels (Persian digits)
and writes ``<name>.<lang>.png``. The one place that sets how large figures and their text are is here:
figures are at most :data:`PRINT_WIDTH_IN` x :data:`PRINT_HEIGHT_IN` inches, the size the report prints
them at (the CSS gives the images :data:`DPI` dots per inch), and no text is smaller than
:data:`MIN_FONT_PT` points (:func:`save` refuses a figure that breaks either rule)::

    def loss_plot(history, lang):
        fig, ax = plt.subplots(figsize=size(1.0, 0.5))
        ax.plot(history["loss"], label=text({"en": "training", "fa": "آموزش"}, lang))
        ...
        return fig

    draw(ctx.figure("loss", "loss.png"), loss_plot, history)
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import ScalarFormatter  # noqa: E402

from dlgrade.typeset import figure_text  # noqa: E402
from dlgrade.typeset.numbers import fmt_number  # noqa: E402

DPI = 150
PRINT_WIDTH_IN = 6.5   # the A4 report's text width is 176 mm = 6.93 in (report.css)
PRINT_HEIGHT_IN = 4.3  # report.css: figure img { max-height: 110 mm }
MIN_FONT_PT = 8.0
FONT_SIZES = {"font.size": 9, "axes.titlesize": 9.5, "axes.labelsize": 9, "xtick.labelsize": 8, "ytick.labelsize": 8,
              "legend.fontsize": 8, "legend.title_fontsize": 8, "figure.titlesize": 10}

Words = str | Mapping[str, str]


def size(width: float = 1.0, height: float = 0.55) -> tuple[float, float]:
    """A figure size in inches: ``width`` as a share of the printed width, ``height`` as a share of it too
    (capped at the printed height)."""
    return PRINT_WIDTH_IN * width, min(PRINT_WIDTH_IN * height, PRINT_HEIGHT_IN)


def rc(lang: str) -> dict:
    """rcParams of a figure in ``lang``: its fonts (:func:`figure_text.style`) and the print sizes."""
    return {**figure_text.style(lang), **FONT_SIZES}


@contextmanager
def language(lang: str) -> Iterator[None]:
    with plt.rc_context(rc(lang)):
        yield


def text(words: Words, lang: str, **fields: Any) -> str:
    """A figure's text in ``lang``: ``words`` is ``{"en": ..., "fa": ...}`` (or one string for both, e.g. a
    class code), formatted with ``fields``; numbers in Persian digits and Latin words isolated left to right."""
    if isinstance(words, Mapping):
        try:
            words = words[lang]
        except KeyError:
            raise KeyError(f"figure text {dict(words)!r} has no {lang!r} version") from None
    if fields:
        words = words.format(**fields)
    return figure_text.label(words, lang)


def number(value: float, lang: str, digits: int = 2) -> str:
    """``value`` with ``digits`` decimals in ``lang``'s digits (a figure's annotation)."""
    return fmt_number(float(value), digits, lang, notation="fixed")


def legend(ax, lang: str, where: str = "right", **kwargs):
    """A legend outside the axes, so it never covers the data: ``where`` is "right" or "below"."""
    if where == "right":
        kwargs = {"loc": "upper left", "bbox_to_anchor": (1.02, 1.0), "borderaxespad": 0.0, **kwargs}
    elif where == "below":
        kwargs = {"loc": "upper center", "bbox_to_anchor": (0.5, -0.2), "borderaxespad": 0.0, **kwargs}
    else:
        raise ValueError(f"legend where: expected 'right' or 'below', got {where!r}")
    return figure_text.legend(ax, lang, **kwargs)


def localise_ticks(fig, lang: str) -> None:
    """Numeric tick labels (those of a ``ScalarFormatter``) in ``lang``'s digits; set labels are left alone."""
    if lang == "en":
        return
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            if isinstance(axis.get_major_formatter(), ScalarFormatter):
                axis.set_major_formatter(figure_text.tick_formatter(lang))


def check_legible(fig, where: str = "") -> None:
    """Raise ``ValueError`` when ``fig`` is wider or taller than it prints or holds text under ``MIN_FONT_PT``."""
    w, h = fig.get_size_inches()
    if w > PRINT_WIDTH_IN + 1e-6 or h > PRINT_HEIGHT_IN + 1e-6:
        raise ValueError(f"figure {where} is {w:.2f} x {h:.2f} in; the report prints at most "
                         f"{PRINT_WIDTH_IN} x {PRINT_HEIGHT_IN} in, so its text would shrink: use plots.size()")
    small = sorted({(t.get_text(), t.get_fontsize()) for t in fig.findobj(matplotlib.text.Text)
                    if t.get_visible() and t.get_text().strip() and t.get_fontsize() < MIN_FONT_PT - 1e-6})
    if small:
        raise ValueError(f"figure {where}: text under {MIN_FONT_PT} pt at print size: {small[:5]}")


def save(fig, path: Path, lang: str = "en") -> Path:
    """Localise the ticks, check legibility, write as PNG (laid out by the figure's own layout engine) and close ``fig``."""
    localise_ticks(fig, lang)
    check_legible(fig, str(path))
    fig.savefig(path, dpi=DPI, bbox_inches=None)
    plt.close(fig)
    return Path(path)


def draw(paths: Mapping[str, Path], figure: Callable[..., Any], *args, **kwargs) -> dict[str, Path]:
    """Draw ``figure(*args, lang=lang, **kwargs)`` once per language with its fonts and save it at ``paths[lang]``.

    Args:
        paths: language -> PNG file (what ``Context.figure`` returns).
        figure: a function returning a matplotlib figure; it takes ``lang``.
    Returns:
        ``paths``.
    """
    for lang, path in paths.items():
        with language(lang):
            save(figure(*args, lang=lang, **kwargs), path, lang)
    return dict(paths)


TRAIN = {"en": "{label} train", "fa": "{label}، آموزش"}
VAL = {"en": "{label} val.", "fa": "{label}، اعتبارسنجی"}
EPOCH = {"en": "epoch", "fa": "دوره (epoch)"}
METRICS = {
    "accuracy": {"en": "accuracy", "fa": "صحت"},
    "loss": {"en": "loss", "fa": "ضرر"},
}


def learning_curves(histories: Mapping[str, Mapping[str, Sequence[float]]], metrics: Sequence[str] = ("accuracy", "loss"),
                    title: Words = "", labels: Mapping[str, Words] | None = None,
                    metric_words: Mapping[str, Words] | None = None, *, lang: str):
    """One panel per metric, side by side, and one legend below them; a solid line for training and a dashed
    one for validation per history.

    Args:
        histories: code -> Keras ``History.history`` dict.
        metrics: metric names (``val_`` variants are drawn when present).
        title: the figure's title.
        labels: code -> its words in the legend (default: the code).
        metric_words: metric -> its words on the y axis (default: ``METRICS``, else the name).
    """
    fig, axes = plt.subplots(1, len(metrics), figsize=size(1.0, 0.36 + 0.06 * len(histories)), squeeze=False,
                             layout="constrained")
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, metric in zip(axes[0], metrics):
        for i, (code, hist) in enumerate(histories.items()):
            name = text((labels or {}).get(code, code), lang)
            c = colours[i % len(colours)]
            style = {"color": c, "marker": "o" if len(hist.get(metric, [])) <= 15 else None, "markersize": 3}
            if metric in hist:
                ax.plot(np.arange(1, len(hist[metric]) + 1), hist[metric], label=text(TRAIN, lang, label=name), **style)
            if f"val_{metric}" in hist:
                ax.plot(np.arange(1, len(hist[f"val_{metric}"]) + 1), hist[f"val_{metric}"], ls="--",
                        label=text(VAL, lang, label=name), **style)
        ax.set_xlabel(text(EPOCH, lang))
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.set_ylabel(text({**METRICS, **(metric_words or {})}.get(metric, metric), lang))
        ax.grid(alpha=0.3)
    handles, names = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, names, loc="outside lower center", ncol=min(len(names), 4),
               markerfirst=lang != "fa")
    if title:
        fig.suptitle(text(title, lang))
    return fig


CONFUSION = {"predicted": {"en": "predicted", "fa": "پیش‌بینی"}, "true": {"en": "true", "fa": "واقعی"}}


def confusion_matrix(matrix: np.ndarray, labels: Sequence[Words], normalise: bool = True, title: Words = "", *, lang: str):
    """A heat map of a confusion matrix (rows: true class, columns: predicted); ``labels``: the classes' words."""
    m = np.asarray(matrix, dtype=np.float64)
    shown = m / np.maximum(m.sum(axis=1, keepdims=True), 1) if normalise else m
    n = len(labels)
    names = [text(x, lang) for x in labels]
    side = min(PRINT_HEIGHT_IN, 1.6 + 0.3 * n)
    fig, ax = plt.subplots(figsize=(min(PRINT_WIDTH_IN, side + 1.2), side), layout="constrained")
    im = ax.imshow(shown, cmap="Blues", vmin=0, vmax=1 if normalise else None)
    ax.set_xticks(range(n), names, rotation=45, ha="right", rotation_mode="anchor")
    ax.set_yticks(range(n), names)
    ax.set_xlabel(text(CONFUSION["predicted"], lang))
    ax.set_ylabel(text(CONFUSION["true"], lang))
    for i in range(n):
        for j in range(n):
            ax.text(j, i, number(shown[i, j], lang) if normalise else number(m[i, j], lang, 0), ha="center", va="center",
                    fontsize=MIN_FONT_PT,
                    color="white" if shown[i, j] > (0.5 if normalise else shown.max() / 2) else "black")
    fig.colorbar(im, ax=ax, shrink=0.8)
    if title:
        ax.set_title(text(title, lang))
    return fig


def _overlapping(texts, renderer) -> list[tuple[int, int]]:
    boxes = [t.get_window_extent(renderer) for t in texts]
    return [(i, j) for i in range(len(boxes)) for j in range(i) if boxes[i].overlaps(boxes[j])]


def place_labels(ax, labels: dict, fontsize: float = 9, attempts: int = 4) -> None:
    """Annotate points so that no label overlaps another, a point or the axes' edge (``adjustText``), each
    label drawn next to its point (with a thin leader line when it had to move away). When labels crowd an
    edge and still overlap, the axes are widened a little and the labels placed again (``attempts`` times).

    Args:
        labels: text -> ((x, y) in data coordinates, extra ``ax.text`` keyword arguments).
    """
    from adjustText import adjust_text

    texts = [ax.text(p[0], p[1], k, fontsize=fontsize, zorder=5, **kw) for k, (p, kw) in labels.items()]
    if not texts:
        return
    xs = np.array([p[0] for p, _ in labels.values()], dtype=float)
    ys = np.array([p[1] for p, _ in labels.values()], dtype=float)
    renderer = ax.figure.canvas.get_renderer()
    for attempt in range(attempts):
        if attempt:
            for get, set_ in ((ax.get_xlim, ax.set_xlim), (ax.get_ylim, ax.set_ylim)):
                lo, hi = get()
                set_(lo - 0.06 * (hi - lo), hi + 0.06 * (hi - lo))
            for t, x, y in zip(texts, xs, ys):
                t.set_position((x, y))
        _, arrows = adjust_text(texts, x=xs, y=ys, ax=ax, ensure_inside_axes=True, expand=(1.2, 1.5),
                             force_text=(0.3, 0.5), force_static=(0.3, 0.5), iter_lim=1000,
                             arrowprops={"arrowstyle": "-", "color": "0.5", "lw": 0.5})
        if not _overlapping(texts, renderer):
            return
        if attempt < attempts - 1:
            for a in (arrows or []):
                a.remove()
