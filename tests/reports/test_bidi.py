"""Left-to-right islands: the markup helpers, and the checkers that find Latin text left outside one."""

from __future__ import annotations

from dlgrade.typeset.bidi import (LRI, PDI, isolate_text, latin_digits_outside_verbatim, latin_outside_ltr, ltr_html,
                                  split_unbalanced)
from dlgrade.reports.render import environment


def test_ltr_html_escapes_and_keeps_short_islands_on_one_line():
    assert ltr_html("keras-tuner") == '<bdi dir="ltr" class="ltr verbatim nowrap">keras-tuner</bdi>'
    assert ltr_html("a<b") == '<bdi dir="ltr" class="ltr verbatim nowrap">a&lt;b</bdi>'
    assert ltr_html("f(x)", code=True) == '<code dir="ltr" class="ltr nowrap">f(x)</code>'
    assert "nowrap" not in ltr_html("x" * 40)
    assert isolate_text("1-NN") == f"{LRI}1-NN{PDI}"


def test_split_unbalanced_keeps_each_island_balanced():
    assert split_unbalanced("(train)") == [(True, "(train)")]
    assert split_unbalanced("(see keras") == [(False, "("), (True, "see keras")]
    assert split_unbalanced("build_model(hp))") == [(True, "build_model(hp)"), (False, ")")]
    assert split_unbalanced("a) (b") == [(True, "a"), (False, ")"), (False, " "), (False, "("), (True, "b")]


def test_latin_in_islands_is_fine():
    html = ('<p dir="rtl">کتابخانهٔ <bdi dir="ltr">keras-tuner</bdi> و <code>build_model(hp)</code> و '
            '<span class="ltr">1-NN</span> و <span dir="ltr">CIFAR-10</span> و <kbd>make</kbd></p>')
    assert latin_outside_ltr(html) == []


def test_bare_latin_in_persian_text_is_reported_with_context():
    found = latin_outside_ltr('<p dir="rtl">کتابخانهٔ keras-tuner را نصب کنید</p>')
    assert found == ["کتابخانهٔ [keras-tuner] را نصب کنید"]
    # a right-to-left element inside an island is Persian text again
    assert latin_outside_ltr('<bdi dir="ltr"><span dir="rtl">با Adam</span></bdi>') == ["با [Adam]"]


def test_checker_follows_page_direction_and_skips_non_text():
    page = ('<html lang="en"><head><title>Report</title><style>p{color:red}</style></head>'
            '<body><p>English text is fine</p><div lang="fa">و اینجا Adam نیست</div></body></html>')
    assert latin_outside_ltr(page) == ["و اینجا [Adam] نیست"]
    # attributes, comments and entities are not text; unclosed <p> and void elements do not confuse it
    frag = '<p title="Latin">متن<br>بیشتر <img src="x.png" alt="Latin"><!-- Latin --><p>پایان &amp; ادامه'
    assert latin_outside_ltr(frag) == []
    # a fragment is Persian by default, English when asked
    assert latin_outside_ltr("plain Latin") == ["[plain] Latin", "plain [Latin]"]
    assert latin_outside_ltr("plain Latin", default_rtl=False) == []


def test_latin_digits_are_reported_outside_verbatim_islands():
    html = ('<p dir="rtl">فیلترهای <span class="ltr">32/64/128</span> با نرخ ۱۰⁻³ و نسخهٔ '
            '<bdi dir="ltr" class="ltr verbatim">0.1.0</bdi> و <code>Dense(64)</code> در hw6_q4 و CIFAR-10</p>')
    found = latin_digits_outside_verbatim(html)
    assert len(found) == 2
    assert "[32/64/128]" in found[0] and "۱۰⁻[³]" in found[1]


def test_filters_leave_nothing_for_the_checkers():
    env = environment("fa")
    html = env.from_string(
        '<p>{{ "روش 1-NN با Dropout 0.5 روی CIFAR-10" | prose }}؛ {{ "build_model(hp)" | code }}، '
        '{{ "768 / 12 = 64" | formula }}، {{ "0.1.0" | version }}، {{ 2.64e-13 | num(3) }}، '
        '{{ "[0, 1e-05]" | range }}، {{ [32, 64, 128] | numlist }}، {{ "32/64/128" | digits }}</p>').render()
    assert latin_outside_ltr(html) == []
    assert latin_digits_outside_verbatim(html) == []
    # the checkers do see what the filters fixed
    raw = env.from_string('<p>روش 1-NN با {{ "32/64/128" }}</p>').render()
    assert len(latin_outside_ltr(raw)) == 1 and len(latin_digits_outside_verbatim(raw)) == 1


def test_isolate_latin_html_puts_every_latin_run_of_persian_text_in_an_island():
    from dlgrade.typeset.bidi import isolate_latin_html, latin_outside_ltr

    page = ('<html><head><title>GloVe</title><style>p { x: 1 }</style></head><body dir="rtl">'
            '<p>بردارهای GloVe 6B با gensim &amp; بهینه‌ساز Adam (نرخ ۱۰⁻³) و <code>build_model(hp)</code>.</p>'
            '<p dir="ltr">English stays as it is</p><img src="a.fa.png" alt="x"></body></html>')
    assert len(latin_outside_ltr(page)) == 4
    out = isolate_latin_html(page)
    assert latin_outside_ltr(out) == []
    assert '<bdi dir="ltr" class="ltr nowrap">GloVe 6B</bdi>' in out and "&amp;" in out
    assert '<p dir="ltr">English stays as it is</p>' in out and "<title>GloVe</title>" in out
    assert '<code>build_model(hp)</code>' in out and '<img src="a.fa.png" alt="x">' in out
    assert isolate_latin_html(out) == out  # islands are not wrapped again
