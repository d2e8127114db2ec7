"""Render the Persian and English reports: Jinja2 -> HTML -> WeasyPrint PDF."""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import Any, Sequence

import jinja2

from dlgrade import __version__
from dlgrade.grader.rubric import load_rubric
from dlgrade.reports.i18n import PROFILE_DESC, WORDS
from dlgrade.reports.numbers import fmt_cell, fmt_number, fmt_seconds, to_fa_digits

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
LANGS = ("fa", "en")


def environment(lang: str) -> jinja2.Environment:
    """A Jinja environment whose filters format numbers for ``lang``."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=jinja2.select_autoescape(["j2", "html"]),
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["num"] = lambda v, digits=3: fmt_number(v, digits, lang)
    env.filters["seconds"] = lambda v: fmt_seconds(v, lang)
    env.filters["cell"] = lambda v, digits=4: fmt_cell(v, digits, lang)
    env.filters["pct"] = lambda v, digits=1: (fmt_number(100 * v, digits, lang) + ("٪" if lang == "fa" else "%")) if v is not None else "—"
    env.filters["digits"] = (lambda s: to_fa_digits(str(s))) if lang == "fa" else (lambda s: str(s))
    env.globals["lang"] = lang
    env.globals["w"] = WORDS[lang]
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
