"""Persian text in matplotlib figures: the report's Persian face, shaped and ordered right to left.

Matplotlib 3.11 lays text out with libraqm (HarfBuzz shaping + FriBidi ordering), which joins Persian
letters and orders mixed Persian/Latin text by the Unicode bidi algorithm, honouring LRI ... PDI isolates;
so no reshaping (arabic-reshaper, python-bidi) is needed. This module registers the Persian face with the
font manager and localises labels the way the HTML filters do: Persian digits, "٫", a leading minus, Latin
words as left-to-right islands. Draw a figure once per language::

    for lang in ("fa", "en"):
        with figure_text(lang):
            fig, ax = plt.subplots()
            ax.plot(epochs, acc, label=label({"fa": "دقت آموزش", "en": "training accuracy"}[lang], lang))
            ax.set_xlabel(label({"fa": "دوره (epoch)", "en": "epoch"}[lang], lang))
            localise_axes(ax, lang)
            legend(ax, lang)
            fig.savefig(f"acc.{lang}.png")
"""

from __future__ import annotations

from contextlib import contextmanager
from functools import lru_cache
from typing import Iterator

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib import font_manager, ft2font  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

from dlgrade.typeset.fonts import persian_face  # noqa: E402
from dlgrade.typeset.numbers import fmt_number, localise_text  # noqa: E402

LATIN_FAMILIES = ["Noto Sans", "DejaVu Sans"]


def _require_raqm() -> None:
    if not getattr(ft2font, "__libraqm_version__", None):
        raise RuntimeError(
            f"matplotlib {matplotlib.__version__} lays out text without libraqm, so Persian letters would not join "
            "and mixed text would be misordered; install matplotlib>=3.11 (its wheels bundle libraqm)")


@lru_cache(maxsize=1)
def register_persian_font() -> str:
    """Add the Persian face's files (Vazirmatn, else Noto Sans Arabic) to matplotlib's font manager.

    Returns:
        The family name matplotlib knows the face by (e.g. "Vazirmatn NL").

    Raises:
        RuntimeError: matplotlib cannot shape Persian (no libraqm).
        FileNotFoundError: no Persian face is installed (see :func:`dlgrade.typeset.fonts.persian_face`).
    """
    _require_raqm()
    face = persian_face()
    for path in (face.regular, face.bold):
        if path is not None:
            font_manager.fontManager.addfont(str(path))
    return font_manager.FontProperties(fname=str(face.regular)).get_name()


def style(lang: str) -> dict:
    """rcParams for figures in ``lang``: the Persian face first (Latin falls through to Noto Sans)."""
    if lang == "fa":
        return {"font.family": [register_persian_font(), *LATIN_FAMILIES], "text.language": "fa",
                "axes.unicode_minus": True}
    if lang == "en":
        return {"font.family": LATIN_FAMILIES, "text.language": "en", "axes.unicode_minus": True}
    raise ValueError(f"lang must be 'fa' or 'en', got {lang!r}")


@contextmanager
def figure_text(lang: str) -> Iterator[None]:
    """Within the block, new text uses ``lang``'s fonts and shaping (``plt.rc_context(style(lang))``)."""
    with plt.rc_context(style(lang)):
        yield


def label(text: str, lang: str) -> str:
    """A title, axis label or legend entry for ``lang``: numbers localised; in Persian, Latin words
    ("keras-tuner", "1-NN") and signed numbers isolated with LRI ... PDI so they read left to right."""
    return localise_text(text, lang, isolate_latin=True)


def tick_formatter(lang: str, digits: int | None = None) -> FuncFormatter:
    """Tick labels in ``lang``'s digits: ``digits`` decimals, or as few as the ticks need when None."""
    def fmt(value: float, _pos=None) -> str:
        if digits is not None:
            return fmt_number(float(value), digits, lang, notation="fixed")
        return fmt_number(round(float(value), 10), lang=lang, notation="exact")
    return FuncFormatter(fmt)


def localise_axes(ax, lang: str, digits: int | None = None, axes: str = "xy") -> None:
    """Write the tick labels of ``ax`` (``axes``: "x", "y" or "xy") in ``lang``'s digits."""
    if lang == "en":
        return
    for name in axes:
        getattr(ax, f"{name}axis").set_major_formatter(tick_formatter(lang, digits))


def legend(ax, lang: str, **kwargs):
    """``ax.legend(**kwargs)`` with the keys where ``lang`` reads first: on the right of the labels in Persian."""
    kwargs.setdefault("markerfirst", lang != "fa")
    return ax.legend(**kwargs)
