"""Integrity checks: claims in any results file that cannot be true, whatever the task's rubric says.

They apply to every graded ``results.json`` (a student's hand-in or the run of their code) when the
results contain what they check, and when the task's rubric does not already run the same property:

- ``claims_unit_interval``: every accuracy / precision / recall / F1 metric lies in [0, 1];
- ``claims_confusion_total``: every confusion-matrix table sums to the test size.

A BatchNorm output whose columns are not normalised is caught by the task's own rubric
(``normalised`` property checks in ``questions/hw6_q1/rubric.yaml``).
"""

from __future__ import annotations

from dlgrade.rubric.grade import GradedCheck, evaluate_check
from dlgrade.rubric.parse import Rubric, parse_check
from dlgrade.results import TaskResult

UNIT_SUFFIXES = ["accuracy", "precision", "recall", "f1"]

INTEGRITY = [
    {"id": "claims_unit_interval", "property": "metrics_in_unit_interval", "args": {"suffixes": UNIT_SUFFIXES}, "points": 1,
     "message": {"en": "Every accuracy, precision, recall and F1 reported lies in [0, 1].",
                 "fa": "همهٔ مقادیر صحت، دقت، بازخوانی و F1 گزارش‌شده در بازهٔ [۰، ۱] هستند."},
     "fix": {"en": "Report fractions, not percentages, and only values your run produced.",
             "fa": "کسر گزارش کنید نه درصد، و فقط مقادیری که اجرای شما تولید کرده است."}},
    {"id": "claims_confusion_total", "property": "confusion_totals", "args": {}, "points": 1,
     "message": {"en": "Every confusion matrix's counts add up to the test-set size.",
                 "fa": "مجموع شمارش‌های هر ماتریس درهم‌ریختگی برابر اندازهٔ مجموعهٔ آزمون است."},
     "fix": {"en": "Build the matrix from the predictions on the whole test set (e.g. sklearn.metrics.confusion_matrix).",
             "fa": "ماتریس را از پیش‌بینی‌ها روی کل مجموعهٔ آزمون بسازید (مثلاً با sklearn.metrics.confusion_matrix)."}},
]


def _applies(check_id: str, result: TaskResult) -> bool:
    if check_id == "claims_unit_interval":
        return any(k.split(".")[-1].endswith(tuple(UNIT_SUFFIXES)) for k in result.metrics)
    if check_id == "claims_confusion_total":
        return any("confusion" in n.lower() for n in result.tables)
    return True


def integrity_checks(result: TaskResult, rubric: Rubric, profile: str) -> list[GradedCheck]:
    """The integrity checks that apply to ``result`` and are not already in ``rubric``, evaluated."""
    own = {c.prop for c in rubric.checks if profile in c.profiles}
    out = []
    for i, raw in enumerate(INTEGRITY):
        check = parse_check(raw, f"integrity[{i}]")
        if check.prop in own or not _applies(check.id, result):
            continue
        out.append(evaluate_check(check, result, profile, stage="integrity"))
    return out
