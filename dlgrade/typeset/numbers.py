"""Numbers for the reports, the same way in both languages: plain text or HTML.

Persian (``fa``) uses the digits ۰–۹, the decimal separator ٫ (U+066B), the thousands separator ٬ (U+066C),
the list comma "،" and the percent sign ٪; English uses ASCII digits, "." and ",". Both use the minus sign
− (U+2212) and never e-notation: a power of ten is written "2.64 × 10⁻¹³" (HTML: ``10<sup>−13</sup>``;
plain Persian text, which has no superscript digits: "۲٫۶۴ × ۱۰^−۱۳").

A number with a sign or a power of ten must read left to right inside Persian text (else its minus lands
on the right): in HTML it is wrapped in ``<bdi dir="ltr">``, in plain Persian text in LRI ... PDI.

Every ``fmt_*`` function returns plain text by default (PDF metadata, the terminal, matplotlib labels) and,
with ``html=True``, ``Markup`` for the Jinja filters (each number in a ``<span class="num">`` that never
wraps). Version strings and commit hashes are never localised (:func:`fmt_version`).
"""

from __future__ import annotations

import math
import numbers
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Iterable

from markupsafe import Markup, escape

from dlgrade.typeset.bidi import LATIN_RUN, isolate_text, ltr_html, split_unbalanced, trim_latin_run

LANGS = ("fa", "en")
MINUS = "\u2212"
FA_DIGITS = "۰۱۲۳۴۵۶۷۸۹"
_FA = str.maketrans("0123456789", FA_DIGITS)
_SUPERSCRIPT = str.maketrans("0123456789-−+", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁻⁺")


@dataclass(frozen=True)
class Style:
    """The separators and words of one language."""

    decimal: str
    group: str
    list_sep: str
    percent: str
    pp: str
    of: str  # between points earned and points possible
    yes: str
    no: str
    units: tuple[str, str, str]  # hours, minutes, seconds
    unit_join: str


STYLES = {
    "fa": Style("٫", "٬", "، ", "٪", "واحد درصد", " از ", "بله", "خیر", ("ساعت", "دقیقه", "ثانیه"), " و "),
    "en": Style(".", ",", ", ", "%", "percentage points", "/", "yes", "no", ("h", "min", "s"), " "),
}


def _style(lang: str) -> Style:
    try:
        return STYLES[lang]
    except KeyError:
        raise ValueError(f"lang must be one of {LANGS}, got {lang!r}") from None


def _localise_ascii(text: str, lang: str) -> str:
    """ASCII digits and separators of a formatted number ("12,345.6") in ``lang``'s forms."""
    if lang != "fa":
        return text
    return text.translate(_FA).replace(",", "\0").replace(".", "٫").replace("\0", "٬")


@dataclass(frozen=True)
class _Num:
    """A number in pieces: ``prefix sign body × 10^exponent``, then ``suffix`` (all already localised)."""

    lang: str
    body: str  # digits with separators, a word (— / yes / NaN), or "" for a bare power of ten
    sign: str = ""  # MINUS, "+" or ""
    exponent: str | None = None  # e.g. "−۱۳"; None: no power of ten
    prefix: str = ""  # "< " for "< 0.1"
    suffix: str = ""  # "٪", " percentage points"; outside the left-to-right isolate

    @property
    def needs_isolation(self) -> bool:
        return self.lang == "fa" and bool(self.sign or self.exponent is not None or self.body == "NaN")

    def _ten(self) -> str:
        return _localise_ascii("10", self.lang)

    def core_text(self) -> str:
        text = self.prefix + self.sign + self.body
        if self.exponent is not None:
            power = f"{self._ten()}^{self.exponent}" if self.lang == "fa" else self._ten() + self.exponent.translate(_SUPERSCRIPT)
            text += f" × {power}" if self.body else power
        return text

    def core_html(self) -> Markup:
        html = escape(self.prefix + self.sign + self.body)
        if self.exponent is not None:
            power = Markup("{}<sup>{}</sup>").format(self._ten(), self.exponent)
            html += Markup(" × ") + power if self.body else power
        return html

    def text(self) -> str:
        core = self.core_text()
        return (isolate_text(core) if self.needs_isolation else core) + self.suffix

    def html(self) -> Markup:
        core = self.core_html()
        if self.lang == "fa":
            core = Markup('<bdi dir="ltr">{}</bdi>').format(core)
        return Markup('<span class="num">{}{}</span>').format(core, self.suffix)

    def out(self, html: bool) -> str:
        return self.html() if html else self.text()


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _exponent(exp: int, lang: str) -> str:
    return (MINUS if exp < 0 else "") + _localise_ascii(str(abs(exp)), lang)


def _strip_zeros(text: str) -> str:
    return text.rstrip("0").rstrip(".") if "." in text else text


def _num(value: Any, lang: str, digits: int = 3, sig: int | None = None, notation: str = "auto",
         signed: bool = False) -> _Num | None:
    """Split ``value`` into localised pieces; ``None`` when it is not a number (or None/bool)."""
    style = _style(lang)
    if notation not in ("auto", "fixed", "sci", "exact"):
        raise ValueError(f"notation must be 'auto', 'fixed', 'sci' or 'exact', got {notation!r}")
    if isinstance(digits, bool) or not isinstance(digits, int) or digits < 0:
        raise ValueError(f"digits (decimals) must be an int >= 0, got {digits!r}")
    if value is None:
        return _Num(lang, "—")
    if isinstance(value, bool):
        return _Num(lang, style.yes if value else style.no)
    if not _is_number(value):
        return None
    if isinstance(value, numbers.Integral) and notation != "sci":
        ascii_, exp = f"{abs(int(value)):,}", None
        negative = value < 0
    else:
        x = float(value)
        if math.isnan(x):
            return _Num(lang, "NaN")
        negative = x < 0 or (x == 0 and math.copysign(1, x) < 0)
        x = abs(x)
        if math.isinf(x):
            ascii_, exp = "∞", None
        elif x == 0 and notation in ("sci", "exact"):
            ascii_, exp = "0", None
        elif notation == "exact":
            ascii_, exp = _exact(x)
        elif sig is not None:
            ascii_, exp = _significant(x, sig, force_sci=notation == "sci")
        elif notation == "sci" or (notation == "auto" and x != 0 and (x >= 1e7 or (digits >= 2 and x < 10 ** -digits))):
            ascii_, exp = _scientific(x, 3 if notation == "auto" else max(digits, 1))
        else:
            ascii_, exp = f"{x:,.{digits}f}", None
    zero = exp is None and not any(c in "123456789∞" for c in ascii_)
    negative = negative and not zero  # -0.0001 shown as 0.000 has no sign
    sign = MINUS if negative else ("+" if signed and not zero else "")
    return _Num(lang, _localise_ascii(ascii_, lang), sign, None if exp is None else _exponent(exp, lang))


def _scientific(x: float, sig: int) -> tuple[str, int]:
    mantissa, exp = f"{x:.{sig - 1}e}".split("e")
    return mantissa, int(exp)


def _significant(x: float, sig: int, force_sci: bool = False) -> tuple[str, int | None]:
    if sig < 1:
        raise ValueError(f"sig (significant digits) must be at least 1, got {sig}")
    if x == 0:
        return ("0." + "0" * (sig - 1)) if sig > 1 else "0", None
    mantissa, exp = _scientific(x, sig)
    if force_sci or not -4 <= exp < 7:
        return mantissa, exp
    return f"{float(f'{x:.{sig - 1}e}'):,.{max(sig - 1 - exp, 0)}f}", None


def _exact(x: float) -> tuple[str, int | None]:
    """The shortest digits that round-trip (Python's ``repr``), e-notation turned into a power of ten."""
    text = repr(x)
    if "e" not in text:
        d = Decimal(text)
        whole, _, frac = _strip_zeros(format(d, "f")).partition(".")
        return f"{int(whole):,}" + (f".{frac}" if frac else ""), None
    mantissa, exp = text.split("e")
    mantissa = _strip_zeros(mantissa)
    return ("" if mantissa == "1" else mantissa), int(exp)


# ---------------------------------------------------------------- public formatters


def fmt_number(value: Any, digits: int = 3, lang: str = "en", *, sig: int | None = None, notation: str = "auto",
               signed: bool = False, html: bool = False) -> str:
    """A number for prose or a table.

    Args:
        value: int, float (NumPy scalars too), bool (yes/no), or None (an em dash). Anything else is
            returned as text, its numbers localised (:func:`localise_text`).
        digits: decimals for floats. Floats of 10⁷ or more, and (with ``digits >= 2``) non-zero floats
            below 10^-digits, get a power of ten with 3 significant digits instead. Ints keep no decimals.
        lang: ``"fa"`` or ``"en"``.
        sig: significant digits instead of ``digits`` (a power of ten outside 10⁻⁴ ≤ |x| < 10⁷).
        notation: ``"auto"``; ``"fixed"`` (never a power of ten); ``"sci"`` (always); ``"exact"`` (the
            shortest digits that give back the value, as Python's ``repr``: 1e-05 → 10⁻⁵, 0.25 → 0.25).
        signed: write "+" before positive numbers (for differences).
        html: return ``Markup`` for a template.

    Returns:
        e.g. ``fmt_number(-1234.5, 1, "fa") == "\\u2066−۱٬۲۳۴٫۵\\u2069"``, ``fmt_number(2.64e-13) == "2.64 × 10⁻¹³"``.
    """
    parts = _num(value, lang, digits, sig, notation, signed)
    if parts is None:
        return localise_text(str(value), lang, html=html, isolate_latin=html)
    return parts.out(html)


def fmt_sci(value: Any, sig: int = 3, lang: str = "en", *, html: bool = False) -> str:
    """Always a power of ten with ``sig`` significant digits: ``fmt_sci(0.000264) == "2.64 × 10⁻⁴"``."""
    return fmt_number(value, lang=lang, sig=sig, notation="sci", html=html)


def fmt_exact(value: Any, lang: str = "en", *, html: bool = False) -> str:
    """A number with exactly the digits it was given (0.001 → 0.001, 1e-05 → 10⁻⁵); strings are localised."""
    return fmt_number(value, lang=lang, notation="exact", html=html)


def fmt_pct(value: Any, digits: int = 1, lang: str = "en", *, signed: bool = False, html: bool = False) -> str:
    """A fraction as a percentage: ``fmt_pct(0.8475, 1, "fa") == "۸۴٫۸٪"``; a tiny non-zero one reads "< 0.1%"."""
    if not _is_number(value):
        return fmt_number(value, digits, lang, html=html)
    x = 100 * float(value)
    parts = _num(x, lang, digits, notation="fixed", signed=signed)
    if math.isfinite(x) and x != 0 and abs(x) < 10 ** -digits / 2:
        bound = _localise_ascii(f"{10 ** -digits:.{digits}f}", lang)
        parts = _Num(lang, bound, MINUS if x < 0 else "", prefix="> " if x < 0 else "< ")
    return _Num(lang, parts.body, parts.sign, parts.exponent, parts.prefix, _style(lang).percent).out(html)


def fmt_pp(value: Any, digits: int = 1, lang: str = "en", *, signed: bool = False, html: bool = False) -> str:
    """A difference of two fractions in percentage points: ``fmt_pp(0.032) == "3.2 percentage points"``,
    ``fmt_pp(0.032, 1, "fa") == "۳٫۲ واحد درصد"`` (not "%": 50% → 53% is 3 points, not 3%)."""
    if not _is_number(value):
        return fmt_number(value, digits, lang, html=html)
    parts = _num(100 * float(value), lang, digits, notation="fixed", signed=signed)
    return _Num(lang, parts.body, parts.sign, None, "", " " + _style(lang).pp).out(html)


def fmt_seconds(value: Any, lang: str = "en", *, html: bool = False) -> str:
    """A duration in seconds to one decimal, for a column headed "(s)"; under 0.05 s reads "< 0.1"."""
    if not _is_number(value) or not math.isfinite(float(value)):
        return fmt_number(value, 1, lang, html=html)
    if 0 <= value < 0.05:
        return _Num(lang, _localise_ascii("0.1", lang), prefix="< ").out(html)
    return fmt_number(float(value), 1, lang, notation="fixed", html=html)


def fmt_duration(value: Any, lang: str = "en", *, html: bool = False) -> str:
    """A duration for prose: "45.2 s", "2 min 5 s", "1 h 3 min"; fa "۲ دقیقه و ۵ ثانیه"."""
    if not _is_number(value) or not math.isfinite(float(value)) or value < 0:
        return fmt_seconds(value, lang, html=html)
    style = _style(lang)
    h_unit, m_unit, s_unit = style.units
    total = float(value)
    if total < 60:
        return _Num(lang, _num(total, lang, 1, notation="fixed").body, suffix=f" {s_unit}").out(html)
    whole = round(total)
    if whole < 3600:
        pieces = [(whole // 60, m_unit), (whole % 60, s_unit)]
    else:
        whole = round(total / 60)
        pieces = [(whole // 60, h_unit), (whole % 60, m_unit)]
    words = [f"{_localise_ascii(f'{n:,}', lang)} {unit}" for n, unit in pieces if n or unit == pieces[0][1]]
    return _Num(lang, style.unit_join.join(words)).out(html)


def fmt_points(earned: Any, total: Any = None, lang: str = "en", *, html: bool = False) -> str:
    """Points as exact numbers: ``fmt_points(7, 9, "fa") == "۷ از ۹"``, ``fmt_points(7, 9) == "7/9"``
    (a Persian reader takes "۷/۹" for a decimal); ``total=None`` gives just the points earned."""
    first = fmt_exact(earned, lang, html=html)
    if total is None:
        return first
    joined = first + _style(lang).of + fmt_exact(total, lang, html=html)
    return Markup(joined) if html else joined


def fmt_range(low: Any, high: Any = None, digits: int | None = None, lang: str = "en", *, html: bool = False) -> str:
    """A closed interval "[low, high]", read left to right in both languages: fa "[۰٫۵، ۱۰⁻⁵]".

    ``low`` may also be a ``(low, high)`` pair or a string such as "[0, 1e-05]" (what the grader writes);
    a string that is not an interval is shown as a verbatim left-to-right island. ``digits=None`` keeps
    each bound's own digits (:func:`fmt_exact`).
    """
    if high is None and isinstance(low, str):
        m = re.fullmatch(r"\s*\[\s*([^,\[\]]+?)\s*,\s*([^,\[\]]+?)\s*\]\s*", low)
        try:
            bounds = (float(m.group(1).replace("−", "-")), float(m.group(2).replace("−", "-"))) if m else None
        except ValueError:
            bounds = None
        if bounds is None:
            return ltr_html(low) if html else (isolate_text(low) if lang == "fa" else low)
        low, high = bounds
    elif high is None:
        low, high = low
    style = _style(lang)
    bounds = [(_num(b, lang, notation="exact") if digits is None else _num(b, lang, digits)) for b in (low, high)]
    if any(b is None for b in bounds):
        raise TypeError(f"fmt_range needs numbers for its bounds, got {low!r} and {high!r}")
    sep = style.list_sep
    if html:
        inner = Markup("[") + bounds[0].core_html() + sep + bounds[1].core_html() + Markup("]")
        if lang == "fa":
            inner = Markup('<bdi dir="ltr">{}</bdi>').format(inner)
        return Markup('<span class="num">{}</span>').format(inner)
    text = f"[{bounds[0].core_text()}{sep}{bounds[1].core_text()}]"
    return isolate_text(text) if lang == "fa" else text


def fmt_list(values: Iterable[Any], digits: int | None = None, lang: str = "en", *, html: bool = False) -> str:
    """Numbers (or words) joined with the list comma: fa "۱، ۲، ۳" (never the thousands separator ٬)."""
    items = [fmt_exact(v, lang, html=html) if digits is None else fmt_number(v, digits, lang, html=html) for v in values]
    sep = _style(lang).list_sep
    return Markup(sep).join(items) if html else sep.join(items)


def fmt_cell(value: Any, digits: int = 4, lang: str = "en", *, html: bool = False) -> str:
    """A table cell: numbers formatted with ``digits`` decimals; text with its numbers localised and, in
    HTML, its Latin words (class names, identifiers) in left-to-right islands."""
    if value is None or _is_number(value) or isinstance(value, bool):
        return fmt_number(value, digits, lang, html=html)
    return localise_text(str(value), lang, html=html, isolate_latin=html)


def fmt_version(text: Any, lang: str = "en", *, html: bool = False) -> str:
    """A version string or commit hash, untouched (Latin digits, left to right): "0.1.0" stays "0.1.0"."""
    text = "—" if text is None else str(text)
    if html:
        return ltr_html(text)
    return isolate_text(text) if lang == "fa" else text


# ---------------------------------------------------------------- numbers inside text

_NUMBER_BOUNDARY = r"(?<![A-Za-z0-9_.])"
_TOKENS = re.compile(
    rf"(?P<sci>{_NUMBER_BOUNDARY}(?<![)\]])[-−+]?[0-9]+(?:\.[0-9]+)?[eE][-+−]?[0-9]+(?![A-Za-z0-9_]))"
    rf"|(?P<version>{_NUMBER_BOUNDARY}[0-9]+(?:\.[0-9]+){{2,}}(?![A-Za-z0-9_]))"
    rf"|(?P<latin>{LATIN_RUN.pattern})"
    rf"|(?P<num>{_NUMBER_BOUNDARY}(?<![)\]])(?:[-−](?=[0-9]))?(?:[1-9][0-9]{{0,2}}(?:,[0-9]{{3}})+|[0-9]+)(?:\.[0-9]+)?(?![A-Za-z0-9_])%?)"
    r"|(?P<comma>,)|(?P<percent>%)"
)


def _text_number(token: str, lang: str) -> _Num:
    """A number as written in text ("-3.5%", "1,234", "2.64e-13") in localised pieces, keeping its digits."""
    negative = token[0] in "-−"
    token = token.lstrip("+-−")
    suffix = ""
    if token.endswith("%"):
        token, suffix = token[:-1], _style(lang).percent
    exp = None
    if "e" in token.lower():
        token, e = re.split("[eE]", token)
        exp = _exponent(int(e.replace("−", "-")), lang)
        token = "" if token == "1" else token
    return _Num(lang, _localise_ascii(token, lang), MINUS if negative else "", exp, "", suffix)


# Inside a run of Latin words: versions (kept), e-notation, and numbers that are not part of an identifier
# ("32" in "Conv 32 3×3", not the "6" of "hw6_q4", "CIFAR-10" or "glove.6B") — the rule of latin_digits_outside_verbatim.
_RUN_NUMBERS = re.compile(
    r"(?P<version>(?<![A-Za-z0-9_.])[0-9]+(?:\.[0-9]+){2,}(?![A-Za-z0-9_]))"
    r"|(?P<sci>(?<![A-Za-z0-9_.])(?<![A-Za-z][-.])[0-9]+(?:\.[0-9]+)?[eE][-+−]?[0-9]+(?![A-Za-z0-9_]))"
    r"|(?P<num>(?<![A-Za-z0-9_.])(?<![A-Za-z][-.])[0-9]+(?:\.[0-9]+)?(?![A-Za-z0-9_])(?![-.][A-Za-z]))"
    r"|(?P<sup>[⁰¹²³⁴⁵⁶⁷⁸⁹⁻]*[⁰¹²³⁴⁵⁶⁷⁸⁹])"
)
_FROM_SUPERSCRIPT = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789" + MINUS)


def _localise_run(run: str, lang: str, html: bool) -> str:
    """A run of Latin words (code-like text in a formula) with its numbers in ``lang``'s digits; identifiers
    and versions keep theirs. In HTML, superscript digits ("‖a−p‖²") become ``<sup>`` with ``lang``'s digits."""
    out, pos = [], 0
    for m in _RUN_NUMBERS.finditer(run):
        if m.lastgroup == "sup" and not html:
            continue
        piece = run[pos:m.start()]
        out.append(escape(piece) if html else piece)
        token = m.group()
        if m.lastgroup == "version":
            out.append(escape(token) if html else token)
        elif m.lastgroup == "sci":
            out.append(_text_number(token, lang).out(html))
        elif m.lastgroup == "sup":
            out.append(Markup("<sup>{}</sup>").format(_localise_ascii(token.translate(_FROM_SUPERSCRIPT), lang)))
        else:
            out.append(_localise_ascii(token, lang))
        pos = m.end()
    out.append(escape(run[pos:]) if html else run[pos:])
    return "".join(str(p) for p in out)


def localise_text(text: str, lang: str, *, html: bool = False, isolate_latin: bool = False) -> str:
    """Localise the numbers inside free text, leaving identifiers, versions and hashes as they are.

    Numbers ("-3.5%", "1,234", "[0, 1e-05]") get ``lang``'s digits and separators, e-notation becomes a
    power of ten, and in Persian a comma that is not a thousands separator becomes "،". Latin words and
    identifiers ("hw6.q4", "3CosAdd", "1-NN"), versions ("0.1.0") and hashes keep their Latin digits.

    Args:
        text: the text; in HTML mode it is escaped.
        lang: ``"fa"`` or ``"en"`` (``"en"`` only turns e-notation into powers of ten).
        html: return ``Markup``: numbers with a sign or a power of ten, versions and (with ``isolate_latin``)
            Latin words become left-to-right islands.
        isolate_latin: put each run of Latin words (with the brackets and operators between them) in an
            LTR island, for Persian text that comes from Python (titles, rubric messages, table cells).

    Returns:
        Plain text (Persian numbers with a sign isolated by LRI ... PDI) or ``Markup``.
    """
    _style(lang)
    out: list[str] = []
    pos = 0

    def plain(chunk: str) -> None:
        if lang == "fa":
            chunk = chunk.translate(_FA)
            if html:  # superscripts ("‖a−p‖²") as <sup> with Persian digits
                out.append(_localise_run(chunk, lang, html))
                return
        out.append(escape(chunk) if html else chunk)

    while (m := _TOKENS.search(text, pos)) is not None:
        plain(text[pos:m.start()])
        kind, token = m.lastgroup, m.group()
        if kind == "latin":  # "Dropout 0.5": the number is prose, localised after the word
            token, _ = trim_latin_run(token)
        pos = m.start() + len(token)
        if kind in ("sci", "num"):
            out.append(_text_number(token, lang).out(html))
        elif kind == "version":
            out.append(fmt_version(token, lang, html=html))
        elif kind == "latin" and isolate_latin and lang == "fa":
            for island, piece in split_unbalanced(token):
                if island:
                    out.append(ltr_html(piece) if html else isolate_text(piece))
                else:
                    out.append(escape(piece) if html else piece)
        elif kind == "latin" and lang == "fa":  # code-like text in a formula: "Conv 32 3×3" → "Conv ۳۲ ۳×۳"
            out.append(_localise_run(token, lang, html))
        elif kind == "latin":
            out.append(escape(token) if html else token)
        elif kind == "comma":
            out.append("،" if lang == "fa" else ",")
        else:  # percent
            out.append(_style(lang).percent)
    plain(text[pos:])
    joined = "".join(out)
    return Markup(joined) if html else joined


def to_fa_digits(text: Any) -> str:
    """Persian digits and separators for the numbers in ``text`` ("-3.5%" → "−۳٫۵٪", "1,234" → "۱٬۲۳۴",
    "0, 1" → "۰، ۱"), identifiers and versions untouched; plain text with no isolation marks."""
    text = str(text)
    return localise_text(text, "fa").replace("\u2066", "").replace("\u2069", "")
