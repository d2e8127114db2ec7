"""Per-student feedback: a PDF in Persian and in English, and Gradescope's ``results.json``.

The PDFs reuse the report's Jinja environment (number filters, Persian digits) and its print CSS;
the layout is ``templates/feedback.html.j2``. The grade is any object shaped like
:class:`dlgrade.autograde.submission.SubmissionGrade`; question titles are passed in.
"""

from __future__ import annotations

import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from typing import Mapping

from dlgrade.words import CATALOG

_PDF_LOCK = threading.Lock()


GROUPED = ("run_failed", "not_verified", "import_error", "not_submitted", "ambiguous", "internal", "timeout", "memory",
           "cpu", "crash", "sys_exit", "network", "not_implemented", "missing")


def problems(task, lang: str) -> tuple[list[dict], dict[str, int]]:
    """The failures that cost several checks, each stated once: ``[{"text", "checks", "points"}]`` and, per check id,
    the number of its problem (so the table can say "see problem 1" instead of repeating the sentence)."""
    groups: dict[str, dict] = {}
    for c in task.checks:
        if c.passed or c.verdict not in GROUPED:
            continue
        key = (c.verdict, c.detail)
        text = (c.detail_fa if lang == "fa" and c.detail_fa else c.detail) or c.verdict
        g = groups.setdefault(key, {"text": text, "technical": c.detail if lang == "fa" and c.detail_fa else "",
                                    "verdict": c.verdict, "checks": [], "points": 0.0, "hint": c.hint})
        g["checks"].append(c.id)
        g["points"] += c.points
    listed = [g for g in groups.values() if len(g["checks"]) > 1]
    index = {cid: i + 1 for i, g in enumerate(listed) for cid in g["checks"]}
    return listed, index


def render_html(grade, lang: str, titles: Mapping[str, Mapping[str, str]]) -> str:
    """The feedback page for ``grade`` in ``lang``; ``titles`` maps a question id to its titles."""
    from dlgrade.typeset.numbers import to_fa_digits
    from dlgrade.reports.render import TEMPLATES, environment

    env = environment(lang)
    env.filters["pts"] = lambda v: (to_fa_digits if lang == "fa" else str)(f"{float(v):g}")
    grouped = {t.task: problems(t, lang) for t in grade.tasks}
    return env.get_template("feedback.html.j2").render(
        g=grade, fw=CATALOG.view(lang, "feedback"), vt=CATALOG.view(lang, "verdict"), grouped=grouped,
        titles={t.task: (titles.get(t.task) or {}).get(lang, "") for t in grade.tasks},
        generated=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), css=(TEMPLATES / "report.css").as_uri())


def write_pdf(grade, lang: str, path: Path, titles: Mapping[str, Mapping[str, str]]) -> Path:
    """Render the feedback for ``grade`` in ``lang`` to ``path`` (PDF)."""
    from dlgrade.reports.render import write_pdf as html_to_pdf

    with _PDF_LOCK:  # WeasyPrint/fontconfig are not guaranteed thread-safe
        return html_to_pdf(render_html(grade, lang, titles), path, Path(path).parent)


def gradescope(grade) -> dict[str, Any]:
    """Gradescope autograder ``results.json``: total score and one test per check."""
    tests = []
    for t in grade.tasks:
        for c in t.checks:
            out = c.detail or c.verdict
            if not c.passed and c.fix:
                out += "\nFix: " + c.fix.get("en", "")
            tests.append({"name": f"{t.task} {c.id}: {c.message.get('en', '')}", "number": f"{t.task}.{c.id}",
                          "score": c.earned, "max_score": c.points, "status": "passed" if c.passed else "failed",
                          "output": out, "visibility": "visible", "tags": [t.task, c.stage, c.verdict]})
    summary = f"{grade.summary() or '0/0'} points"
    if grade.error:
        summary += f"\n{grade.error}"
    return {"score": grade.earned, "execution_time": grade.elapsed_s, "output": summary, "visibility": "visible",
            "stdout_visibility": "hidden", "tests": tests}
