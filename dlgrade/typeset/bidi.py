"""Left-to-right islands in right-to-left text: making them, and finding the ones that are missing.

Code, identifiers, formulas, file names, version strings and numbers with a sign must read left to right
inside Persian text. Unisolated, the Unicode bidi algorithm reorders them ("1-NN" shows as "NN-1",
"768 / 12 = 64" as "64 = 12 / 768", a leading minus ends up on the right). WeasyPrint lays out every
inline element as its own run in the element's ``direction``, so an element with ``dir="ltr"`` is an
isolate there; browsers get ``unicode-bidi: isolate`` from the report's CSS. Plain text (figure labels,
PDF metadata) uses the Unicode isolates LRI ... PDI, which Pango and matplotlib's libraqm honour.

The checkers take the HTML of a Persian page or fragment and list the Latin letters (or Latin digits)
that sit in right-to-left text outside such an island, with some context, so a test can say where.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

from markupsafe import Markup, escape

LRI, PDI = "\u2066", "\u2069"  # LEFT-TO-RIGHT ISOLATE ... POP DIRECTIONAL ISOLATE

# A Latin word, identifier or file name: "keras-tuner", "hw6.q4", "build_model", "3CosAdd", "1-NN", "glove.6B.50d".
# (Not "1e-05": e-notation is a number.)
IDENT = r"(?![0-9]+(?:\.[0-9]+)?[eE][-+]?[0-9])(?:[0-9]+[-.]?)?[A-Za-z_][A-Za-z0-9_]*(?:['.\-/][A-Za-z0-9_]+)*"
# A keyword argument's value: "ddof=0", "lr=1e-3" (no spaces around "=": "ε = 0.001" is a formula).
_KWARG = r"(?:=[-+]?[0-9][0-9.]*(?:[eE][-+]?[0-9]+)?(?![0-9A-Za-z_]))?"
_ELEMENT = rf"(?:{IDENT}{_KWARG}|[0-9]+(?:\.[0-9]+)*(?![0-9A-Za-z_]))"  # words, numbers, versions
# Words and numbers joined by spaces, operators or brackets, as prose writes code: "build_model(hp)",
# "Adam optimizer", "Dense(64, activation=relu)". It starts with a word; numbers it ends with are not
# part of it ("Dropout 0.5": only "Dropout"), see trim_latin_run.
LATIN_RUN = re.compile(
    rf"[(\[{{]*{IDENT}{_KWARG}(?:[)\]}}]*(?:[ ,:=+*/×·<>−-]+|[(\[{{]+)?[(\[{{]*{_ELEMENT})*[)\]}}]*"
    r"(?:\(\))?"  # a call with no arguments, "batch_norm()": its brackets belong to the island
)
_NUMBER = r"[0-9]+(?:\.[0-9]+)?"
_TRAILING_NUMBERS = re.compile(rf"[,:;+*/×·<>−-]*\s+[-−]?{_NUMBER}(?:[ ,:+*/×·<>−-]+{_NUMBER})*$")  # not "CIFAR-10"


def trim_latin_run(run: str) -> tuple[str, str]:
    """Split a :data:`LATIN_RUN` match into the Latin part and the numbers it ends with (prose, not code):
    "Dropout 0.5" gives ("Dropout", " 0.5"); "Dense(64)" is kept whole."""
    m = _TRAILING_NUMBERS.search(run)
    return (run[:m.start()], run[m.start():]) if m else (run, "")


# Elements whose content is an LTR island (tag names), and classes that mark one.
_ISLAND_TAGS = {"code", "pre", "kbd", "samp", "bdi", "bdo", "var"}
_ISLAND_CLASSES = {"ltr", "ltr-cell"}
# Islands whose text is shown exactly as written (code, identifiers, versions, hashes): Latin digits are right there.
_VERBATIM_TAGS = {"code", "pre", "kbd", "samp"}
_VERBATIM_CLASSES = {"verbatim"}
_BLOCKS = {"address", "article", "aside", "blockquote", "br", "caption", "dd", "div", "dl", "dt", "figcaption",
           "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav", "ol", "p", "pre",
           "section", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul"}
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
_SKIP = {"head", "style", "script", "title", "svg", "math"}
_LATIN_LETTERS = re.compile(r"[A-Za-z]+(?:[-_.'][A-Za-z0-9]+)*")
# Digits that should be Persian: ASCII digits not part of a Latin identifier ("hw6_q4", "CIFAR-10", "42-year"),
# and superscript digits (10⁻³).
_LATIN_DIGITS = re.compile(
    r"(?<![A-Za-z0-9_])(?<![A-Za-z][-.])[0-9]+(?:[.,/:][0-9]+)*(?![A-Za-z0-9_])(?![-.][A-Za-z])|[⁰¹²³⁴⁵⁶⁷⁸⁹]+")


def split_unbalanced(run: str) -> list[tuple[bool, str]]:
    """Split a Latin run at brackets that have no partner inside it, so each island is balanced.

    "(see keras" gives ``[(False, "("), (True, "see keras")]``: an island that opened a bracket whose
    partner lies in the surrounding right-to-left text would draw the pair facing the same way
    ("((build_model(hp))"). Returns (is_island, text) pieces in order.
    """
    partner = {")": "(", "]": "[", "}": "{"}
    stack: list[int] = []
    unmatched: list[int] = []
    for i, ch in enumerate(run):
        if ch in "([{":
            stack.append(i)
        elif ch in partner:
            if stack and run[stack[-1]] == partner[ch]:
                stack.pop()
            else:
                unmatched.append(i)
    pieces: list[tuple[bool, str]] = []
    start = 0
    for i in sorted(unmatched + stack) + [len(run)]:
        chunk = run[start:i]
        if chunk.strip():
            lead, core, trail = chunk[:len(chunk) - len(chunk.lstrip())], chunk.strip(), chunk[len(chunk.rstrip()):]
            pieces += [(False, lead)] * bool(lead) + [(True, core)] + [(False, trail)] * bool(trail)
        elif chunk:
            pieces.append((False, chunk))
        if i < len(run):
            pieces.append((False, run[i]))
        start = i + 1
    return pieces


def isolate_text(text: str) -> str:
    """``text`` between LRI and PDI, so it reads left to right inside right-to-left plain text."""
    return f"{LRI}{text}{PDI}"


def ltr_html(text: object, *, code: bool = False, verbatim: bool = True, nowrap: bool | None = None) -> Markup:
    """An LTR island for HTML: ``<bdi dir="ltr">`` (or ``<code dir="ltr">``) around the escaped ``text``.

    Args:
        text: the content; a ``Markup`` is kept as it is, anything else is escaped.
        code: write a ``<code>`` element (monospace) instead of ``<bdi>``.
        verbatim: mark the island as text shown exactly as written (identifiers, versions, hashes), where
            Latin digits are expected; ``False`` for formulas whose numbers are localised.
        nowrap: keep the island on one line; by default short islands (32 characters or fewer) do, so
            "keras-tuner" never breaks at its hyphen.
    """
    inner = text if isinstance(text, Markup) else escape(str(text))
    plain = re.sub(r"<[^>]*>", "", str(inner))
    classes = ["ltr"] + (["verbatim"] if verbatim and not code else [])
    if nowrap if nowrap is not None else len(plain) <= 32:
        classes.append("nowrap")
    tag = "code" if code else "bdi"
    return Markup(f'<{tag} dir="ltr" class="{" ".join(classes)}">{inner}</{tag}>')


class _Walker(HTMLParser):
    """Collects (text, in_island, in_verbatim, rtl) for every text node outside <head>/<style>/<script>."""

    def __init__(self, default_rtl: bool):
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool, bool, bool, bool]] = []  # tag, island, verbatim, rtl, skip
        self.default_rtl = default_rtl
        self.runs: list[tuple[str, bool, bool, bool, int]] = []
        self.block = 0  # counts block boundaries, so context never runs into the next paragraph or cell

    def _state(self) -> tuple[bool, bool, bool, bool]:
        if not self.stack:
            return False, False, self.default_rtl, False
        return self.stack[-1][1:]

    def handle_starttag(self, tag, attrs):
        island, verbatim, rtl, skip = self._state()
        a = {k: (v or "") for k, v in attrs}
        classes = set(a.get("class", "").split())
        direction = a.get("dir", "").lower()
        lang = a.get("lang", "").lower()
        if direction == "rtl" or (not direction and lang.startswith(("fa", "ar"))):
            rtl, island = True, False
        elif direction == "ltr" or (not direction and lang.startswith("en")):
            rtl = False
        if tag in _ISLAND_TAGS and direction != "rtl" or classes & _ISLAND_CLASSES or direction == "ltr":
            island = True
        if tag in _VERBATIM_TAGS or classes & _VERBATIM_CLASSES:
            verbatim = True
        self.block += tag in _BLOCKS
        if tag not in _VOID:
            self.stack.append((tag, island, verbatim, rtl, skip or tag in _SKIP))

    def handle_startendtag(self, tag, attrs):
        pass

    def handle_endtag(self, tag):
        self.block += tag in _BLOCKS
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                return

    def handle_data(self, data):
        island, verbatim, rtl, skip = self._state()
        if not skip:
            self.runs.append((data, island, verbatim, rtl, self.block))


def _scan(html: str, pattern: re.Pattern, exempt, default_rtl: bool, context: int) -> list[str]:
    walker = _Walker(default_rtl)
    walker.feed(str(html))
    walker.close()
    found = []
    runs = walker.runs
    for i, (text, island, verbatim, rtl, block) in enumerate(runs):
        if not rtl or exempt(island, verbatim):
            continue
        same = [r[0] if r[4] == block else "" for r in runs]
        for m in pattern.finditer(text):
            before = ("".join(same[max(0, i - 3):i]) + text[:m.start()])[-context:]
            after = (text[m.end():] + "".join(same[i + 1:i + 4]))[:context]
            found.append(" ".join(f"{before}[{m.group()}]{after}".split()))
    return found


def latin_outside_ltr(html: str, *, default_rtl: bool = True, context: int = 25) -> list[str]:
    """Latin words in right-to-left text that no LTR island holds.

    An island is ``bdi``/``bdo``/``code``/``pre``/``kbd``/``samp``/``var`` (unless ``dir="rtl"``), any element
    with ``dir="ltr"``, or class ``ltr``/``ltr-cell``. Text counts as right-to-left inside ``dir="rtl"`` or
    ``lang="fa"``/``"ar"`` (nearest ancestor wins), and at the top of a fragment when ``default_rtl``.
    ``<head>``, ``<style>`` and ``<script>`` are skipped.

    Args:
        html: a page or a fragment (e.g. one question's section).
        default_rtl: treat text outside any ``dir``/``lang`` ancestor as right-to-left (a Persian fragment).
        context: characters of surrounding text to show on each side.

    Returns:
        One string per offending word: the context with the word in ``[brackets]``; empty when all is well.
    """
    return _scan(html, _LATIN_LETTERS, lambda island, verbatim: island, default_rtl, context)


def latin_digits_outside_verbatim(html: str, *, default_rtl: bool = True, context: int = 25) -> list[str]:
    """Numbers written with Latin (or superscript) digits in right-to-left text, outside verbatim islands.

    Persian text, its tables and its formulas use the digits ۰–۹; Latin digits belong only where text is
    shown exactly as written: ``code``/``pre``/``kbd``/``samp`` or class ``verbatim`` (what the ``ltr`` and
    ``version`` filters write). Digits inside a Latin identifier ("hw6_q4", "3CosAdd") are not reported.
    Same arguments and return value as :func:`latin_outside_ltr`.
    """
    return _scan(html, _LATIN_DIGITS, lambda island, verbatim: verbatim, default_rtl, context)


_TAG = re.compile(r"(<!--.*?-->|<[^>]*>)", re.S)
_ATTR = re.compile(r"""([a-zA-Z_:][-a-zA-Z0-9_:.]*)\s*(?:=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?""")


def _isolate_runs(text: str) -> str:
    """Escaped ``text`` with every Latin run (:data:`LATIN_RUN`) in an LTR island (numbers it ends with stay outside)."""
    out, last = [], 0
    for m in LATIN_RUN.finditer(text):
        latin, tail = trim_latin_run(m.group())
        out.append(escape(text[last:m.start()]))
        for island, piece in split_unbalanced(latin):
            out.append(ltr_html(piece, verbatim=False) if island else escape(piece))
        out.append(escape(tail))
        last = m.end()
    out.append(escape(text[last:]))
    return "".join(str(p) for p in out)


def isolate_latin_html(html: str, *, default_rtl: bool = True) -> str:
    """``html`` with every Latin word or identifier that sits in right-to-left text outside an LTR island put in
    one (``<bdi dir="ltr" class="ltr">``), so a Persian page reads right and :func:`latin_outside_ltr` finds
    nothing. Text in islands, in left-to-right elements and in ``<head>``/``<style>``/``<script>`` is unchanged;
    so are tags and attributes. Same rules for what is right-to-left as :func:`latin_outside_ltr`.
    """
    from html import unescape

    walker = _Walker(default_rtl)
    pieces = _TAG.split(str(html))
    for i, piece in enumerate(pieces):
        if i % 2:  # a tag or a comment: update the state the way the checker does
            if piece.startswith("<!--") or piece.startswith("<!"):
                continue
            body = piece[1:-1].strip()
            if body.startswith("/"):
                walker.handle_endtag(body[1:].strip().split()[0].lower() if body[1:].strip() else "")
                continue
            name, _, rest = body.rstrip("/").partition(" ")
            attrs = [(m.group(1).lower(), m.group(2) if m.group(2) is not None else m.group(3) if m.group(3) is not None
                      else m.group(4)) for m in _ATTR.finditer(rest)]
            walker.handle_starttag(name.lower(), attrs)
            if body.endswith("/") and name.lower() not in _VOID:
                walker.handle_endtag(name.lower())
            continue
        island, _verbatim, rtl, skip = walker._state()
        if piece and rtl and not island and not skip and _LATIN_LETTERS.search(piece):
            pieces[i] = _isolate_runs(unescape(piece))
    return "".join(pieces)
