"""Render the Persian and English reports: Jinja2 -> HTML -> WeasyPrint PDF.

The report is the last consumer of the data: it receives :class:`Section` records (results, grades and the
question's template folder) and never loads rubrics or imports questions itself.
"""

from __future__ import annotations

import logging
import numbers
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import jinja2
from markupsafe import Markup

from dlgrade import __version__
from dlgrade.typeset import numbers as nb
from dlgrade.typeset.bidi import isolate_latin_html, ltr_html
from dlgrade.typeset.fonts import persian_face
from dlgrade.results import figure_file
from dlgrade.words import CATALOG, LANGS

TEMPLATES = Path(__file__).resolve().parent / "templates"


@dataclass
class Section:
    """One question's part of the report.

    Attributes:
        id, slug: the question's id and slug.
        titles: ``{"en": ..., "fa": ...}``.
        templates: the question's template folder (``section.html.j2``, ``discussion.<lang>.html.j2``).
        result, grade, run_dir, cached: the run and its grade (None when it could not run).
        error: why the question could not run.
        points: the rubric's total for the profile (the denominator, also when the question could not run).
    """

    id: str
    slug: str
    titles: Mapping[str, str]
    templates: Path
    result: Any = None
    grade: Any = None
    run_dir: Path | None = None
    cached: bool = False
    error: str | None = None
    points: float = 0.0
    extra: dict = field(default_factory=dict)


def filters(lang: str) -> dict[str, Callable[..., Any]]:
    """The templates' filters for ``lang``; each returns ``Markup`` (see :mod:`dlgrade.typeset.numbers`).

    Numbers: ``num(digits=3, sig=None, notation="auto", signed=False)``, ``cell(digits=4)``, ``sci(sig=3)``,
    ``exact`` (the digits it was given: 1e-05 → 10⁻⁵), ``pct(digits=1)`` (a fraction as %), ``pp(digits=1)``
    (a difference of fractions in percentage points), ``seconds``, ``duration``, ``points(total)``
    ("۷ از ۹"), ``range(high=None, digits=None)`` ("[low, high]"; also parses "[0, 1e-05]"),
    ``numlist(digits=None)`` (joined with "،" in Persian). Text: ``digits`` (localise the numbers in a
    string; a number is shown exactly), ``prose`` (Persian text from Python: numbers localised and Latin
    words in left-to-right islands), ``ltr`` / ``code`` (code, identifiers, file names, verbatim),
    ``formula`` (a left-to-right island whose numbers are localised), ``version`` (versions, hashes).
    """
    def markup_or(fn):
        return lambda s, *a, **k: s if isinstance(s, Markup) else fn(s, *a, **k)

    def digits(value):
        if isinstance(value, numbers.Real) or value is None:
            return nb.fmt_exact(value, lang, html=True)
        return nb.localise_text(str(value), lang, html=True)

    return {
        "num": lambda v, digits=3, sig=None, notation="auto", signed=False: nb.fmt_number(
            v, digits, lang, sig=sig, notation=notation, signed=signed, html=True),
        "cell": lambda v, digits=4: nb.fmt_cell(v, digits, lang, html=True),
        "sci": lambda v, sig=3: nb.fmt_sci(v, sig, lang, html=True),
        "exact": lambda v: nb.fmt_exact(v, lang, html=True),
        "pct": lambda v, digits=1, signed=False: nb.fmt_pct(v, digits, lang, signed=signed, html=True),
        "pp": lambda v, digits=1, signed=False: nb.fmt_pp(v, digits, lang, signed=signed, html=True),
        "seconds": lambda v: nb.fmt_seconds(v, lang, html=True),
        "duration": lambda v: nb.fmt_duration(v, lang, html=True),
        "points": lambda earned, total=None: nb.fmt_points(earned, total, lang, html=True),
        "range": lambda low, high=None, digits=None: nb.fmt_range(low, high, digits, lang, html=True),
        "numlist": lambda values, digits=None: nb.fmt_list(values, digits, lang, html=True),
        "digits": markup_or(digits),
        "prose": markup_or(lambda s: nb.localise_text(str(s), lang, html=True, isolate_latin=True)),
        "ltr": lambda s, code=False: ltr_html(s, code=code),
        "code": lambda s: ltr_html(s, code=True),
        "formula": lambda s: ltr_html(s if isinstance(s, Markup) else nb.localise_text(str(s), lang, html=True),
                                      verbatim=False),
        "version": lambda s: nb.fmt_version(s, lang, html=True),
    }


def data_note(form: str, note: str, lang: str) -> str:
    """The provenance note of a dataset form (``lossy`` in :mod:`dlgrade.data.registry`) in ``lang``: the
    catalog's ``data_note.<form>`` when it has one, else the note as the run recorded it."""
    key = f"data_note.{form}"
    return CATALOG.text(key, lang) if CATALOG.has(key) else note


def typeface_note(lang: str) -> str:
    """Which face the Persian text is set in, for the appendix."""
    try:
        return persian_face().describe(lang)
    except FileNotFoundError as e:
        return str(e)


def environment(lang: str, sections: Sequence[Section] = ()) -> jinja2.Environment:
    """A Jinja environment whose filters format numbers for ``lang``; each section's templates are reachable
    under its slug (``hw6_q1/section.html.j2``)."""
    loader = jinja2.ChoiceLoader([jinja2.FileSystemLoader(str(TEMPLATES)),
                                  jinja2.PrefixLoader({s.slug: jinja2.FileSystemLoader(str(s.templates)) for s in sections})])
    env = jinja2.Environment(loader=loader, autoescape=jinja2.select_autoescape(["j2", "html"]),
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(filters(lang))
    env.globals["lang"] = lang
    env.globals["w"] = CATALOG.view(lang, "report")
    env.globals["list_sep"] = nb.STYLES[lang].list_sep
    env.globals["typeface"] = typeface_note(lang)
    env.globals["data_note"] = lambda form, note: data_note(form, note, lang)
    return env


def section_context(s: Section, lang: str) -> dict[str, Any]:
    """What a question's templates see: ``m`` (metrics), ``t`` (tables), ``facts``, ``fig(name)``, ``word(key)``
    (the question's words, then the global ones) and ``label(code, kind)`` (a code's word when there is one)."""
    word = CATALOG.lookup(lang, s.id, "")

    def label(code: Any, kind: str) -> Any:
        if not isinstance(code, str):
            return code
        for key in (f"{s.id}.{kind}.{code}", f"{kind}.{code}"):
            if CATALOG.has(key):
                return CATALOG.text(key, lang)
        return code

    ctx: dict[str, Any] = {"section": s, "task_id": s.id, "title": s.titles[lang], "anchor": s.slug, "word": word,
                           "label": label, "error": s.error}
    if s.result is not None:
        run_dir = Path(s.run_dir).resolve()
        ctx.update({"result": s.result, "m": s.result.metrics, "t": s.result.tables, "facts": s.result.facts,
                    "grade": s.grade, "cached": s.cached, "structure": f"{s.slug}/section.html.j2",
                    "discussion": f"{s.slug}/discussion.{lang}.html.j2",
                    "fig": lambda name: (run_dir / figure_file(s.result.figures[name], lang)).as_uri(), **s.extra})
    return ctx


def render_html(sections: Sequence[Section], profile: str, lang: str) -> str:
    env = environment(lang, sections)
    ran = [s for s in sections if s.grade is not None]
    html = env.get_template("report.html.j2").render(
        sections=[section_context(s, lang) for s in sections], profile=profile,
        profile_desc=CATALOG.text(f"profile.{profile}", lang), version=__version__,
        generated=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        earned=sum(s.grade.earned for s in ran), total=sum(s.points for s in sections),
        css=(TEMPLATES / "report.css").as_uri(),
    )
    # Persian pages: a Latin word the templates left in running text (an identifier, a dataset or library name)
    # becomes a left-to-right island, as the `prose` filter does for text from Python
    return isolate_latin_html(html) if lang == "fa" else html


def write_pdf(html: str, path: Path, base_url: Path) -> Path:
    """Write ``html`` as a PDF at ``path`` atomically."""
    from weasyprint import HTML

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".pdf.tmp")
    HTML(string=html, base_url=str(Path(base_url).resolve())).write_pdf(tmp)
    tmp.replace(path)
    return path


def write_reports(sections: Sequence[Section], out: Path, profile: str, langs: Sequence[str] = LANGS,
                  keep_html: bool = False) -> list[Path]:
    """Write ``out/report-<lang>.pdf`` for each language; returns the paths. Sections whose question could
    not run say why instead of showing results."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for lang in langs:
        html = render_html(sections, profile, lang)
        if keep_html:
            (out / f"report-{lang}.html").write_text(html, encoding="utf-8")
        written.append(write_pdf(html, out / f"report-{lang}.pdf", out))
    return written
