"""Grade one student's submission: code (sandboxed) and/or hand-in results.

A submission is a folder. For each question it may hold

- ``<slug>.py`` (e.g. ``hw6_q1.py``, the handout module with the functions implemented): graded by
  (a) hidden unit checks, (b) a run of the task (smoke profile unless the instructor picks another)
  with the student's functions swapped in, (c) the task's rubric on that run's ``results.json``;
- ``<slug>.results.json``: a results file handed in instead of code: validated against the
  published schema, then graded with the task's rubric plus the integrity checks
  (:mod:`dlgrade.grader.integrity`). When both are present the code is graded.

Every outcome is a :class:`Verdict` per check; nothing a submission does raises out of
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

from dlgrade.grader import sandbox
from dlgrade.grader.grade import grade_result
from dlgrade.grader.hidden import load_checks
from dlgrade.grader.integrity import integrity_checks
from dlgrade.grader.rubric import load_rubric

STAGES = ("unit", "run")
RUN_WALL_S = {"smoke": 300, "quick": 3600, "full": 6 * 3600}


@dataclass
class Verdict:
    """One graded check of one task for one student."""

    id: str
    task: str
    stage: str  # unit | rubric | integrity | results
    passed: bool
    points: float
    earned: float
    verdict: str  # passed, partial, wrong, wrong_type, shape, nan, not_implemented, error, missing, import_error,
    #              sys_exit, network, timeout, memory, cpu, crash, run_failed, invalid_results, not_submitted
    detail: str
    message: dict[str, str]
    fix: dict[str, str] = field(default_factory=dict)
    value: Any = None
    expected: str = ""

    @property
    def key(self) -> str:
        return f"{self.task}:{self.id}"


@dataclass
class TaskGrade:
    task: str
    mode: str  # code | results | missing
    profile: str
    checks: list[Verdict]
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
                           "notes": t.notes, "checks": [asdict(c) for c in t.checks]} for t in self.tasks]}


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
    from dlgrade.tasks import all_tasks

    return [t for t in all_tasks() if code_file(sub, t) or results_file(sub, t)]


# ---------------------------------------------------------------- verdict helpers

VERDICT_TEXT = {
    "timeout": {"en": "Stopped: time limit exceeded (infinite loop or far too slow).", "fa": "متوقف شد: از محدودیت زمان گذشت (حلقهٔ بی‌پایان یا بسیار کند)."},
    "memory": {"en": "Stopped: memory limit exceeded.", "fa": "متوقف شد: از محدودیت حافظه گذشت."},
    "cpu": {"en": "Stopped: CPU-time limit exceeded.", "fa": "متوقف شد: از محدودیت زمان پردازنده گذشت."},
    "crash": {"en": "The process crashed (e.g. a segmentation fault).", "fa": "فرایند از کار افتاد (مثلاً خطای segmentation fault)."},
    "sys_exit": {"en": "Your code called sys.exit() / exit(); return a value instead.", "fa": "کد شما sys.exit() یا exit() را صدا زد؛ به جای آن مقدار برگردانید."},
    "network": {"en": "Your code tried to use the network, which is not allowed while grading.", "fa": "کد شما خواست به شبکه وصل شود که هنگام نمره‌دهی مجاز نیست."},
    "import_error": {"en": "Your module could not be imported.", "fa": "ماژول شما بارگذاری (import) نشد."},
    "not_implemented": {"en": "Not implemented yet (still raises NotImplementedError).", "fa": "هنوز پیاده‌سازی نشده است (هنوز NotImplementedError می‌دهد)."},
    "wrong_type": {"en": "Wrong return type or signature.", "fa": "نوع خروجی یا امضای تابع نادرست است."},
    "shape": {"en": "Wrong output shape.", "fa": "شکل خروجی نادرست است."},
    "nan": {"en": "The output contains NaN or infinite values.", "fa": "خروجی مقدار NaN یا بی‌نهایت دارد."},
    "missing": {"en": "A required function is missing from your module.", "fa": "تابعی که لازم است در ماژول شما نیست."},
    "error": {"en": "Your code raised an exception.", "fa": "کد شما خطا (استثنا) داد."},
    "run_failed": {"en": "The task could not be run with your functions, so this check could not pass.", "fa": "تسک با توابع شما اجرا نشد، پس این بررسی نمی‌توانست قبول شود."},
    "invalid_results": {"en": "Your results.json is not valid, so it could not be graded.", "fa": "فایل results.json شما معتبر نیست و نمره‌دهی نشد."},
    "not_submitted": {"en": "Nothing was submitted for this question.", "fa": "برای این پرسش چیزی تحویل داده نشده است."},
    "wrong": {"en": "The result is wrong.", "fa": "نتیجه نادرست است."},
    "partial": {"en": "Partly right: partial credit.", "fa": "بخشی درست است: امتیاز جزئی."},
}

CAUSE_TO_VERDICT = {"timeout": "timeout", "memory": "memory", "cpu": "cpu", "signal": "crash", "exit": "crash"}


def _unit_verdict(task, check, verdict: str, detail: str, fraction: float = 0.0) -> Verdict:
    earned = round(check.points * fraction, 4)
    return Verdict(check.id, task.id, "unit", verdict == "passed", check.points, earned, verdict, detail,
                   check.message, check.fix)


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
            job = sandbox.write_job(work, {"kind": "checks", "task": task.id, "task_module": task.module,
                                           "module": str(student), "checks": remaining, "events": str(events_path)})
            t0 = time.monotonic()
            proc = sandbox.start(["-m", "dlgrade.grader.child", str(job)], work, limits)
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

def _rubric_verdicts(task, result, profile: str, stage_note: str = "") -> list[Verdict]:
    grade = grade_result(result, load_rubric(task.id), profile)
    out = [Verdict(c.id, task.id, "rubric", c.passed, c.points, c.earned, "passed" if c.passed else "wrong",
                   (stage_note + c.detail) if stage_note else c.detail, c.message, c.fix, c.value, c.expected)
           for c in grade.checks]
    for c in integrity_checks(result, load_rubric(task.id), profile):
        out.append(Verdict(c.id, task.id, "integrity", c.passed, c.points, c.earned, "passed" if c.passed else "wrong",
                           c.detail, c.message, c.fix, c.value, c.expected))
    return out


def _failed_rubric(task, profile: str, verdict: str, detail: str) -> list[Verdict]:
    rubric = load_rubric(task.id)
    return [Verdict(c.id, task.id, "rubric", False, c.points, 0.0, verdict, detail, c.message, c.fix)
            for c in rubric.checks if profile in c.profiles]


def run_with_student(task, sub: Path, module: Path, profile: str, seed: int, limits: sandbox.Limits) -> tuple[list[Verdict], list[str]]:
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
        job = sandbox.write_job(work, {"kind": "run", "task": task.id, "task_module": task.module, "module": str(student),
                                       "profile": profile, "seed": seed, "outbox": str(outbox), "events": str(events_path)})
        t0 = time.monotonic()
        proc = sandbox.start(["-m", "dlgrade.grader.child", str(job)], work, run_limits)
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

def grade_results_file(task, path: Path, profile: str) -> list[Verdict]:
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
        return [Verdict("results_valid", task.id, "results", False, 0.0, 0.0, "invalid_results", detail, valid_msg, valid_fix)] + \
            _failed_rubric(task, profile, "invalid_results", "results.json is invalid: " + detail)
    return [Verdict("results_valid", task.id, "results", True, 0.0, 0.0, "passed", "valid", valid_msg, valid_fix)] + \
        _rubric_verdicts(task, result, profile)


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
