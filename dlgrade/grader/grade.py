"""Evaluate a rubric against a results file; never re-runs training."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from dlgrade import results as results_mod
from dlgrade.grader.properties import PROPERTIES, expected_text
from dlgrade.grader.rubric import Check, Rubric, load_rubric
from dlgrade.results import TaskResult, write_json_atomic

GRADE_FILE = "grade.json"


@dataclass
class CheckResult:
    id: str
    kind: str
    passed: bool
    points: float
    earned: float
    value: Any
    expected: str
    detail: str
    message: dict[str, str]
    fix: dict[str, str] = field(default_factory=dict)


@dataclass
class Grade:
    task: str
    profile: str
    checks: list[CheckResult]

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
                "passed": self.passed, "checks": [asdict(c) for c in self.checks]}


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def fmt_range(low: float, high: float) -> str:
    return f"[{low:g}, {high:g}]"


def evaluate_check(check: Check, result: TaskResult, profile: str) -> CheckResult:
    def done(passed: bool, value: Any, expected: str, detail: str) -> CheckResult:
        return CheckResult(check.id, check.kind, passed, check.points, check.points if passed else 0.0,
                           value, expected, detail, check.message, check.fix)

    if check.prop:
        try:
            passed, value, detail = PROPERTIES[check.prop](result, **check.args)
        except (KeyError, ValueError, TypeError, IndexError) as e:
            return done(False, None, check.prop, f"could not be checked: {e}")
        return done(bool(passed), value, expected_text(result, check.prop, check.args), detail)

    if check.metric not in result.metrics:
        return done(False, None, _expected(check, profile), f"metric {check.metric!r} is missing from results.json")
    value = result.metrics[check.metric]
    if check.equals is not None:
        return done(value == check.equals, value, repr(check.equals), f"{check.metric} = {value!r}")
    low, high = check.ranges[profile]
    if not _is_number(value):
        return done(False, value, fmt_range(low, high), f"{check.metric} is {value!r}, not a finite number")
    ok = low <= value <= high
    return done(ok, value, fmt_range(low, high), f"{check.metric} = {value:.6g} " + ("inside" if ok else "outside") + f" {fmt_range(low, high)}")


def _expected(check: Check, profile: str) -> str:
    if check.equals is not None:
        return repr(check.equals)
    return fmt_range(*check.ranges[profile]) if profile in check.ranges else "?"


def grade_result(result: TaskResult, rubric: Rubric | None = None, profile: str | None = None) -> Grade:
    """Grade ``result`` with ``rubric`` (the task's own by default) for ``profile`` (the run's by default)."""
    rubric = rubric or load_rubric(result.task)
    profile = profile or result.provenance.get("profile", "quick")
    checks = [evaluate_check(c, result, profile) for c in rubric.checks if profile in c.profiles]
    return Grade(task=result.task, profile=profile, checks=checks)


def grade_run_dir(run_dir: Path, rubric_file: Path | None = None, write: bool = True) -> Grade:
    """Grade ``run_dir/results.json`` and (by default) write ``run_dir/grade.json``."""
    result = results_mod.load(run_dir)
    rubric = load_rubric(result.task, rubric_file)
    grade = grade_result(result, rubric)
    if write:
        target = Path(run_dir) if Path(run_dir).is_dir() else Path(run_dir).parent
        write_json_atomic(target / GRADE_FILE, grade.to_dict())
    return grade


def format_table(grade: Grade) -> str:
    """A plain-text table of the checks, for the terminal."""
    rows = [("check", "result", "points", "value", "expected")]
    for c in grade.checks:
        value = f"{c.value:.4g}" if _is_number(c.value) else str(c.value)
        rows.append((c.id, "PASS" if c.passed else "FAIL", f"{c.earned:g}/{c.points:g}", value, c.expected))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths)) for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append(f"{grade.task} ({grade.profile}): {grade.earned:g}/{grade.total:g} points, "
                 + ("all checks passed" if grade.passed else f"{sum(not c.passed for c in grade.checks)} check(s) failed"))
    return "\n".join(lines)
