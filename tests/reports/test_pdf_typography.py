"""The Persian specimen page through WeasyPrint with the report's CSS: glyphs, digits and reading order.

Reading order is checked on the PDF's characters sorted by their x position (``visual_lines``), so
"−۰٫۵" there means the minus is drawn on the left of the digits.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from dlgrade.typeset.fonts import VAZIRMATN_DIR, persian_face
from dlgrade.reports.pdfcheck import (ARABIC_INDIC_DIGITS, digit_glyphs, find_e_notation, pdf_text, visual_lines,
                                      wrong_digit_glyphs)
from dlgrade.reports.render import TEMPLATES
from dlgrade.reports.specimen import render_specimen, specimen_pdf

SHAPES = "۴۵۶۷"


@pytest.fixture(scope="module")
def fa_pdf() -> bytes:
    return specimen_pdf("fa")


@pytest.fixture(scope="module")
def fa_lines(fa_pdf) -> list[str]:
    return [line.replace(" ", "") for line in visual_lines(fa_pdf)]


def test_persian_digits_use_the_persian_glyphs_of_the_installed_face(fa_pdf):
    face = persian_face()
    glyphs = digit_glyphs(fa_pdf)
    assert set(SHAPES) <= set(glyphs), f"the specimen should draw {SHAPES}"
    assert wrong_digit_glyphs(glyphs) == []
    ps_prefix = "Vazirmatn-NL" if not face.fallback else "NotoSansArabic"
    for ch in SHAPES:
        assert glyphs[ch] and all(font.startswith(ps_prefix) and glyph == f"uni{ord(ch):04X}"
                                  for font, glyph in glyphs[ch]), (ch, glyphs[ch])


def test_text_layer_has_persian_digits_and_no_e_notation(fa_pdf):
    text = pdf_text(fa_pdf)
    assert "۰۱۲۳۴۵۶۷۸۹" in text and "۱۲٬۳۴۵" in text and "۰٫۷۷۷" in text
    assert not set(ARABIC_INDIC_DIGITS) & set(text)
    assert find_e_notation(text) == []
    assert find_e_notation("p = 2.64e-13 و ۲٫۶۴e−۱۳ و ۱۳−e۲٫۶۴") == ["2.64e-13", "۲٫۶۴e−۱۳", "۱۳−e۲٫۶۴"]
    assert find_e_notation("hw1e2 glove-6b-50d 3CosAdd b7ab2d57d085e735f197e86f0a51f7") == []


@pytest.mark.parametrize("drawn", [
    "−۰٫۵",            # a leading minus, on the left of the digits
    "۷۶۸/۱۲=۶۴",       # a formula in order, not "۶۴=۱۲/۷۶۸"
    "۲٫۶۴×۱۰−۱۳",      # a power of ten (the exponent is a superscript on the same line)
    "[۰،۱۰−۵]",        # an interval: low on the left, the list comma
    "1-NN",            # not "NN-1"
    "CIFAR-10",
    "0.1.0",           # a version stays Latin
    "a3f9c01",
])
def test_left_to_right_islands_are_drawn_left_to_right(fa_lines, drawn):
    assert any(drawn in line for line in fa_lines), f"{drawn!r} not drawn in order; lines: {fa_lines}"


def test_matrix_has_column_one_on_the_left_and_tables_stay_right_to_left(fa_lines):
    assert "۱۲۳" in fa_lines and "−۴۵۶" in fa_lines  # matrix [[1, 2, 3], [-4, 5, 6]]
    assert "۳۲۱" in fa_lines  # the ordinary table: column 1 on the right, as Persian reads


def test_latin_heading_words_do_not_break(fa_lines):
    assert any("keras-tuner" in line for line in fa_lines)
    assert not any(line.endswith("keras-") or line.startswith("tuner") for line in fa_lines)


def test_unisolated_text_would_fail_these_checks(tmp_path):
    """The same checks catch the bugs the islands fix: raw "1-NN" and a raw negative number in Persian."""
    from weasyprint import HTML

    css = (TEMPLATES / "report.css").as_uri()
    html = f'<html lang="fa" dir="rtl"><link rel="stylesheet" href="{css}"><body class="fa"><p>روش 1-NN</p><p>مقدار −۰٫۵ است</p></body></html>'
    lines = [line.replace(" ", "") for line in visual_lines(HTML(string=html, base_url=str(TEMPLATES)).write_pdf())]
    assert any("NN-1" in line for line in lines) and not any("1-NN" in line for line in lines)
    assert any("۰٫۵−" in line for line in lines) and not any("−۰٫۵" in line for line in lines)


def test_fallback_face_is_noto_sans_arabic_with_persian_glyphs(tmp_path):
    """Without the Vazirmatn files (a copy of report.css whose font URLs lead nowhere) the page falls back to
    Noto Sans Arabic, whose ۴۵۶۷ are Persian for lang="fa"."""
    if not Path("/usr/share/fonts/truetype/noto/NotoSansArabic-Regular.ttf").is_file() and not shutil.which("fc-match"):
        pytest.skip("Noto Sans Arabic (fonts-noto-core) not installed")
    css = tmp_path / "report.css"
    css.write_text((TEMPLATES / "report.css").read_text(encoding="utf-8"), encoding="utf-8")
    glyphs = digit_glyphs(specimen_pdf("fa", css))
    assert wrong_digit_glyphs(glyphs) == []
    assert {font for ch in SHAPES for font, _ in glyphs[ch]} == {"NotoSansArabic-Regular"}


def test_noto_naskh_arabic_is_caught_drawing_arabic_and_urdu_forms():
    """The reason the reports left Noto Naskh Arabic: with lang="fa" it draws ۶ as ٦ (uni0666) and ۴ ۷ in
    Urdu forms. The glyph check must see that."""
    from weasyprint import HTML

    if not Path("/usr/share/fonts/truetype/noto/NotoNaskhArabic-Regular.ttf").is_file():
        pytest.skip("Noto Naskh Arabic not installed")
    html = '<html lang="fa" dir="rtl"><body style="font-family: \'Noto Naskh Arabic\'"><p>عدد ۴۵۶۷</p></body></html>'
    bad = wrong_digit_glyphs(digit_glyphs(HTML(string=html).write_pdf()))
    assert any("۶ drawn as NotoNaskhArabic-Regular/uni0666" in b for b in bad), bad
    assert any(b.startswith("۷ drawn as") for b in bad), bad


def test_appendix_names_the_face_used():
    face = persian_face()
    html = render_specimen("fa")
    assert ("Vazirmatn" if not face.fallback else "Noto Sans Arabic") in html
    assert face.fallback == (not (VAZIRMATN_DIR / "Vazirmatn-NL-Regular.ttf").is_file())
    assert "make setup" in face.describe("en") or not face.fallback


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils not installed")
def test_specimen_renders_to_png(fa_pdf, tmp_path):
    from PIL import Image, ImageStat

    (tmp_path / "fa.pdf").write_bytes(fa_pdf)
    subprocess.run(["pdftoppm", "-png", "-r", "50", "-singlefile", str(tmp_path / "fa.pdf"), str(tmp_path / "fa")],
                   check=True, timeout=60)
    assert ImageStat.Stat(Image.open(tmp_path / "fa.png").convert("L")).stddev[0] > 5


def test_persian_words_read_right_to_left_glyph_by_glyph(fa_pdf):
    """Reading the drawn glyphs right to left gives Persian words back, ligatures (lam-alef) included."""
    import unicodedata

    rtl = unicodedata.normalize("NFKC", "".join(visual_lines(fa_pdf, None, right_to_left=True)))
    assert "ارقام" in rtl and "جست" in rtl
    assert "ارقام" not in unicodedata.normalize("NFKC", "".join(visual_lines(fa_pdf)))  # drawn left to right: reversed
