"""Persian labels in matplotlib figures: the Persian face, shaping, digits and reading order."""

from __future__ import annotations

import io

import matplotlib.pyplot as plt
import pytest

from dlgrade.typeset.bidi import LRI, PDI
from dlgrade.typeset.figure_text import (figure_text, label, legend, localise_axes, register_persian_font,
                                         tick_formatter)
from dlgrade.typeset.fonts import persian_face
from dlgrade.reports.pdfcheck import visual_lines


def draw(lang: str, fmt: str) -> bytes:
    with figure_text(lang), plt.rc_context({"pdf.fonttype": 42}):
        fig, ax = plt.subplots(figsize=(4, 3))
        ax.plot([1, 2, 3], [-0.4, 0.1, 0.4], label=label("اعتبارسنجی -0.25" if lang == "fa" else "validation -0.25", lang))
        ax.set_title(label("دقت 1-NN در هر دوره" if lang == "fa" else "1-NN accuracy per epoch", lang))
        localise_axes(ax, lang)
        legend(ax, lang)
        buf = io.BytesIO()
        fig.savefig(buf, format=fmt, dpi=80)
        plt.close(fig)
    return buf.getvalue()


@pytest.fixture(scope="module")
def fa_lines() -> list[str]:
    return [line.replace(" ", "").replace(LRI, "").replace(PDI, "") for line in visual_lines(draw("fa", "pdf"))]


def test_labels_are_localised_and_isolated():
    assert label("دقت 1-NN برابر 0.5", "fa") == f"دقت {LRI}1-NN{PDI} برابر ۰٫۵"
    assert label("ضرر -0.25", "fa") == f"ضرر {LRI}−۰٫۲۵{PDI}"
    assert label("loss -0.25", "en") == "loss −0.25"
    assert tick_formatter("fa")(-0.2) == f"{LRI}−۰٫۲{PDI}" and tick_formatter("fa", 2)(0.5) == "۰٫۵۰"
    assert tick_formatter("fa")(0.30000000000000004) == "۰٫۳"


def test_persian_face_is_registered_with_matplotlib():
    from matplotlib import font_manager

    family = register_persian_font()
    assert family in {f.name for f in font_manager.fontManager.ttflist}
    assert family == ("Vazirmatn NL" if not persian_face().fallback else "Noto Sans Arabic")


def test_persian_figure_draws_in_reading_order(fa_lines):
    assert any("−۰٫۲۵" in line for line in fa_lines), fa_lines   # legend: leading minus
    assert any("1-NN" in line for line in fa_lines), fa_lines     # title: not "NN-1"
    assert any(line in ("−۰٫۴", "−۰٫۲") for line in fa_lines), fa_lines  # tick labels: Persian digits, minus first
    joined = "".join(fa_lines)
    assert not any(c in joined for c in "0123456789".replace("1", ""))  # only "1-NN" keeps a Latin digit


def test_persian_figure_uses_the_persian_face():
    import pdfplumber

    with pdfplumber.open(io.BytesIO(draw("fa", "pdf"))) as pdf:
        fonts = {c["fontname"].split("+")[-1] for c in pdf.pages[0].chars if "\u0600" <= c["text"] <= "\u06ff"}
    expected = "Vazirmatn-NL" if not persian_face().fallback else "NotoSansArabic"
    assert fonts and all(f.startswith(expected) for f in fonts), fonts


def test_png_renders():
    from PIL import Image, ImageStat

    image = Image.open(io.BytesIO(draw("fa", "png"))).convert("L")
    assert ImageStat.Stat(image).stddev[0] > 5
