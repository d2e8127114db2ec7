"""Per-student feedback: a PDF in Persian and in English, and Gradescope's ``results.json``.

The PDFs reuse the report's Jinja environment (number filters, Persian digits) and its print CSS;
the layout is ``templates/feedback.html.j2``.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from dlgrade.grader.submission import VERDICT_TEXT, SubmissionGrade

WORDS = {
    "en": {"title": "Grading feedback", "student": "Student", "total": "Total", "points": "Points", "check": "Check",
           "result": "Result", "what": "What happened", "fix": "What to fix", "pass": "PASS", "partial": "PARTIAL",
           "fail": "FAIL", "mode": {"code": "your code was run and checked", "results": "your results.json was graded",
                                    "missing": "not submitted"},
           "stage": {"unit": "hidden unit check", "rubric": "rubric check on the task run", "integrity": "integrity check",
                     "results": "results file"},
           "profile": "profile", "generated": "Generated", "notes": "Notes", "error": "Problem with the submission",
           "intro": "Each row is one check: what it tests, whether it passed, the points, what the grader saw and, when it failed, what to change."},
    "fa": {"title": "بازخورد نمره‌دهی", "student": "دانشجو", "total": "جمع", "points": "امتیاز", "check": "بررسی",
           "result": "نتیجه", "what": "چه پیش آمد", "fix": "چه چیزی را درست کنید", "pass": "قبول", "partial": "جزئی",
           "fail": "رد", "mode": {"code": "کد شما اجرا و بررسی شد", "results": "فایل results.json شما نمره‌دهی شد",
                                  "missing": "تحویل داده نشده"},
           "stage": {"unit": "آزمون واحد پنهان", "rubric": "بررسی روبریک روی اجرای تسک", "integrity": "بررسی سازگاری",
                     "results": "فایل نتایج"},
           "profile": "پروفایل", "generated": "تاریخ تولید", "notes": "یادداشت‌ها", "error": "مشکل تحویل",
           "intro": "هر سطر یک بررسی است: چه چیزی را می‌آزماید، قبول شد یا نه، امتیاز، آنچه نمره‌دهنده دید و اگر رد شد، چه چیزی را باید تغییر دهید."},
}

_PDF_LOCK = threading.Lock()


def render_html(grade: SubmissionGrade, lang: str) -> str:
    from dlgrade.reports.render import TEMPLATES, environment
    from dlgrade.tasks import get_task

    from dlgrade.reports.numbers import to_fa_digits

    env = environment(lang)
    env.filters["pts"] = lambda v: (to_fa_digits if lang == "fa" else str)(f"{float(v):g}")
    titles = {}
    for t in grade.tasks:
        try:
            titles[t.task] = get_task(t.task).title[lang]
        except Exception:  # noqa: BLE001 - a task removed since: show its id only
            titles[t.task] = ""
    return env.get_template("feedback.html.j2").render(
        g=grade, fw=WORDS[lang], vt={k: v[lang] for k, v in VERDICT_TEXT.items()}, titles=titles,
        generated=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), css=(TEMPLATES / "report.css").as_uri())


def write_pdf(grade: SubmissionGrade, lang: str, path: Path) -> Path:
    """Render the feedback for ``grade`` in ``lang`` to ``path`` (PDF)."""
    from weasyprint import HTML

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    html = render_html(grade, lang)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with _PDF_LOCK:  # WeasyPrint/fontconfig are not guaranteed thread-safe
        HTML(string=html, base_url=str(path.parent.resolve())).write_pdf(path)
    return path


def gradescope(grade: SubmissionGrade) -> dict[str, Any]:
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
    summary = f"{grade.earned:g}/{grade.total:g} points"
    if grade.error:
        summary += f"\n{grade.error}"
    return {"score": grade.earned, "execution_time": grade.elapsed_s, "output": summary, "visibility": "visible",
            "stdout_visibility": "hidden", "tests": tests}
