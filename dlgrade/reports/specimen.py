"""A one-page typography specimen per language: every number filter and left-to-right island once.

``python -m dlgrade.reports.specimen OUT`` writes ``OUT/specimen-fa.pdf`` and ``OUT/specimen-en.pdf`` (and
PNGs when ``pdftoppm`` is installed) to look at digits, minus signs, brackets and matrices; the tests in
``tests/reports`` read the same page.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
from pathlib import Path

from dlgrade.reports.render import LANGS, TEMPLATES, environment


def render_specimen(lang: str, css: Path | None = None) -> str:
    """The specimen's HTML for ``lang``; ``css`` replaces ``templates/report.css`` (to test a fallback)."""
    return environment(lang).get_template("specimen.html.j2").render(css=Path(css or TEMPLATES / "report.css").resolve().as_uri())


def specimen_pdf(lang: str, css: Path | None = None) -> bytes:
    """The specimen rendered by WeasyPrint."""
    from weasyprint import HTML

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    return HTML(string=render_specimen(lang, css), base_url=str(TEMPLATES)).write_pdf()


def write_specimens(out: Path, dpi: int = 110) -> list[Path]:
    """Write ``specimen-<lang>.pdf`` (and ``.png`` with pdftoppm) for both languages; returns the files."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for lang in LANGS:
        pdf = out / f"specimen-{lang}.pdf"
        pdf.write_bytes(specimen_pdf(lang))
        written.append(pdf)
        if shutil.which("pdftoppm"):
            subprocess.run(["pdftoppm", "-png", "-r", str(dpi), "-singlefile", str(pdf), str(pdf.with_suffix(""))],
                           check=True, timeout=120)
            written.append(pdf.with_suffix(".png"))
    return written


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m dlgrade.reports.specimen OUT_DIR")
    for path in write_specimens(Path(sys.argv[1])):
        print(path)
