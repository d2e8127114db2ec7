"""Evaluate a rubric against a results file: one :class:`GradedCheck` per check. Never re-runs training.

:class:`GradedCheck` is the one record of a graded check everywhere: a rubric check on a run, an integrity
check, a hidden unit check of a student's code, the validity of a results hand-in.
"""

from __future__ import annotations

import inspect
import math
from dataclasses import asdict, dataclass, field
from typing import Any

from dlgrade.errors import ResultsError
from dlgrade.rubric.parse import Check, Rubric
from dlgrade.rubric.properties import PROPERTIES, expected_text
from dlgrade.results import TaskResult
from dlgrade.text import clean, text_table


@dataclass
class GradedCheck:
    """One graded check.

    Attributes:
        id: the check's id (unique within its question).
        question: the question's id.
        stage: ``rubric`` (a run's results), ``integrity``, ``unit`` (a hidden check of student code) or
            ``results`` (the validity of a results hand-in).
        kind: ``range``, ``equals``, ``property`` or ``hidden``.
        passed, points, earned: the outcome.
        verdict: ``passed``, ``partial``, ``wrong`` or why it could not pass (``timeout``, ``not_reported``, ...).
        detail: what the grader saw (short, plain text).
        message, fix: what the check tests and what to do when it fails, ``{"en": ..., "fa": ...}``.
        value, expected: the value checked and what was expected, for tables.
        step: the step of the question's run the check reads.
        detail_fa: ``detail`` in Persian (empty: only the English one exists, e.g. a rubric range sentence).
        hint: a hint in both languages (e.g. a Keras 2 -> 3 change), shown beside the detail.
        review: the grader itself failed here; the check scores 0 and the instructor should look.
    """

    id: str
    question: str
    stage: str
    kind: str
    passed: bool
    points: float
    earned: float
    verdict: str
    detail: str
    message: dict[str, str]
    fix: dict[str, str] = field(default_factory=dict)
    value: Any = None
    expected: str = ""
    step: str | None = None
    detail_fa: str = ""
    hint: dict[str, str] = field(default_factory=dict)
    review: bool = False

    @property
    def key(self) -> str:
        return f"{self.question}:{self.id}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Grade:
    """The graded checks of one results file."""

    task: str
    profile: str
    checks: list[GradedCheck]

    @property
    def earned(self) -> float:
        return sum(c.earned for c in self.checks)

    @property
    def total(self) -> float:
        return sum(c.points for c in self.checks)

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    def to_dict(self) -> dict[str, Any]:
        return {"task": self.task, "profile": self.profile, "earned": self.earned, "total": self.total,
                "passed": self.passed, "checks": [c.to_dict() for c in self.checks]}


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def fmt_range(low: float, high: float) -> str:
    return f"[{low:.4g}, {high:.4g}]"


def _call_property(check: Check, result: TaskResult, profile: str):
    fn = PROPERTIES[check.prop]
    kwargs = dict(check.args)
    if "profile" in inspect.signature(fn).parameters:
        kwargs["profile"] = profile
    return fn(result, **kwargs)


def evaluate_check(check: Check, result: TaskResult, profile: str, stage: str = "rubric",
                   reference: TaskResult | None = None) -> GradedCheck:
    """Grade one check on ``result`` with the ranges of ``profile`` (never the profile the results claim).

    With ``reference`` (the reference run at the same profile and seed, when a student's code is graded), a
    range check that declares ``reference`` is graded against the reference's value instead: the student's value
    must lie in ``[ref - below, ref + above]``, or, for ``reference: centered``, in this profile's range moved to be
    centred on the reference's value (its half-width is the seed-to-seed spread it was measured with).
    """

    def done(passed: bool, value: Any, expected: str, detail: str, verdict: str | None = None) -> GradedCheck:
        return GradedCheck(check.id, result.task, stage, check.kind, passed, check.points, check.points if passed else 0.0,
                           verdict or ("passed" if passed else "wrong"), detail, check.message, check.fix, value, expected,
                           check.step)

    if check.prop:
        try:
            passed, value, detail = _call_property(check, result, profile)
        except (KeyError, ValueError, TypeError, IndexError) as e:
            return done(False, None, check.prop, f"could not be checked: {e}", "not_reported" if isinstance(e, KeyError) else None)
        return done(bool(passed), value, expected_text(result, check.prop, check.args, profile), detail)

    if check.metric not in result.metrics:
        return done(False, None, _expected(check, profile), f"{check.metric} is not reported in results.json", "not_reported")
    value = result.metrics[check.metric]
    if check.equals is not None:
        return done(value == check.equals, value, repr(check.equals), f"{check.metric} = {value!r}")
    low, high = check.ranges[profile]
    basis = ""
    if reference is not None and check.reference is not None and _is_number(reference.metrics.get(check.metric)):
        ref = reference.metrics[check.metric]
        if check.reference == "centered":
            mid = (low + high) / 2
            low, high = ref - (mid - low), ref + (high - mid)
        else:
            low, high = ref - check.reference[0], ref + check.reference[1]
        basis = f" (the reference run at this profile and seed: {ref:.4g})"
    if not _is_number(value):
        return done(False, value, fmt_range(low, high), f"{check.metric} is {value!r}, not a finite number")
    ok = low <= value <= high
    return done(ok, value, fmt_range(low, high),
                f"{check.metric} = {value:.6g} " + ("inside" if ok else "outside") + f" {fmt_range(low, high)}{basis}")


def _expected(check: Check, profile: str) -> str:
    if check.equals is not None:
        return repr(check.equals)
    return fmt_range(*check.ranges[profile]) if profile in check.ranges else "?"


def grade_result(result: TaskResult, rubric: Rubric, profile: str | None = None, reference: TaskResult | None = None) -> Grade:
    """Grade ``result`` with ``rubric`` for ``profile`` (default: the profile the run itself recorded).

    Raises:
        ResultsError: no profile given and none recorded in the results' provenance.
    """
    if profile is None:
        profile = result.provenance.get("profile")
        if profile is None:
            raise ResultsError(f"results of {result.task} record no provenance.profile; say which profile's ranges apply")
    checks = [evaluate_check(c, result, profile, reference=reference) for c in rubric.checks if profile in c.profiles]
    return Grade(task=result.task, profile=profile, checks=checks)


def format_table(grade: Grade) -> str:
    """A plain-text table of the checks, for the terminal."""
    rows = [("check", "result", "points", "value", "expected")]
    for c in grade.checks:
        value = f"{c.value:.4g}" if _is_number(c.value) else clean(c.value, 40)
        rows.append((c.id, "PASS" if c.passed else "FAIL", f"{c.earned:g}/{c.points:g}", value, c.expected))
    summary = (f"{grade.task} ({grade.profile}): {grade.earned:g}/{grade.total:g} points, "
               + ("all checks passed" if grade.passed else f"{sum(not c.passed for c in grade.checks)} check(s) failed"))
    return text_table(rows, [summary])
