"""Number formatting for the reports: Persian digits and separators for ``fa``."""

from __future__ import annotations

import math
from typing import Any

FA_DIGITS = str.maketrans("0123456789.-,%", "۰۱۲۳۴۵۶۷۸۹٫−٬٪")


def to_fa_digits(text: str) -> str:
    """Replace ASCII digits, decimal point, minus, thousands comma and percent with their Persian forms."""
    return str(text).translate(FA_DIGITS)


def fmt_number(value: Any, digits: int = 3, lang: str = "en") -> str:
    """Format a number for a report (``None`` -> an em dash; ints keep no decimals; tiny/huge use e-notation)."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        text = ("بله" if value else "خیر") if lang == "fa" else ("yes" if value else "no")
        return text
    if isinstance(value, int):
        text = f"{value:,}"
    elif isinstance(value, float):
        if not math.isfinite(value):
            text = str(value)
        elif value != 0 and (abs(value) < 10 ** (-digits) or abs(value) >= 1e7):
            text = f"{value:.2e}"
        else:
            text = f"{value:,.{digits}f}"
    else:
        return str(value)
    return to_fa_digits(text) if lang == "fa" else text


def fmt_seconds(value: Any, lang: str = "en") -> str:
    """A duration in seconds to one decimal; under 0.05 s reads "< 0.1" (never e-notation, which reads badly in fa)."""
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        return fmt_number(value, 1, lang)
    text = "< 0.1" if 0 <= value < 0.05 else f"{value:,.1f}"
    return to_fa_digits(text) if lang == "fa" else text


def fmt_cell(value: Any, digits: int = 4, lang: str = "en") -> str:
    """A table cell: numbers formatted, strings of digits localised in fa, other strings as they are."""
    if isinstance(value, (int, float)) or value is None:
        return fmt_number(value, digits, lang)
    return str(value)
