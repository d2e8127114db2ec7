"""Grade one student's submission: code (sandboxed) and/or hand-in results.

A submission is a folder. For each question it may hold

- ``<slug>.py`` (e.g. ``hw6_q1.py``, the handout module with the functions implemented): graded by
  (a) hidden unit checks, (b) a run of the task (smoke profile unless the instructor picks another)
  with the student's functions swapped in, (c) the task's rubric on that run's ``results.json``;
- ``<slug>.results.json``: a results file handed in instead of code: validated against the
  published schema, then graded with the task's rubric plus the integrity checks
  (:mod:`dlgrade.rubric.integrity`). When both are present the code is graded.

Every outcome is a :class:`~dlgrade.rubric.GradedCheck` per check; nothing a submission does raises out of
:func:`grade_submission`.
"""

from __future__ import annotations

import json
import shutil
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

import importlib
import inspect

from dlgrade.autograde import legacy_sandbox as sandbox
from dlgrade.kit import hidden
from dlgrade.kit.hidden import CheckFailed, HiddenCheck
from dlgrade.rubric import GradedCheck, grade_result, load_rubric
from dlgrade.rubric.integrity import integrity_checks

STAGES = ("unit", "run")
RUN_WALL_S = {"smoke": 300, "quick": 3600, "full": 6 * 3600}


Verdict = GradedCheck  # the one record of a graded check


class Namespace:
    """The student's functions as attributes; a missing one fails the check that uses it."""

    def __init__(self, module, names: tuple[str, ...]):
        self._module = module
        self._names = names

    def __getattr__(self, name: str):
        fn = getattr(self._module, name, None)
        if fn is None:
            raise CheckFailed(f"your module does not define {name}()", "missing")
        if not callable(fn):
            raise CheckFailed(f"{name} is a {type(fn).__name__}, not a function", "wrong_type")
        return fn


def _defined_check(task, name: str) -> HiddenCheck:
    ref_params = list(inspect.signature(getattr(task.module("reference"), name)).parameters)

    def check(f, ref):
        fn = getattr(f, name)
        try:
            params = list(inspect.signature(fn).parameters)
        except (TypeError, ValueError):
            return None
        missing = [p for p in ref_params if p not in params]
        if missing and not any(inspect.Parameter.VAR_POSITIONAL == p.kind for p in inspect.signature(fn).parameters.values()):
            raise CheckFailed(f"{name}() has parameters {params}, the handout's are {ref_params}", "wrong_type")

    return HiddenCheck(f"{name}_defined", 0.0, (name,),
                       {"en": f"{name}() is defined with the handout's parameters.",
                        "fa": f"تابع {name}() با پارامترهای فایل تمرین تعریف شده است."},
                       {"en": f"Keep the signature of {name}() from the handout.",
                        "fa": f"امضای تابع {name}() را همان‌طور که در فایل تمرین آمده نگه دارید."}, check)


def hidden_module(task):
    """The question's ``hidden`` module, or None when it declares no hidden checks."""
    try:
        return task.module("hidden")
    except ModuleNotFoundError as e:
        if e.name != f"{task.package}.hidden":
            raise
        return None


def load_checks(task) -> list[HiddenCheck]:
    """The generic ``*_defined`` checks plus the question's declared hidden checks, in order."""
    return [_defined_check(task, n) for n in task.student_functions] + hidden.collect(hidden_module(task))


@dataclass
class TaskGrade:
    task: str
    mode: str  # code | results | missing
    profile: str
    checks: list[GradedCheck]
    notes: list[str] = field(default_factory=list)

    @property
    def earned(self) -> float:
        return round(sum(c.earned for c in self.checks), 4)

    @property
    def total(self) -> float:
        return sum(c.points for c in self.checks)


@dataclass
class SubmissionGrade:
    student: str
    path: str
    tasks: list[TaskGrade]
    elapsed_s: float = 0.0
    error: str | None = None

    @property
    def earned(self) -> float:
        return round(sum(t.earned for t in self.tasks), 4)

    @property
    def total(self) -> float:
        return sum(t.total for t in self.tasks)

    def to_dict(self) -> dict[str, Any]:
        return {"student": self.student, "path": self.path, "earned": self.earned, "total": self.total,
                "elapsed_s": self.elapsed_s, "error": self.error,
                "tasks": [{"task": t.task, "mode": t.mode, "profile": t.profile, "earned": t.earned, "total": t.total,
                           "notes": t.notes, "checks": [c.to_dict() for c in t.checks]} for t in self.tasks]}


# ---------------------------------------------------------------- what a folder holds

def code_file(sub: Path, task) -> Path | None:
    p = Path(sub) / f"{task.slug}.py"
    return p if p.is_file() else None


def results_file(sub: Path, task) -> Path | None:
    for name in (f"{task.slug}.results.json", f"{task.id}.results.json"):
        p = Path(sub) / name
        if p.is_file():
            return p
    return None


def submitted_tasks(sub: Path) -> list:
    from dlgrade.questions import all_questions

    return [t for t in all_questions() if code_file(sub, t) or results_file(sub, t)]


# ---------------------------------------------------------------- verdict helpers

CAUSE_TO_VERDICT = {"timeout": "timeout", "memory": "memory", "cpu": "cpu", "signal": "crash", "exit": "crash"}


def _unit_verdict(task, check, verdict: str, detail: str, fraction: float = 0.0) -> GradedCheck:
    earned = round(check.points * fraction, 4)
    return GradedCheck(id=check.id, question=task.id, stage="unit", kind="hidden", passed=verdict == "passed",
                       points=check.points, earned=earned, verdict=verdict, detail=detail, message=check.message, fix=check.fix)


# ---------------------------------------------------------------- stage (a): hidden unit checks

def _read_events(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    events = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:
            pass  # a line cut short by a kill
    return events


def _stage_student(work: Path, sub: Path, module: Path) -> Path:
    """Copy the submission's Python files into the sandbox (the child never sees the original folder)."""
    dest = work / "student"
    dest.mkdir()
    for f in Path(sub).glob("*.py"):
        shutil.copy2(f, dest / f.name)
    return dest / module.name


def run_unit_checks(task, sub: Path, module: Path, limits: sandbox.Limits) -> list[Verdict]:
    checks = load_checks(task)
    by_id = {c.id: c for c in checks}
    remaining = [c.id for c in checks]
    verdicts: dict[str, Verdict] = {}
    attempt = 0
    while remaining:
        attempt += 1
        with sandbox.Workdir() as wd:
            work = wd.path
            student = _stage_student(work, sub, module)
            outbox = sandbox.prepare_outbox(work, "outbox")
            events_path = outbox / "events.jsonl"
            job = sandbox.write_job(work, {"kind": "checks", "task": task.id,
                                           "module": str(student), "checks": remaining, "events": str(events_path)})
            t0 = time.monotonic()
            proc = sandbox.start(["-m", "dlgrade.autograde.child", str(job)], work, limits)
            state = {"deadline": t0 + limits.startup_s, "seen": 0}

            def poll():
                events = _read_events(events_path)
                for ev in events[state["seen"]:]:
                    if ev.get("event") == "start":
                        c = by_id[ev["id"]]
                        state["deadline"] = time.monotonic() + (c.timeout_s or limits.wall_s)
                state["seen"] = len(events)

            reason = sandbox.watch(proc, limits, lambda: state["deadline"], poll)
            end = sandbox.classify(proc, work, reason, sandbox.Limits(**{**asdict(limits), "wall_s": _current_wall(by_id, events_path, limits)}),
                                   time.monotonic() - t0)
            events = _read_events(events_path)
        running = None
        for ev in events:
            kind = ev.get("event")
            if kind == "import_error":
                for cid in remaining:
                    verdicts[cid] = _unit_verdict(task, by_id[cid], ev["verdict"], ev["detail"])
                remaining = []
                break
            if kind == "start":
                running = ev["id"]
            elif kind == "result":
                verdicts[ev["id"]] = _unit_verdict(task, by_id[ev["id"]], ev["verdict"], ev["detail"], ev.get("fraction", 0.0))
                running = None
        remaining = [cid for cid in remaining if cid not in verdicts]
        if not remaining:
            break
        if end.cause == "ok" and running is None:
            for cid in remaining:  # the child finished without reporting these: never expected
                verdicts[cid] = _unit_verdict(task, by_id[cid], "error", "no result was reported")
            break
        verdict = CAUSE_TO_VERDICT.get(end.cause, "crash")
        if "sys.exit" in end.detail:
            verdict = "sys_exit"
        if running is None:  # died before the first check started: importing the module is at fault
            detail = "while importing your module: " + end.detail
            for cid in remaining:
                verdicts[cid] = _unit_verdict(task, by_id[cid], verdict, detail)
            break
        verdicts[running] = _unit_verdict(task, by_id[running], verdict, end.detail)
        # Checks of the same functions would hit the same wall: give them the verdict without re-running.
        shared = set(by_id[running].functions)
        for cid in remaining:
            if cid != running and shared & set(by_id[cid].functions) and by_id[cid].functions:
                verdicts[cid] = _unit_verdict(task, by_id[cid], verdict,
                                              f"not run: {', '.join(sorted(shared & set(by_id[cid].functions)))}() already ended "
                                              f"this way in check {running} ({end.detail})")
        remaining = [cid for cid in remaining if cid not in verdicts]
    return [verdicts[c.id] for c in checks]


def _current_wall(by_id, events_path: Path, limits: sandbox.Limits) -> float:
    events = [e for e in _read_events(events_path) if e.get("event") == "start"]
    if not events:
        return limits.startup_s
    return by_id[events[-1]["id"]].timeout_s or limits.wall_s


# ---------------------------------------------------------------- stage (b)+(c): run the task, grade it

def _rubric_verdicts(task, result, profile: str) -> list[GradedCheck]:
    rubric = load_rubric(task.rubric_path)
    return grade_result(result, rubric, profile).checks + integrity_checks(result, rubric, profile)


def _failed_rubric(task, profile: str, verdict: str, detail: str) -> list[GradedCheck]:
    rubric = load_rubric(task.rubric_path)
    return [GradedCheck(id=c.id, question=task.id, stage="rubric", kind=c.kind, passed=False, points=c.points, earned=0.0,
                        verdict=verdict, detail=detail, message=c.message, fix=c.fix, step=c.step)
            for c in rubric.checks if profile in c.profiles]


def run_with_student(task, sub: Path, module: Path, profile: str, seed: int, limits: sandbox.Limits) -> tuple[list[GradedCheck], list[str]]:
    from dlgrade import results as results_mod
    from dlgrade.errors import ResultsError

    notes = []
    wall = limits.run_wall_s or RUN_WALL_S[profile]
    run_limits = sandbox.Limits(**{**asdict(limits), "wall_s": wall, "cpu_s": int(max(limits.cpu_s, 2 * wall))})
    with sandbox.Workdir() as wd:
        work = wd.path
        student = _stage_student(work, sub, module)
        outbox = sandbox.prepare_outbox(work, "outbox")
        events_path = outbox / "events.jsonl"
        job = sandbox.write_job(work, {"kind": "run", "task": task.id, "module": str(student),
                                       "profile": profile, "seed": seed, "outbox": str(outbox), "events": str(events_path)})
        t0 = time.monotonic()
        proc = sandbox.start(["-m", "dlgrade.autograde.child", str(job)], work, run_limits)
        reason = sandbox.watch(proc, run_limits, lambda: t0 + run_limits.wall_s)
        end = sandbox.classify(proc, work, reason, run_limits, time.monotonic() - t0)
        events = _read_events(events_path)
        done = next((e for e in events if e.get("event") == "run_done"), None)
        failed = next((e for e in events if e.get("event") == "run_error"), None)
        notes.append(f"task run ({profile}, seed {seed}): {time.monotonic() - t0:.1f} s")
        if done:
            try:
                result = results_mod.load(outbox / "run")
            except ResultsError as e:
                return _failed_rubric(task, profile, "run_failed", f"the run's results.json is invalid: {e}"), notes
            return _rubric_verdicts(task, result, profile), notes
        if failed:
            return _failed_rubric(task, profile, "run_failed", failed["detail"]), notes
        verdict = CAUSE_TO_VERDICT.get(end.cause, "crash")
        return _failed_rubric(task, profile, "run_failed", f"the task run with your functions was stopped: {end.detail}"), notes


# ---------------------------------------------------------------- results hand-ins

def grade_results_file(task, path: Path, profile: str) -> list[GradedCheck]:
    from dlgrade import results as results_mod
    from dlgrade.errors import ResultsError

    valid_msg = {"en": "results.json follows the published schema and is for this question.",
                 "fa": "فایل results.json با شمای منتشرشده سازگار است و مربوط به همین پرسش است."}
    valid_fix = {"en": "Fix the field named in the error; see dlgrade/schema/results.schema.json.",
                 "fa": "فیلدی را که در پیام خطا آمده درست کنید؛ شما در dlgrade/schema/results.schema.json است."}
    try:
        result = results_mod.load(path)
        if result.task != task.id:
            raise ResultsError(f"{path.name}: field task: is {result.task!r}, expected {task.id!r}")
    except ResultsError as e:
        detail = str(e).replace(str(path.parent) + "/", "")
        return [_validity(task, False, detail, valid_msg, valid_fix)] + \
            _failed_rubric(task, profile, "invalid_results", "results.json is invalid: " + detail)
    return [_validity(task, True, "valid", valid_msg, valid_fix)] + _rubric_verdicts(task, result, profile)


def _validity(task, ok: bool, detail: str, message: dict, fix: dict) -> GradedCheck:
    return GradedCheck(id="results_valid", question=task.id, stage="results", kind="schema", passed=ok, points=0.0,
                       earned=0.0, verdict="passed" if ok else "invalid_results", detail=detail, message=message, fix=fix)


# ---------------------------------------------------------------- one task, one submission

def grade_task(task, sub: Path, profile: str = "smoke", seed: int = 0, limits: sandbox.Limits | None = None,
               stages: Sequence[str] = STAGES) -> TaskGrade:
    limits = limits or sandbox.Limits()
    sub = Path(sub)
    code, res = code_file(sub, task), results_file(sub, task)
    if code:
        checks, notes = [], []
        if "unit" in stages:
            checks += run_unit_checks(task, sub, code, limits)
        fatal = next((c for c in checks if c.verdict in ("timeout", "memory", "cpu")), None)
        if "run" in stages and fatal:
            checks += _failed_rubric(task, profile, "run_failed",
                                     f"the task run was skipped: unit check {fatal.id} already hit a limit ({fatal.detail})")
            notes.append(f"task run skipped after {fatal.id}: {fatal.verdict}")
        elif "run" in stages:
            run_checks, notes = run_with_student(task, sub, code, profile, seed, limits)
            checks += run_checks
        if res:
            notes.append(f"{res.name} was ignored: the code was graded")
        return TaskGrade(task.id, "code", profile, checks, notes)
    if res:
        return TaskGrade(task.id, "results", profile, grade_results_file(task, res, profile))
    checks = [_unit_verdict(task, c, "not_submitted", "nothing submitted") for c in load_checks(task)] if "unit" in stages else []
    checks += _failed_rubric(task, profile, "not_submitted", "nothing submitted") if "run" in stages else []
    return TaskGrade(task.id, "missing", profile, checks)


def grade_submission(sub: Path, tasks: Sequence | None = None, profile: str = "smoke", seed: int = 0,
                     limits: sandbox.Limits | None = None, stages: Sequence[str] = STAGES, student: str | None = None) -> SubmissionGrade:
    """Grade the folder ``sub`` for ``tasks`` (default: every question it holds). Never raises."""
    sub = Path(sub)
    t0 = time.monotonic()
    name = student or sub.name
    try:
        tasks = list(tasks) if tasks is not None else submitted_tasks(sub)
    except Exception as e:  # noqa: BLE001
        return SubmissionGrade(name, str(sub), [], 0.0, f"could not list the questions: {e}")
    graded, error = [], None
    for task in tasks:
        try:
            graded.append(grade_task(task, sub, profile, seed, limits, stages))
        except Exception as e:  # noqa: BLE001 - a grader bug on one task must not lose the others
            error = f"{task.id}: internal grading error: {type(e).__name__}: {e}"
            graded.append(TaskGrade(task.id, "code", profile, [], [error, traceback.format_exc()[-1500:]]))
    if not tasks:
        error = "no question found: expected files like hw6_q1.py or hw6_q1.results.json"
    return SubmissionGrade(name, str(sub), graded, round(time.monotonic() - t0, 2), error)


def format_submission(g: SubmissionGrade) -> str:
    """Plain-text verdict table for the terminal."""
    lines = [f"student {g.student}: {g.earned:g}/{g.total:g} points" + (f"  [{g.error}]" if g.error else "")]
    for t in g.tasks:
        lines.append(f"  {t.task} ({t.mode}, {t.profile}): {t.earned:g}/{t.total:g}" + ("".join(f"; {n}" for n in t.notes[:1])))
        for c in t.checks:
            lines.append(f"    {'PASS' if c.passed else ('PART' if c.earned > 0 else 'FAIL')} {c.stage:9s} {c.id:28s} "
                         f"{c.earned:g}/{c.points:g}  {c.verdict:15s} {c.detail[:110]}")
    return "\n".join(lines)
