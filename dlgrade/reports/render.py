"""Render the Persian and English reports: Jinja2 -> HTML -> WeasyPrint PDF."""

from __future__ import annotations

import logging
import numbers
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import Any, Callable, Sequence

import jinja2
from markupsafe import Markup

from dlgrade import __version__
from dlgrade.grader.rubric import load_rubric
from dlgrade.reports.i18n import PROFILE_DESC, WORDS
from dlgrade.reports import numbers as nb
from dlgrade.reports.bidi import ltr_html
from dlgrade.reports.fonts import persian_face

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
LANGS = ("fa", "en")


def filters(lang: str) -> dict[str, Callable[..., Any]]:
    """The templates' filters for ``lang``; each returns ``Markup`` (see :mod:`dlgrade.reports.numbers`).

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


def typeface_note(lang: str) -> str:
    """Which face the Persian text is set in, for the appendix."""
    try:
        return persian_face().describe(lang)
    except FileNotFoundError as e:
        return str(e)


def environment(lang: str) -> jinja2.Environment:
    """A Jinja environment whose filters format numbers and left-to-right islands for ``lang``."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=jinja2.select_autoescape(["j2", "html"]),
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(filters(lang))
    env.globals["lang"] = lang
    env.globals["w"] = WORDS[lang]
    env.globals["list_sep"] = nb.STYLES[lang].list_sep
    env.globals["typeface"] = typeface_note(lang)
    return env


def section_context(outcome, grade, lang: str) -> dict[str, Any]:
    from dlgrade.tasks import get_task

    result = outcome.result
    task = get_task(result.task)
    return {
        "task": task, "title": task.title[lang], "anchor": task.slug, "result": result, "m": result.metrics,
        "t": result.tables, "facts": result.facts, "grade": grade, "run_dir": outcome.run_dir.resolve(),
        "cached": outcome.cached, "partial": f"partials/{task.slug}.{lang}.html.j2",
        "fig": lambda name: (outcome.run_dir.resolve() / result.figures[name]).as_uri(),
    }


def failure_context(failure, lang: str) -> dict[str, Any]:
    from dlgrade.tasks import get_task

    task = get_task(failure.task_id)
    return {"task": task, "title": task.title[lang], "anchor": task.slug, "error": failure.error}


def render_html(outcomes: Sequence, profile: str, lang: str, failures: Sequence = ()) -> str:
    from dlgrade.tasks import all_tasks

    env = environment(lang)
    order = {t.id: i for i, t in enumerate(all_tasks())}
    sections = [section_context(o, g, lang) for o, g in outcomes] + [failure_context(f, lang) for f in failures]
    sections.sort(key=lambda s: order.get(s["task"].id, len(order)))
    return env.get_template("report.html.j2").render(
        sections=sections, profile=profile, profile_desc=PROFILE_DESC[lang][profile], version=__version__,
        generated=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        earned=sum(g.earned for _, g in outcomes),
        total=sum(g.total for _, g in outcomes) + sum(load_rubric(f.task_id).total_points(profile) for f in failures),
        css=(TEMPLATES / "report.css").as_uri(),
    )


def write_reports(outcomes: Sequence, out: Path, profile: str, langs: Sequence[str] = LANGS, keep_html: bool = False,
                  failures: Sequence = ()) -> list[Path]:
    """Write ``out/report-<lang>.pdf`` for each language; returns the paths.

    ``failures`` (tasks that could not run) get a section saying why instead of results.
    """
    from weasyprint import HTML

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for lang in langs:
        html = render_html(outcomes, profile, lang, failures)
        if keep_html:
            (out / f"report-{lang}.html").write_text(html, encoding="utf-8")
        pdf = out / f"report-{lang}.pdf"
        tmp = pdf.with_suffix(".pdf.tmp")
        HTML(string=html, base_url=str(out.resolve())).write_pdf(tmp)
        tmp.replace(pdf)
        written.append(pdf)
    return written
