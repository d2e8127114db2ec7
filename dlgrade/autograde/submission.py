"""Grade one student's submission folder: code (in a sandbox) and/or results hand-ins, never trusting a byte.

A submission is a folder. For each question it may hold code (``<slug>.py``, the handout module filled in, or a
notebook or Colab export named as the student liked: :mod:`dlgrade.autograde.sources` matches files to questions by
the functions they define) or ``<slug>.results.json`` (a results file handed in instead of code; code wins when both
are there). Only regular files are read, never through a link, with size caps (:mod:`dlgrade.autograde.staging`);
what was skipped is listed.

Fail closed: a question whose grading breaks keeps every check at 0, is flagged for the instructor's review, and
still counts its full points in the total; a question's total is always what its checks are worth, whatever
happened, so breaking or skipping a question can never raise a percentage.
"""

from __future__ import annotations

import json
import time
import traceback
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Sequence

from dlgrade.autograde import sandbox
from dlgrade.autograde.code_grading import CodeJob, defined_checks, grade_code, max_points
from dlgrade.autograde.sources import Sources, find_sources
from dlgrade.autograde.staging import Staged, stage
from dlgrade.kit.hidden import collect
from dlgrade.profiles import check_profile
from dlgrade.rubric import GradedCheck, grade_result, load_rubric
from dlgrade.rubric.integrity import integrity_checks
from dlgrade.text import clean, text_table

STAGES = ("unit", "run")
RUN_BUDGET_S = {"smoke": 300, "quick": 3600, "full": 6 * 3600}
HANDIN_BYTES = 5 << 20   # a results.json hand-in
HANDIN_DEPTH = 32


@dataclass
class Options:
    """How a submission is graded.

    Attributes:
        profile: the profile of the task runs of students' code (and its rubric ranges).
        handin_profile: the profile whose ranges results hand-ins are graded with (the assignment's setting).
        seed: the seed of the task runs.
        limits: the sandbox's limits.
        check_timeout_s: wall-clock seconds per hidden check.
        run_budget_s: wall-clock seconds for a task run (default per profile).
        stages: ``unit`` (hidden checks) and/or ``run`` (the task run and its rubric).
        references: question id -> the reference run's results at (profile, seed), for code mode.
    """

    profile: str = "smoke"
    handin_profile: str = "full"
    seed: int = 0
    limits: sandbox.Limits = field(default_factory=sandbox.Limits)
    check_timeout_s: float = 20.0
    run_budget_s: float | None = None
    stages: tuple[str, ...] = STAGES
    references: dict = field(default_factory=dict)

    def __post_init__(self):
        check_profile(self.profile)
        check_profile(self.handin_profile)


@dataclass
class TaskGrade:
    """One question of one student: how it was handed in, its checks, and what it is worth."""

    task: str
    mode: str  # code | results | missing | error
    profile: str
    checks: list[GradedCheck]
    notes: list[str] = field(default_factory=list)
    max_points: float = 0.0
    review: bool = False
    weight: float | None = None  # what the question counts in the assignment (default: its own maximum)

    @property
    def earned(self) -> float:
        return round(min(sum(c.earned for c in self.checks), self.max_points), 4)

    @property
    def total(self) -> float:
        return self.max_points

    @property
    def counted(self) -> float:
        """The points the question counts in the assignment: a results hand-in's score scaled to the question's
        weight (the code hand-in's maximum), so every student's percentage has one denominator."""
        weight = self.max_points if self.weight is None else self.weight
        return round(self.earned * weight / self.max_points, 4) if self.max_points else 0.0

    @property
    def out_of(self) -> float:
        return self.max_points if self.weight is None else self.weight


def assignment_of(task_id: str) -> str:
    """The assignment a question belongs to: ``hw6`` for ``hw6.q3``."""
    return task_id.split(".", 1)[0]


@dataclass
class SubmissionGrade:
    student: str
    path: str
    tasks: list[TaskGrade]
    elapsed_s: float = 0.0
    error: str | None = None
    skipped: dict[str, str] = field(default_factory=dict)
    protections: dict = field(default_factory=dict)
    workers: dict[str, str] = field(default_factory=dict)  # question -> the worker that graded it (batches)
    retried: list[str] = field(default_factory=list)  # questions whose worker died under them once
    worker_details: dict[str, dict] = field(default_factory=dict)  # question -> host, pid, versions, GPUs there

    @property
    def earned(self) -> float:
        return round(sum(t.counted for t in self.tasks), 4)

    @property
    def total(self) -> float:
        return round(sum(t.out_of for t in self.tasks), 4)

    @property
    def review(self) -> bool:
        return any(t.review for t in self.tasks)

    @property
    def per_assignment(self) -> dict[str, tuple[float, float]]:
        """``{assignment: (earned, out_of)}`` (``hw6``, ``hw14``): the totals a percentage is taken of. Each
        assignment has one denominator, its questions' weights, whatever form each question was handed in."""
        out: dict[str, list[float]] = {}
        for t in self.tasks:
            acc = out.setdefault(assignment_of(t.task), [0.0, 0.0])
            acc[0] += t.counted
            acc[1] += t.out_of
        return {a: (round(e, 4), round(m, 4)) for a, (e, m) in out.items()}

    def summary(self) -> str:
        """``hw6 16.5/53.5, hw14 21/69`` (one total per assignment)."""
        return ", ".join(f"{a} {e:g}/{m:g}" for a, (e, m) in self.per_assignment.items())

    def to_dict(self) -> dict[str, Any]:
        return {"student": self.student, "path": self.path, "earned": self.earned, "total": self.total,
                "assignments": {a: {"earned": e, "out_of": m} for a, (e, m) in self.per_assignment.items()},
                "elapsed_s": self.elapsed_s, "error": self.error, "review": self.review, "skipped": self.skipped,
                "protections": self.protections, "workers": self.workers, "retried": self.retried,
                "worker_details": self.worker_details,
                "tasks": [{"task": t.task, "mode": t.mode, "profile": t.profile, "earned": t.earned, "total": t.total,
                           "counted": t.counted, "out_of": t.out_of, "review": t.review, "notes": t.notes,
                           "checks": [c.to_dict() for c in t.checks]} for t in self.tasks]}


# ---------------------------------------------------------------- what a folder holds

def code_name(q) -> str:
    return f"{q.slug}.py"


def results_names(q) -> tuple[str, ...]:
    return (f"{q.slug}.results.json", f"{q.id}.results.json")


def submitted(staged: Staged, questions, sources: Sources | None = None) -> list:
    sources = sources or find_sources(staged, questions)
    return [q for q in questions if q.id in sources.by_question or q.id in sources.ambiguous
            or any(n in staged.files for n in results_names(q))]


def submitted_tasks(folder: Path) -> list:
    """The questions a folder holds code (files or notebooks) or results for."""
    from dlgrade.questions import all_questions

    return submitted(stage(folder), all_questions())


# ---------------------------------------------------------------- results hand-ins

VALID_MESSAGE = {"en": "results.json follows the published schema and is for this question.",
                 "fa": "فایل results.json با شمای منتشرشده سازگار است و مربوط به همین پرسش است."}
VALID_FIX = {"en": "Fix the field named in the error; see dlgrade/schema/results.schema.json.",
             "fa": "فیلدی را که در پیام خطا آمده درست کنید؛ شمای آن در dlgrade/schema/results.schema.json است."}
PROFILE_MESSAGE = {"en": "The hand-in was run at the profile this assignment is graded at.",
                   "fa": "فایل تحویلی با همان پروفایلی اجرا شده است که این تمرین با آن نمره می‌گیرد."}


def _info(q, check_id: str, ok: bool, verdict: str, detail: str, message: dict, fix: dict | None = None,
          detail_fa: str = "") -> GradedCheck:
    return GradedCheck(id=check_id, question=q.id, stage="results", kind="schema", passed=ok, points=0.0, earned=0.0,
                       verdict=verdict, detail=clean(detail), message=message, fix=fix or {}, detail_fa=detail_fa)


def parse_handin(data: bytes, name: str):
    """A results hand-in as a TaskResult, or ResultsError saying what is wrong (strict JSON: size and depth caps,
    no NaN/Infinity, no duplicate keys; then the published schema)."""
    from dlgrade import results as results_mod
    from dlgrade.autograde.protocol import JsonError, loads_json_strict
    from dlgrade.errors import ResultsError

    try:
        raw = loads_json_strict(data, max_bytes=HANDIN_BYTES, max_depth=HANDIN_DEPTH)
    except JsonError as e:
        raise ResultsError(f"{name}: {e}") from None
    results_mod.validate(raw, name)
    return results_mod.TaskResult.from_dict(raw)


def grade_handin(q, data: bytes, name: str, profile: str) -> tuple[list[GradedCheck], list[str]]:
    """Grade a results hand-in with the question's rubric at ``profile`` (never the profile the file claims)."""
    from dlgrade.errors import ResultsError

    rubric = load_rubric(q.rubric_path)
    notes = []
    try:
        result = parse_handin(data, name)
        if result.task != q.id:
            raise ResultsError(f"{name}: field task: is {result.task!r}, expected {q.id!r}")
    except ResultsError as e:
        detail = clean(e, 600)
        failed = [GradedCheck(id=c.id, question=q.id, stage="rubric", kind=c.kind, passed=False, points=c.points,
                              earned=0.0, verdict="invalid_results", detail="results.json is invalid: " + detail,
                              message=c.message, fix=c.fix, step=c.step,
                              detail_fa="فایل results.json نامعتبر است: " + detail)
                  for c in rubric.checks if profile in c.profiles]
        return [_info(q, "results_valid", False, "invalid_results", detail, VALID_MESSAGE, VALID_FIX)] + failed, notes
    claimed = result.provenance.get("profile")
    checks = [_info(q, "results_valid", True, "passed", "valid", VALID_MESSAGE, VALID_FIX)]
    if claimed != profile:
        checks.append(_info(q, "results_profile", False, "profile_mismatch",
                            f"the file says it was run at the {claimed!r} profile; this assignment grades hand-ins at "
                            f"{profile!r}, so its numbers are compared with the {profile!r} ranges",
                            PROFILE_MESSAGE, {"en": f"Run the question at --profile {profile} and hand in that results.json.",
                                              "fa": f"پرسش را با --profile {profile} اجرا کنید و همان results.json را تحویل دهید."},
                            f"فایل می‌گوید با پروفایل {claimed!r} اجرا شده؛ این تمرین با {profile!r} نمره می‌گیرد"))
        notes.append(f"{name} was run at profile {claimed!r}; graded at {profile!r}")
    else:
        checks.append(_info(q, "results_profile", True, "passed", f"profile {profile}", PROFILE_MESSAGE))
    graded = grade_result(result, rubric, profile).checks
    integrity = [replace(c, points=0.0, earned=0.0) for c in integrity_checks(result, rubric, profile)]
    return checks + graded + integrity, notes


# ---------------------------------------------------------------- one question

def declared_checks(q, mode: str, options: Options) -> list[GradedCheck]:
    """Every check the question declares for ``mode``, each failed with verdict ``internal`` (fail closed)."""
    out = []
    if mode == "code":
        if "unit" in options.stages:
            for check, rec in defined_checks(q, {}):
                out.append(replace(rec, passed=False, earned=0.0, verdict="internal"))
            from dlgrade.autograde.code_grading import _check_record, hidden_module

            out += [_check_record(q, c, "internal", 0, "") for c in collect(hidden_module(q))]
        if "run" in options.stages:
            from dlgrade.autograde.code_grading import _rubric_failed

            out += _rubric_failed(q, options.profile, "internal", "")
    else:
        rubric = load_rubric(q.rubric_path)
        out += [GradedCheck(id=c.id, question=q.id, stage="rubric", kind=c.kind, passed=False, points=c.points,
                            earned=0.0, verdict="internal", detail="", message=c.message, fix=c.fix, step=c.step)
                for c in rubric.checks if options.handin_profile in c.profiles]
    return out


def question_max(q, mode: str, options: Options) -> float:
    if mode == "results":
        return load_rubric(q.rubric_path).total_points(options.handin_profile)
    return max_points(q, options.profile, options.stages)


def grade_question(q, staged: Staged, options: Options, log: Callable[[str], None] = lambda s: None,
                   sources: Sources | None = None) -> TaskGrade:
    """Grade one question of a staged submission. Never raises: a grader failure fails closed."""
    try:
        sources = sources or find_sources(staged, [q])
    except Exception as e:  # noqa: BLE001
        sources = Sources(notes=[f"the code files could not be read: {clean(e, 300)}"])
    source = sources.by_question.get(q.id)
    handin = next((n for n in results_names(q) if n in staged.files), None)
    mode = "code" if source else ("results" if handin else ("ambiguous" if q.id in sources.ambiguous else "missing"))
    maximum = question_max(q, "results" if mode == "results" else "code", options)
    try:
        if mode == "code":
            budget = options.run_budget_s or RUN_BUDGET_S[options.profile]
            files = {k: v for k, v in staged.files.items() if k.endswith(".py") and k != source.module_file}
            files[source.module_file] = source.code
            job = CodeJob(q, files, source.module_file, options.profile, options.seed, options.limits,
                          options.check_timeout_s, budget, tuple(options.stages), options.references.get(q.id),
                          where=source.where)
            g = grade_code(job, log=log)
            notes = [f"graded {source.file}"] + g.notes
            notes += [f"not run while grading: {n}" for n in source.not_run()]
            notes += [f"{source.file}: {i}" for i in source.issues()]
            notes += ([f"{handin} was ignored: the code was graded"] if handin else [])
            return _checked(TaskGrade(q.id, "code", options.profile, g.checks, notes, maximum, g.review), q, options)
        if mode == "ambiguous":
            why = sources.ambiguous[q.id]
            checks = [replace(c, verdict="ambiguous", detail=why) for c in declared_checks(q, "code", options)]
            return TaskGrade(q.id, "ambiguous", options.profile, checks, [why], maximum)
        if mode == "results":
            checks, notes = grade_handin(q, staged.files[handin], handin, options.handin_profile)
            return _checked(TaskGrade(q.id, "results", options.handin_profile, checks, notes, maximum), q, options)
        checks = [replace(c, verdict="not_submitted", detail="nothing submitted", detail_fa="چیزی تحویل داده نشده")
                  for c in declared_checks(q, "code", options)]
        return TaskGrade(q.id, "missing", options.profile, checks, [], maximum)
    except Exception as e:  # noqa: BLE001 - fail closed: 0 points, flagged, full denominator
        tb = traceback.format_exc(limit=6)
        log(f"{q.id}: internal grading error: {type(e).__name__}: {e}\n{tb}")
        detail = f"the grader failed on this question ({type(e).__name__}: {clean(e, 300)}); flagged for the instructor's review"
        checks = [replace(c, detail=detail, detail_fa="نمره‌دهنده روی این پرسش با خطا روبه‌رو شد؛ برای بازبینی مدرس علامت خورد",
                          review=True) for c in declared_checks(q, "results" if mode == "results" else "code", options)]
        return TaskGrade(q.id, mode, options.profile, checks, [detail], maximum, review=True)


def _checked(tg: TaskGrade, q, options: Options) -> TaskGrade:
    """Every declared check is there once; an unknown id is dropped and a missing one failed closed."""
    declared = {c.id: c for c in declared_checks(q, tg.mode, options)}
    seen, kept = set(), []
    for c in tg.checks:
        if c.id in seen or (c.points > 0 and c.id not in declared):
            tg.notes.append(f"dropped unexpected check {clean(c.id, 60)}")
            continue
        seen.add(c.id)
        kept.append(replace(c, earned=min(max(c.earned, 0.0), c.points)))
    for cid, c in declared.items():
        if cid not in seen and c.points > 0:
            kept.append(replace(c, detail="this check produced no verdict; flagged for the instructor's review", review=True))
            tg.review = True
    tg.checks = kept
    return tg


# ---------------------------------------------------------------- one submission

def grade_submission(sub: Path, tasks: Sequence | None = None, options: Options | None = None,
                     student: str | None = None, log: Callable[[str], None] = lambda s: None) -> SubmissionGrade:
    """Grade the folder ``sub`` for ``tasks`` (default: every question it holds). Never raises."""
    options = options or Options()
    sub = Path(sub)
    t0 = time.monotonic()
    name = student or sub.name
    staged = stage(sub)
    try:
        from dlgrade.questions import all_questions

        sources = find_sources(staged, list(tasks) if tasks is not None else all_questions())
        tasks = list(tasks) if tasks is not None else submitted(staged, all_questions(), sources)
    except Exception as e:  # noqa: BLE001
        return SubmissionGrade(name, str(sub), [], 0.0, f"could not list the questions: {clean(e, 300)}", staged.skipped)
    graded = [grade_question(q, staged, options, log, sources) for q in tasks]
    for q, t in zip(tasks, graded):  # one denominator per assignment: a question counts its code hand-in's maximum
        t.weight = question_max(q, "code", options)
    error = None if tasks else ("no question found: expected a notebook or .py defining the handout's functions "
                                "(e.g. batch_norm for hw6.q1), or a results file like hw6_q1.results.json"
                                + (f" ({'; '.join(sources.notes)})" if sources.notes else ""))
    return SubmissionGrade(name, str(sub), graded, round(time.monotonic() - t0, 2), error, staged.skipped,
                           sandbox.protections().to_dict())


def format_submission(g: SubmissionGrade) -> str:
    """Plain-text verdict table for the terminal (every string cleaned of control characters)."""
    head = f"student {clean(g.student, 80)}: {g.summary() or '0/0'} points" + (f"  [{clean(g.error, 200)}]" if g.error else "")
    rows = [("", "stage", "check", "points", "verdict", "detail")]
    for t in g.tasks:
        points = f"{t.earned:g}/{t.total:g}" + (f" = {t.counted:g}/{t.out_of:g}" if t.out_of != t.total else "")
        rows.append((f"{t.task} ({t.mode}, {t.profile})", "", "", points, "review" if t.review else "",
                     clean("; ".join(t.notes[:1]), 110)))
        for c in t.checks:
            state = "PASS" if c.passed else ("PART" if c.earned > 0 else "FAIL")
            rows.append((f"  {state}", c.stage, c.id, f"{c.earned:g}/{c.points:g}", c.verdict, clean(c.detail, 110)))
    skipped = [f"skipped {clean(k, 60)}: {v}" for k, v in g.skipped.items()]
    return head + "\n" + text_table(rows, skipped)
