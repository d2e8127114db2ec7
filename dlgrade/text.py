"""Plain text for terminals and logs: aligned tables, and text from untrusted sources made safe to show."""

from __future__ import annotations

import re
from typing import Iterable, Sequence

SANDBOX_SAFE = True
_CONTROL = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-_]|[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def clean(text: object, limit: int = 2000) -> str:
    """``text`` without ANSI escapes, control characters (newlines and tabs kept) and bidi overrides, cut to
    ``limit`` characters with a note saying how much was cut."""
    s = _CONTROL.sub("", str(text))
    if len(s) > limit:
        s = s[:limit] + f" [... {len(s) - limit} more characters cut]"
    return s


def text_table(rows: Sequence[Sequence[object]], footer: Iterable[str] = ()) -> str:
    """Rows (the first is the header) as aligned columns with a rule under the header."""
    cells = [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells if i < len(r)) for i in range(max(len(r) for r in cells))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines + list(footer))
