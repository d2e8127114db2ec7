"""The number formatter: the same rules in both languages, plain text and HTML."""

from __future__ import annotations

import re

import numpy as np
import pytest
from markupsafe import Markup

from dlgrade.typeset.bidi import LRI, PDI
from dlgrade.typeset.numbers import (fmt_cell, fmt_duration, fmt_exact, fmt_list, fmt_number, fmt_pct, fmt_points,
                                     fmt_pp, fmt_range, fmt_sci, fmt_seconds, fmt_version, localise_text, to_fa_digits)
from dlgrade.reports.pdfcheck import find_e_notation


@pytest.mark.parametrize("value, digits, en, fa", [
    (0.84751, 3, "0.848", "۰٫۸۴۸"),
    (12345, 3, "12,345", "۱۲٬۳۴۵"),
    (1234.5, 1, "1,234.5", "۱٬۲۳۴٫۵"),
    (0, 3, "0", "۰"),
    (0.0, 2, "0.00", "۰٫۰۰"),
    (None, 3, "—", "—"),
    (True, 3, "yes", "بله"),
    (np.float32(0.5), 2, "0.50", "۰٫۵۰"),
    (np.int64(-7), 0, "−7", f"{LRI}−۷{PDI}"),
])
def test_fixed_numbers_in_both_languages(value, digits, en, fa):
    assert fmt_number(value, digits) == en
    assert fmt_number(value, digits, "fa") == fa


def test_negative_numbers_keep_a_leading_minus_isolated_in_persian():
    assert fmt_number(-0.5, 1) == "−0.5"
    assert fmt_number(-0.5, 1, "fa") == f"{LRI}−۰٫۵{PDI}"
    html = fmt_number(-0.5, 1, "fa", html=True)
    assert isinstance(html, Markup)
    assert html == '<span class="num"><bdi dir="ltr">−۰٫۵</bdi></span>'
    # rounds to zero: no sign left
    assert fmt_number(-0.0001, 1) == "0.0" and fmt_number(-0.0, 2, "fa") == "۰٫۰۰"


def test_powers_of_ten_instead_of_e_notation():
    assert fmt_number(2.64e-13, 3) == "2.64 × 10⁻¹³"
    assert fmt_number(2.64e-13, 3, "fa") == f"{LRI}۲٫۶۴ × ۱۰^−۱۳{PDI}"
    assert fmt_number(2.64e-13, 3, "fa", html=True) == \
        '<span class="num"><bdi dir="ltr">۲٫۶۴ × ۱۰<sup>−۱۳</sup></bdi></span>'
    assert fmt_number(1.2e-7, 3) == "1.20 × 10⁻⁷"
    assert fmt_number(3e7, 1) == "3.00 × 10⁷"
    assert fmt_sci(0.0) == "0" and fmt_exact(0.0, "fa") == "۰"
    assert fmt_sci(0.000264) == "2.64 × 10⁻⁴" and fmt_sci(0.000264, 2, "fa") == f"{LRI}۲٫۶ × ۱۰^−۴{PDI}"
    assert fmt_exact(1e-05) == "10⁻⁵" and fmt_exact(1e-05, "fa", html=True).count("<sup>−۵</sup>") == 1
    # digits 0 or 1 never switch to a power of ten: 0.4 points is "0", not "4 × 10⁻¹"
    assert fmt_number(0.4, 0) == "0" and fmt_number(0.04, 1) == "0.0"


@pytest.mark.parametrize("lang", ["en", "fa"])
@pytest.mark.parametrize("html", [False, True])
def test_no_e_notation_for_any_magnitude(lang, html):
    values = [s * m * 10.0 ** e for e in range(-20, 21) for m in (1, 2.64, 9.999) for s in (1, -1)]
    for v in values:
        for text in (fmt_number(v, 3, lang, html=html), fmt_number(v, 0, lang, html=html),
                     fmt_number(v, lang=lang, sig=2, html=html), fmt_exact(v, lang, html=html), fmt_cell(v, 4, lang, html=html),
                     fmt_pct(v, 1, lang, html=html), localise_text(repr(v), lang, html=html)):
            assert not find_e_notation(text), (v, text)
            if lang == "fa":
                assert not any(c.isascii() and c.isdigit() for c in text.replace("<sup>", "").replace("</sup>", "")), (v, text)


def test_significant_digits():
    assert fmt_number(123.456, sig=2) == "120" and fmt_number(123.456, sig=4) == "123.5"
    assert fmt_number(0.000123456, sig=3) == "0.000123" and fmt_number(0.0000123456, sig=3) == "1.23 × 10⁻⁵"
    assert fmt_number(0.0123456, sig=3, lang="fa") == "۰٫۰۱۲۳"
    with pytest.raises(ValueError, match="at least 1"):
        fmt_number(1.0, sig=0)


def test_bad_arguments_say_what_was_expected():
    with pytest.raises(ValueError, match="lang must be one of .* got 'de'"):
        fmt_number(1.0, 2, "de")
    with pytest.raises(ValueError, match="notation must be"):
        fmt_number(1.0, notation="engineering")
    with pytest.raises(ValueError, match=r"digits \(decimals\) must be an int >= 0, got -1"):
        fmt_number(1.0, -1)
    with pytest.raises(TypeError, match="needs numbers"):
        fmt_range("a", "b")


def test_percentages_and_percentage_points():
    assert fmt_pct(0.8475) == "84.8%" and fmt_pct(0.8475, 1, "fa") == "۸۴٫۸٪"
    assert fmt_pct(0.00001) == "< 0.1%" and fmt_pct(0.0) == "0.0%"
    assert fmt_pct(None, lang="fa") == "—"
    assert fmt_pp(0.032) == "3.2 percentage points" and fmt_pp(0.032, 1, "fa") == "۳٫۲ واحد درصد"
    assert fmt_pp(0.032, signed=True) == "+3.2 percentage points"
    assert fmt_pp(-0.032, 1, "fa") == f"{LRI}−۳٫۲{PDI} واحد درصد"
    # the percent sign stays outside the left-to-right isolate, where Persian text puts it
    assert fmt_pct(-0.05, 0, "fa", html=True) == '<span class="num"><bdi dir="ltr">−۵</bdi>٪</span>'


def test_points_read_as_a_of_b_in_persian():
    assert fmt_points(7, 9) == "7/9" and fmt_points(7, 9, "fa") == "۷ از ۹"
    assert fmt_points(0.5, 2, "fa") == "۰٫۵ از ۲" and fmt_points(2.0, 2.0) == "2/2"
    html = fmt_points(2, 2, "fa", html=True)
    assert "/" not in html.striptags() and html.striptags() == "۲ از ۲"


def test_ranges_read_left_to_right_with_the_list_comma():
    assert fmt_range(0.5, 0.9) == "[0.5, 0.9]"
    assert fmt_range((0.5, 0.9), lang="fa") == f"{LRI}[۰٫۵، ۰٫۹]{PDI}"
    assert fmt_range("[0, 1e-05]") == "[0, 10⁻⁵]"
    html = fmt_range("[0, 1e-05]", lang="fa", html=True)
    assert html == '<span class="num"><bdi dir="ltr">[۰، ۱۰<sup>−۵</sup>]</bdi></span>'
    assert "٬" not in html  # never the thousands separator
    assert fmt_range(0.123456, 1.5, 2, "fa") == f"{LRI}[۰٫۱۲، ۱٫۵۰]{PDI}"
    # not an interval: shown verbatim, left to right
    assert fmt_range("range_by_data", lang="fa", html=True) == \
        '<bdi dir="ltr" class="ltr verbatim nowrap">range_by_data</bdi>'


def test_lists_use_the_persian_comma_never_the_thousands_separator():
    assert fmt_list([1, 2, 3000]) == "1, 2, 3,000"
    assert fmt_list([1, 2, 3000], lang="fa") == "۱، ۲، ۳٬۰۰۰"
    assert fmt_list([0.25, 0.5], 2, "fa") == "۰٫۲۵، ۰٫۵۰"
    assert to_fa_digits("[0, 1e-05]") == "[۰، ۱۰^−۵]"


def test_durations():
    assert fmt_seconds(0.099) == "0.1" and fmt_seconds(0.01) == "< 0.1" and fmt_seconds(0.0, "fa") == "< ۰٫۱"
    assert fmt_seconds(165.04) == "165.0" and fmt_seconds(1234.5, "fa") == "۱٬۲۳۴٫۵" and fmt_seconds(None) == "—"
    assert fmt_duration(12.34) == "12.3 s" and fmt_duration(12.34, "fa") == "۱۲٫۳ ثانیه"
    assert fmt_duration(165) == "2 min 45 s" and fmt_duration(165, "fa") == "۲ دقیقه و ۴۵ ثانیه"
    assert fmt_duration(3725) == "1 h 2 min" and fmt_duration(7205) == "2 h" and fmt_duration(120) == "2 min"


def test_versions_and_hashes_are_untouched():
    for text in ("0.1.0", "2.21.0", "a3f9c01", "3.11.7"):
        assert fmt_version(text) == text
        assert fmt_version(text, "fa") == f"{LRI}{text}{PDI}"
        assert fmt_version(text, "fa", html=True) == f'<bdi dir="ltr" class="ltr verbatim nowrap">{text}</bdi>'
    assert to_fa_digits("نسخهٔ 0.1.0, کامیت a3f9c01") == "نسخهٔ 0.1.0، کامیت a3f9c01"


def test_numbers_inside_text_are_localised_identifiers_are_not():
    assert to_fa_digits("-3.5%") == "−۳٫۵٪"
    assert to_fa_digits("1,234 and 32/64/128") == "۱٬۲۳۴ and ۳۲/۶۴/۱۲۸"
    assert to_fa_digits("hw6.q4 3CosAdd 1-NN CIFAR-10 glove-6b-50d") == "hw6.q4 3CosAdd 1-NN CIFAR-10 glove-6b-50d"
    assert to_fa_digits("2025-11-24 03:09") == "۲۰۲۵-۱۱-۲۴ ۰۳:۰۹"
    assert localise_text("lr 1e-05, p 2.64e-13", "en") == "lr 10⁻⁵, p 2.64 × 10⁻¹³"


def test_prose_isolates_latin_runs_with_balanced_brackets():
    html = localise_text("تابع (build_model(hp)) و 1-NN با Dropout 0.5 و (see keras", "fa", html=True, isolate_latin=True)
    assert '<bdi dir="ltr" class="ltr verbatim nowrap">(build_model(hp))</bdi>' in html
    assert '<bdi dir="ltr" class="ltr verbatim nowrap">1-NN</bdi>' in html
    assert '<bdi dir="ltr" class="ltr verbatim nowrap">Dropout</bdi> <span class="num"><bdi dir="ltr">۰٫۵</bdi></span>' in html
    # an unmatched bracket stays in the right-to-left text, outside the island
    assert 'و (<bdi dir="ltr" class="ltr verbatim nowrap">see keras</bdi>' in html
    assert localise_text("<b>x</b>", "fa", html=True) == "&lt;b&gt;x&lt;/b&gt;"


def test_cells_localise_text_and_isolate_latin_in_persian():
    assert fmt_cell("random triplets", 4, "en", html=True) == "random triplets"
    assert fmt_cell("سه‌تایی تصادفی", 4, "fa", html=True) == "سه‌تایی تصادفی"
    assert fmt_cell("ankle boot", 4, "fa", html=True) == '<bdi dir="ltr" class="ltr verbatim nowrap">ankle boot</bdi>'
    assert fmt_cell(0.123456, 4, "fa") == "۰٫۱۲۳۵"


def test_latin_runs_end_at_a_word_code_stays_whole():
    def islands(text):
        return [p for p in localise_text(text, "fa", isolate_latin=True).split("\u2066")[1:]]
    assert islands("با Dense(64, activation=relu) و ddof=0") == ["Dense(64, activation=relu)\u2069 و ", "ddof=0\u2069"]
    assert localise_text("روی CIFAR-10 با Dropout 0.5", "fa", isolate_latin=True) == \
        "روی \u2066CIFAR-10\u2069 با \u2066Dropout\u2069 ۰٫۵"
    assert localise_text("loss -0.25", "en") == "loss −0.25"
    assert localise_text("Vazirmatn 33.0.3 (npm)", "fa", isolate_latin=True) == "\u2066Vazirmatn 33.0.3 (npm)\u2069"


def test_formulas_localise_numbers_inside_code_like_runs_but_not_identifiers_or_versions():
    from dlgrade.typeset.bidi import latin_digits_outside_verbatim
    from dlgrade.reports.render import filters

    formula = filters("fa")["formula"]
    html = str(formula("Conv 32 3×3 ReLU → Dense(64, ReLU) → Dropout 0.25 → Dense 10"))
    assert "Conv ۳۲ ۳×۳ ReLU → Dense(۶۴, ReLU)" in html and "۰٫۲۵" in html
    assert latin_digits_outside_verbatim(f"<p>{html}</p>") == []
    kept = str(formula("hw6_q4 CIFAR-10 glove.6B.50d Keras 3.1.0 lr=1e-3"))
    assert "hw6_q4 CIFAR-10 glove.6B.50d Keras 3.1.0 lr=" in kept and "<sup>−۳</sup>" in kept
    assert "‖a−p‖<sup>۲</sup>" in str(formula("max(‖a−p‖² + 0.4, 0)"))
    assert str(filters("en")["formula"]("Dense(64)")).endswith(">Dense(64)</bdi>")  # English unchanged


def test_lossy_data_notes_have_a_persian_text_matching_the_registry():
    from dlgrade.data.registry import DATASETS
    from dlgrade.reports.render import data_note

    lossy = [f for d in DATASETS.values() for f in d.forms if f.lossy]
    assert lossy
    for form in lossy:
        assert data_note(form.name, form.lossy, "en") == form.lossy
        fa = data_note(form.name, form.lossy, "fa")
        assert fa != form.lossy and not re.search("[0-9]", fa)
    assert data_note("unknown-form", "as recorded", "fa") == "as recorded"
