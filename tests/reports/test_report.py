"""The PDFs: text extracted in both languages, every section present, pages rendered to PNG."""

from __future__ import annotations

import re
import shutil
import subprocess
import unicodedata

import pytest

from dlgrade.pipeline import Ran, grade_outcome, sections
from dlgrade.questions import all_questions
from dlgrade.typeset.numbers import fmt_number, fmt_seconds, to_fa_digits
from dlgrade.reports.pdfcheck import visual_lines
from dlgrade.reports.render import write_reports

all_tasks = all_questions

PERSIAN_DIGITS = set("۰۱۲۳۴۵۶۷۸۹")


@pytest.fixture(scope="module")
def pdfs(smoke_run, tmp_path_factory):
    ran = [Ran(q, smoke_run(q.id), grade_outcome(q, smoke_run(q.id), write=False)) for q in all_questions()]
    out = tmp_path_factory.mktemp("report")
    paths = write_reports(sections(ran, [], "smoke"), out, "smoke", keep_html=True)
    return {p.stem.split("-")[1]: p for p in paths}


def pdf_text(path) -> str:
    import pdfplumber

    with pdfplumber.open(path) as pdf:
        return "\n".join(page.extract_text() or "" for page in pdf.pages)


def squash(text: str) -> str:
    """Persian text extracted from a PDF comes in presentation forms; normalise and drop spaces."""
    text = unicodedata.normalize("NFKC", text)
    return "".join(ch for ch in text if not ch.isspace() and unicodedata.category(ch) not in ("Mn", "Cf"))


def test_english_pdf_has_every_section(pdfs):
    text = pdf_text(pdfs["en"])
    for needle in ("Contents", "Grade summary", "Appendix: provenance", "Grader verdicts", "Discussion"):
        assert needle in text, needle
    for task in all_tasks():
        assert task.id in text and task.title["en"].split()[0] in text


def test_persian_pdf_has_every_section_in_persian_with_persian_digits(pdfs):
    html = (pdfs["fa"].parent / "report-fa.html").read_text(encoding="utf-8")
    assert 'dir="rtl"' in html
    text = pdf_text(pdfs["fa"])
    # pdfplumber returns right-to-left lines in visual (left-to-right) order; read them right to left, glyph by
    # glyph, so ligatures such as lam-alef keep their inner order
    flat = squash("".join(visual_lines(pdfs["fa"], None, right_to_left=True))).replace("\u200c", "")
    for needle in ("فهرست مطالب", "خلاصهٔ نمره‌ها", "پیوست", "داوری نمره‌دهنده", "بحث"):
        word = squash(needle).replace("\u200c", "")
        assert word in flat, needle
    for task in all_tasks():
        assert task.id in text
    assert len(PERSIAN_DIGITS & set(text)) >= 5, "tables and text should use Persian digits"


def test_persian_tables_name_strategies_in_persian(pdfs):
    html = (pdfs["fa"].parent / "report-fa.html").read_text(encoding="utf-8")
    assert ">سه‌تایی تصادفی</td>" in html and ">نیمه‌سخت در دسته</td>" in html
    assert ">random triplets</td>" not in html and ">batch-semi-hard</td>" not in html
    assert ">random triplets</td>" in (pdfs["en"].parent / "report-en.html").read_text(encoding="utf-8")


def test_pdfs_have_the_same_structure(pdfs):
    import pdfplumber

    with pdfplumber.open(pdfs["fa"]) as fa, pdfplumber.open(pdfs["en"]) as en:
        assert abs(len(fa.pages) - len(en.pages)) <= max(2, len(en.pages) // 4)


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils not installed")
def test_pages_render_to_non_blank_png(pdfs, tmp_path):
    from PIL import Image, ImageStat

    for lang, path in pdfs.items():
        subprocess.run(["pdftoppm", "-png", "-r", "40", "-f", "1", "-l", "4", str(path), str(tmp_path / lang)], check=True)
        pages = sorted(tmp_path.glob(f"{lang}-*.png"))
        assert len(pages) == 4
        for page in pages:
            stat = ImageStat.Stat(Image.open(page).convert("L"))
            assert stat.stddev[0] > 5, f"{page.name} looks blank"


def test_number_formatting():
    assert fmt_number(0.84751, 3) == "0.848"
    assert fmt_number(0.84751, 3, "fa") == "۰٫۸۴۸"
    assert fmt_number(12345, lang="fa") == "۱۲٬۳۴۵"
    assert fmt_number(None) == "—"
    assert fmt_number(1.2e-7, 3) == "1.20 × 10⁻⁷"  # no e-notation in the reports
    assert fmt_seconds(0.099) == "0.1" and fmt_seconds(0.01) == "< 0.1" and fmt_seconds(0.0, "fa") == "< ۰٫۱"
    assert fmt_seconds(165.04) == "165.0" and fmt_seconds(None) == "—"
    assert to_fa_digits("-3.5%") == "−۳٫۵٪"


def test_a_task_that_cannot_run_gets_a_section_and_the_rest_is_reported(tmp_path, monkeypatch, capsys):
    from dlgrade import cli

    monkeypatch.setenv("DLGRADE_DATA", str(tmp_path / "empty"))
    monkeypatch.setenv("DLGRADE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("DLGRADE_SYSTEM_DATA", str(tmp_path / "system"))  # the pool's worker processes inherit it
    code = cli.main(["report", "--profile", "smoke", "--out", str(tmp_path / "out"), "--lang", "en",
                     "--tasks", "hw6.q1", "hw14.q4"])
    assert code == 2
    assert "hw14.q4 could not run" in capsys.readouterr().err
    text = pdf_text(tmp_path / "out" / "report-en.pdf")
    assert "could not run" in text and "fashion-mnist" in text and "Batch normalization" in text


def test_persian_report_has_no_latin_outside_ltr_islands_and_no_e_notation(pdfs):
    from dlgrade.typeset.bidi import latin_outside_ltr
    from dlgrade.reports.pdfcheck import find_e_notation

    html = (pdfs["fa"].parent / "report-fa.html").read_text(encoding="utf-8")
    assert latin_outside_ltr(html) == []
    body = re.sub(r"<(style|head)\b.*?</\1>", "", html, flags=re.S)
    assert find_e_notation(re.sub(r"<[^>]+>", " ", body)) == []
    assert find_e_notation(pdf_text(pdfs["fa"])) == []


def test_persian_report_words_are_persian(pdfs):
    html = (pdfs["fa"].parent / "report-fa.html").read_text(encoding="utf-8")
    for english in (">True<", ">normalised<", ">COMPLETED<", "CIFAR-10 stand-in for DermaMNIST", "abovethe", "belowthe"):
        assert english not in html, english
    assert ">نرمال‌شده<" in html


def test_each_report_shows_its_own_language_figures(pdfs):
    for lang, other in (("fa", "en"), ("en", "fa")):
        html = (pdfs[lang].parent / f"report-{lang}.html").read_text(encoding="utf-8")
        images = re.findall(r'<img src="file://[^"]+/([^/"]+)"', html)
        assert len(images) >= 15 and all(name.endswith(f".{lang}.png") for name in images), images


def test_persian_pdf_digits_are_persian_code_points_and_glyphs(pdfs):
    from dlgrade.typeset.fonts import persian_face
    from dlgrade.reports.pdfcheck import digit_glyphs, wrong_digit_glyphs

    text = pdf_text(pdfs["fa"])
    persian_lines = [line for line in text.splitlines() if re.search("[\u0600-\u06ff]{3}", line)]
    assert persian_lines and sum(bool(PERSIAN_DIGITS & set(line)) for line in persian_lines) >= 50
    assert not set("٠١٢٣٤٥٦٧٨٩") & set(text)  # Arabic-Indic digits, not Persian
    glyphs = digit_glyphs(pdfs["fa"].read_bytes())
    assert set("۴۵۶۷") <= set(glyphs) and wrong_digit_glyphs(glyphs) == []
    prefix = "Vazirmatn-NL" if not persian_face().fallback else "NotoSansArabic"
    for ch in "۴۵۶۷":  # the Persian forms (U+06F4..06F7), not the Arabic-Indic ones, whatever font draws them
        assert all(glyph == f"uni{ord(ch):04X}" for _, glyph in glyphs[ch]), (ch, glyphs[ch])
        assert any(font.startswith(prefix) for font, _ in glyphs[ch]), (ch, glyphs[ch])


def test_persian_report_has_no_latin_digits_outside_verbatim_islands(pdfs):
    from dlgrade.typeset.bidi import latin_digits_outside_verbatim

    html = (pdfs["fa"].parent / "report-fa.html").read_text(encoding="utf-8")
    assert latin_digits_outside_verbatim(html) == []
    assert "re-encoded as JPEG" not in html  # the data note of a lossy form is in Persian
