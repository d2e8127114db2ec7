"""Checks on rendered PDFs: which glyphs drew a character, lines in visual order, e-notation left in text.

``digit_glyphs`` answers "is ۶ drawn with the Persian glyph?": a PDF's text layer only says which code
point a glyph stands for, so the glyph's name is looked up in the font file the PDF embedded a subset of
(WeasyPrint keeps glyph ids when it subsets). Noto Naskh Arabic, for instance, maps ۶ (U+06F6) to its
``uni0666`` glyph (the Arabic ٦) and ۴ ۷ to Urdu ``.locl`` forms; Vazirmatn and Noto Sans Arabic draw
``uni06F4``..``uni06F7`` for ``lang="fa"``.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path
from typing import Iterable

PERSIAN_DIGITS = "۰۱۲۳۴۵۶۷۸۹"
ARABIC_INDIC_DIGITS = "٠١٢٣٤٥٦٧٨٩"
_D = "0-9۰-۹٠-٩"
# "2.64e-13", "۲٫۶۴e−۱۳", "1E+5"; also the reversed order an RTL line can show ("13-e2.64" is not matched,
# but "۱۳−e۲٫۶۴" is: digits, an optional sign, e, digits).
# Hex strings (commit hashes, sha256) are not numbers: no letter, digit or "." may touch the match.
_E_NOTATION = re.compile(
    rf"(?<![A-Za-z_{_D}.٫])[{_D}][{_D}.٫]*\s?[eE]\s?[-+−]?[{_D}]+(?![A-Za-z_{_D}])"
    rf"|(?<![A-Za-z_{_D}.٫])[{_D}]+[-+−][eE][{_D}][{_D}.٫]*(?![A-Za-z_{_D}])")


def find_e_notation(text: str) -> list[str]:
    """Numbers written in e-notation ("2.64e-13", "۲٫۶۴e−۱۳", "1E+5") in ``text``, e.g. a PDF's text layer;
    the reports write powers of ten instead ("2.64 × 10⁻¹³")."""
    return [m.group() for m in _E_NOTATION.finditer(text)]


def _read(pdf: bytes | str | Path) -> bytes:
    return pdf if isinstance(pdf, bytes) else Path(pdf).read_bytes()


def pdf_text(pdf: bytes | str | Path) -> str:
    """The text layer of every page (pdfplumber; right-to-left lines come in visual order)."""
    import pdfplumber

    with pdfplumber.open(io.BytesIO(_read(pdf))) as doc:
        return "\n".join(page.extract_text() or "" for page in doc.pages)


def visual_lines(pdf: bytes | str | Path, page: int | None = 0, *, right_to_left: bool = False) -> list[str]:
    """The characters of a page (``None``: every page), line by line, in the order they are drawn.

    Each line runs left to right (``right_to_left``: right to left, which is Persian reading order for
    Persian words; a glyph standing for several characters, like the lam-alef ligature "لا", stays whole).
    A superscript joins the line it is raised from. Useful to check that "−۰٫۵" has its minus on the left
    or that a matrix's first column is on the left.
    """
    import pdfplumber

    with pdfplumber.open(io.BytesIO(_read(pdf))) as doc:
        pages = doc.pages if page is None else [doc.pages[page]]
        per_page = [sorted(p.chars, key=lambda c: c["bottom"]) for p in pages]
    out = []
    for chars in per_page:
        lines: list[list[dict]] = []
        for ch in chars:
            if lines and ch["bottom"] - lines[-1][0]["bottom"] < 0.6 * max(c["size"] for c in lines[-1]):
                lines[-1].append(ch)
            else:
                lines.append([ch])
        out += ["".join(c["text"] for c in sorted(line, key=lambda c: c["x0"], reverse=right_to_left))
                for line in lines]
    return out


@lru_cache(maxsize=1)
def _system_fonts() -> dict[str, Path]:
    """PostScript name -> file for the fonts fontconfig knows."""
    if not shutil.which("fc-list"):
        return {}
    out = subprocess.run(["fc-list", "--format", "%{postscriptname}\t%{file}\n"], capture_output=True, text=True,
                         timeout=60)
    fonts = {}
    for line in out.stdout.splitlines():
        name, _, path = line.partition("\t")
        if name and path:
            fonts.setdefault(name, Path(path))
    return fonts


def _postscript_name(font) -> str:
    return str(font["name"].getDebugName(6) or "") if "name" in font else ""


def _font_index(extra: Iterable[Path]) -> dict[str, Path]:
    from fontTools.ttLib import TTFont

    index = dict(_system_fonts())
    for path in extra:
        index[_postscript_name(TTFont(str(path), lazy=True))] = Path(path)
    return index


def digit_glyphs(pdf: bytes | str | Path, chars: str = PERSIAN_DIGITS,
                 font_files: Iterable[Path] = ()) -> dict[str, set[tuple[str, str]]]:
    """For each character of ``chars``, the (font, glyph name) pairs the PDF draws it with.

    Args:
        pdf: the PDF (bytes or a path).
        chars: the characters to look up (default: the Persian digits).
        font_files: font files the PDF may embed that fontconfig does not know (e.g. Vazirmatn from
            ``dlgrade/fonts``); the Persian face of :mod:`dlgrade.typeset.fonts` is always added.

    Returns:
        ``{"۶": {("Vazirmatn-NL-Regular", "uni06F6")}, ...}``; a character the PDF does not draw is absent.

    Raises:
        LookupError: an embedded font's source file cannot be found, or its glyph ids were not kept, so
            glyph names cannot be told.
    """
    from fontTools.ttLib import TTFont
    from pdfminer.cmapdb import CMapParser, FileUnicodeMap
    from pdfminer.pdfdocument import PDFDocument
    from pdfminer.pdfparser import PDFParser
    from pdfminer.pdftypes import resolve1

    from dlgrade.typeset.fonts import persian_face

    extra = list(font_files)
    try:
        face = persian_face()
        extra += [p for p in (face.regular, face.bold) if p is not None]
    except FileNotFoundError:
        pass
    index = _font_index(extra)
    doc = PDFDocument(PDFParser(io.BytesIO(_read(pdf))))
    found: dict[str, set[tuple[str, str]]] = {}
    seen: set[int] = set()
    for xref in doc.xrefs:
        for objid in xref.get_objids():
            if objid in seen:
                continue
            seen.add(objid)
            try:
                obj = resolve1(doc.getobj(objid))
            except Exception:  # noqa: BLE001 - free or broken xref entries are not fonts
                continue
            if not isinstance(obj, dict) or getattr(obj.get("Subtype"), "name", "") != "Type0" or "ToUnicode" not in obj:
                continue
            umap = FileUnicodeMap()
            CMapParser(umap, io.BytesIO(resolve1(obj["ToUnicode"]).get_data())).run()
            wanted = {cid: text for cid, text in umap.cid2unichr.items() if text in chars}
            if not wanted:
                continue
            descendant = resolve1(resolve1(obj["DescendantFonts"])[0])
            descriptor = resolve1(descendant["FontDescriptor"])
            stream = descriptor.get("FontFile2")
            if stream is None:
                raise LookupError(f"font {obj['BaseFont'].name} is not embedded as TrueType; cannot name its glyphs")
            subset = TTFont(io.BytesIO(resolve1(stream).get_data()))
            ps_name = _postscript_name(subset)
            if ps_name not in index:
                raise LookupError(f"embedded font {ps_name!r} ({obj['BaseFont'].name}): no source file found; "
                                  "pass it in font_files")
            source = TTFont(str(index[ps_name]))
            order = source.getGlyphOrder()
            for cid, text in wanted.items():  # CIDToGIDMap is Identity in WeasyPrint's output
                sub_name = subset.getGlyphOrder()[cid] if cid < len(subset.getGlyphOrder()) else None
                if cid >= len(order) or sub_name is None or subset["hmtx"][sub_name][0] != source["hmtx"][order[cid]][0]:
                    raise LookupError(f"{ps_name}: glyph id {cid} of the subset does not match {index[ps_name]}; "
                                      "the PDF writer did not keep glyph ids")
                found.setdefault(text, set()).add((ps_name, order[cid]))
    return found


def wrong_digit_glyphs(glyphs: dict[str, set[tuple[str, str]]]) -> list[str]:
    """The Persian digits in a :func:`digit_glyphs` result drawn with anything but their own glyph
    (``uniXXXX`` or its tabular ``.tnum`` form): e.g. "۶ drawn as NotoNaskhArabic-Regular/uni0666"."""
    bad = []
    for char, pairs in sorted(glyphs.items()):
        own = f"uni{ord(char):04X}"
        for font, glyph in sorted(pairs):
            if char in PERSIAN_DIGITS and glyph not in (own, f"{own}.tnum"):
                bad.append(f"{char} drawn as {font}/{glyph}, expected {own}")
    return bad
