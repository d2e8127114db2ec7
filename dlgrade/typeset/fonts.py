"""The Persian typeface of the reports: which one is installed, where its files are, how to name it.

``make setup`` runs ``scripts/fetch-fonts.sh``, which puts Vazirmatn (the "Non-Latin" cut: Persian letters
and digits, no Latin) from its author's npm package into ``dlgrade/typeset/fonts/vazirmatn/`` (git ignores it).
``templates/report.css`` loads it with ``@font-face`` and lists Noto Sans (Latin) and then Noto Sans
Arabic (Debian fonts-noto-core) after it, so without the download WeasyPrint falls back to Noto Sans
Arabic. Both draw ۴۵۶۷ in their Persian forms when the page says ``lang="fa"``; Noto Naskh Arabic does not
(۶ comes out as the Arabic ٦, ۴ and ۷ in Urdu forms), so it is never used.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

FONT_DIR = Path(__file__).resolve().parent / "fonts"
VAZIRMATN_DIR = FONT_DIR / "vazirmatn"
VAZIRMATN_FILES = {"regular": "Vazirmatn-NL-Regular.ttf", "bold": "Vazirmatn-NL-Bold.ttf"}
FALLBACK_FAMILY = "Noto Sans Arabic"
FALLBACK_FILES = {"regular": "/usr/share/fonts/truetype/noto/NotoSansArabic-Regular.ttf",
                  "bold": "/usr/share/fonts/truetype/noto/NotoSansArabic-Bold.ttf"}


@dataclass(frozen=True)
class PersianFace:
    """The face Persian text is set in.

    Attributes:
        family: the CSS / matplotlib family name ("Vazirmatn" in CSS; matplotlib reads "Vazirmatn NL").
        version: the font's version for provenance, or "" for the system font.
        source: where it came from, in English.
        regular, bold: the font files (``bold`` may be None).
        fallback: True when Vazirmatn is not installed and Noto Sans Arabic is used instead.
    """

    family: str
    version: str
    source: str
    regular: Path
    bold: Path | None
    fallback: bool

    def describe(self, lang: str = "en") -> str:
        """One line for a PDF's provenance appendix."""
        if lang == "fa":
            if self.fallback:
                return (f"{self.family} (بستهٔ دبیان fonts-noto-core)؛ وزیرمتن نصب نبود، "
                        "با make setup نصب می‌شود")
            return f"Vazirmatn {self.version} (بستهٔ npm به نام vazirmatn، مجوز SIL OFL)"
        if self.fallback:
            return f"{self.family} ({self.source}); Vazirmatn was not installed: run make setup"
        return f"Vazirmatn {self.version} ({self.source})"


def _system_font(family: str, style: str) -> Path | None:
    if shutil.which("fc-match"):
        out = subprocess.run(["fc-match", "-f", "%{family}\t%{file}", f"{family}:style={style}"],
                             capture_output=True, text=True, timeout=30)
        names, _, path = out.stdout.partition("\t")
        if out.returncode == 0 and family in names.split(",") and Path(path).is_file():
            return Path(path)
    default = Path(FALLBACK_FILES["bold" if style == "Bold" else "regular"])
    return default if default.is_file() else None


@lru_cache(maxsize=1)
def persian_face() -> PersianFace:
    """Vazirmatn when ``make setup`` fetched it, else Noto Sans Arabic.

    Raises:
        FileNotFoundError: neither is installed (install fonts-noto-core, or run ``make setup``).
    """
    regular = VAZIRMATN_DIR / VAZIRMATN_FILES["regular"]
    bold = VAZIRMATN_DIR / VAZIRMATN_FILES["bold"]
    if regular.is_file():
        version_file = VAZIRMATN_DIR / "VERSION"
        version = version_file.read_text().strip() if version_file.is_file() else "unknown version"
        return PersianFace("Vazirmatn", version, "npm package vazirmatn by Saber Rastikerdar, SIL OFL 1.1",
                           regular, bold if bold.is_file() else None, fallback=False)
    regular_sys = _system_font(FALLBACK_FAMILY, "Regular")
    if regular_sys is None:
        raise FileNotFoundError(
            f"no Persian font: {regular} is missing (run 'make setup', which fetches Vazirmatn with npm) and "
            f"{FALLBACK_FAMILY} is not installed (apt-get install fonts-noto-core)")
    return PersianFace(FALLBACK_FAMILY, "", "Debian package fonts-noto-core", regular_sys,
                       _system_font(FALLBACK_FAMILY, "Bold"), fallback=True)
