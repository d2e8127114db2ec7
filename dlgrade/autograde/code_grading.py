"""Grade a student's code for one question: hidden checks, then the question's run with the student's functions,
then its rubric. Student code runs only in a throwaway sandbox (:class:`~dlgrade.autograde.sandbox.Session`);
everything that judges it runs here, in the trusted process:

- a hidden check calls the student's functions through :class:`StudentFunctions` with inputs it chooses and
  gets back data; the reference module and the expected values never leave this process;
- the question's run executes its trusted steps here and its training steps in the sandbox (only those that use
  a student function; the others run here with the reference, since they contain no student code); training
  steps receive only their declared inputs, never held-out labels, and return arrays; the trusted steps score
  them against labels only this process holds;
- the rubric is graded here, in code mode: checks of steps that use no student function are not the student's
  work and are left out; range checks that declare ``reference`` compare with the reference run at the same
  profile and seed; the numbers a training step reports are credited only when its held-out witness holds up.
"""

from __future__ import annotations

import math
import time
import traceback
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

from dlgrade.autograde import sandbox as sb
from dlgrade.autograde.bundle import question_bundle
from dlgrade.autograde.verdicts import Problem, from_sandbox_died, from_student_error
from dlgrade.kit.hidden import CheckFailed, HiddenCheck, Partial, collect
from dlgrade.kit.question import Context, Question
from dlgrade.kit.runner import StepFailed, StepReport, in_process, run_steps
from dlgrade.kit.seeds import Seeds
from dlgrade.results import TaskResult
from dlgrade.rubric import GradedCheck, Rubric, grade_result, load_rubric
from dlgrade.text import clean
from dlgrade.words import CATALOG

FATAL = ("timeout", "memory", "cpu")


@dataclass
class CodeGrade:
    """The graded checks of one question's code, notes for the student, and whether to review it."""

    checks: list[GradedCheck]
    notes: list[str] = field(default_factory=list)
    review: bool = False
    steps: dict = field(default_factory=dict)


class StudentCallFailed(Exception):
    """A call of a student function failed; ``problem`` says how (see :mod:`dlgrade.autograde.verdicts`).

    When the student's code raised a built-in exception, the instance is also of that type, so a hidden check can
    expect it naturally (``except ValueError:``)."""

    def __init__(self, problem: Problem, function: str):
        super().__init__(problem.detail)
        self.problem, self.function = problem, function


_RAISED: dict[str, type] = {}


def student_raised(error: "sb.StudentError", problem: Problem, function: str) -> StudentCallFailed:
    """A :class:`StudentCallFailed` that is also an instance of the built-in exception the student's code raised."""
    import builtins

    name = str(error.type).rsplit(".", 1)[-1]
    base = getattr(builtins, name, None)
    if not (isinstance(base, type) and issubclass(base, Exception)) or base in (SystemExit, KeyboardInterrupt):
        return StudentCallFailed(problem, function)
    if name not in _RAISED:
        _RAISED[name] = type(f"Student{name}", (StudentCallFailed, base), {"__init__": StudentCallFailed.__init__,
                                                                         "__str__": lambda self: self.problem.detail})
    return _RAISED[name](problem, function)


class StudentFunctions:
    """``f`` in a hidden check: ``f.name(*args)`` calls the student's function in the sandbox and returns data.

    Args:
        session: the sandbox session (the student's module loaded).
        defined: the callables the student's module defines or imports.
        deadline: the absolute ``time.monotonic()`` by which the running check must end.
        show_messages: whether the student's exception messages may be shown (a public check).
    """

    def __init__(self, session: sb.Session, defined: set[str], deadline: float, show_messages: bool,
                 functions: tuple[str, ...] = (), locate=None):
        self._session, self._defined, self._deadline, self._show = session, defined, deadline, show_messages
        self._functions, self._locate = functions, locate
        self.called: list[str] = []

    def __getattr__(self, name: str) -> Callable:
        if name.startswith("_"):
            raise AttributeError(name)
        if name not in self._defined:
            raise CheckFailed(f"your module does not define {name}()", "missing")

        def call(*args, **kwargs):
            self.called.append(name)
            remaining = self._deadline - time.monotonic()
            if remaining <= 0:
                raise sb.SandboxDied("timeout", f"the check ran out of time before calling {name}()")
            try:
                return self._session.call(name, args, kwargs, timeout=remaining)
            except sb.StudentError as e:
                raise student_raised(e, from_student_error(e, self._show, locate=self._locate), name) from None

        return call

    def probe(self, target: str, **kwargs):
        """Run a probe (``"package.module:function"`` of the sandbox's runtime) on the student's module: facts about
        objects that cannot leave the sandbox (a Keras model), as data."""
        name = self._functions[0] if self._functions else target.rsplit(":", 1)[-1]
        self.called.append(name)
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise sb.SandboxDied("timeout", f"the check ran out of time before {name}")
        try:
            return self._session.run(target, kwargs, timeout=remaining)
        except sb.StudentError as e:
            raise student_raised(e, from_student_error(e, self._show, locate=self._locate), name) from None


# ---------------------------------------------------------------- hidden checks

def _check_record(q: Question, check: HiddenCheck, verdict: str, fraction: float, detail: str, detail_fa: str = "",
                  hint: dict | None = None, review: bool = False) -> GradedCheck:
    fraction = min(max(float(fraction), 0.0), 1.0)
    return GradedCheck(id=check.id, question=q.id, stage="unit", kind="hidden", passed=verdict == "passed",
                       points=check.points, earned=round(check.points * fraction, 4), verdict=verdict,
                       detail=clean(detail), message=check.message, fix=check.fix, detail_fa=clean(detail_fa),
                       hint=hint or {}, review=review)


def defined_checks(q: Question, signatures: dict) -> list[tuple[HiddenCheck, GradedCheck]]:
    """One 0-point ``<name>_defined`` check per student function: defined, and with the handout's parameters."""
    import inspect

    ref = q.module("reference")
    out = []
    for name in q.student_functions:
        want = list(inspect.signature(getattr(ref, name)).parameters)
        check = HiddenCheck(f"{name}_defined", 0.0, (name,),
                            {"en": f"{name}() is defined with the handout's parameters.",
                             "fa": f"تابع {name}() با پارامترهای فایل تمرین تعریف شده است."},
                            {"en": f"Keep the signature of {name}() from the handout.",
                             "fa": f"امضای تابع {name}() را همان‌طور که در فایل تمرین آمده نگه دارید."}, lambda f, r: None)
        got = signatures.get(name)
        if got is None:
            rec = _check_record(q, check, "missing", 0, f"your module does not define {name}()",
                                f"ماژول شما تابع {name}() را تعریف نمی‌کند")
        elif "not_callable" in got:
            rec = _check_record(q, check, "wrong_type", 0, f"{name} is a {clean(got['not_callable'], 80)}, not a function",
                                f"{name} تابع نیست")
        else:
            params = got.get("params")
            missing = [p for p in want if params is not None and p not in params]
            if missing and not got.get("varargs"):
                rec = _check_record(q, check, "wrong_type", 0, f"{name}() has parameters {clean(params, 200)}, the handout's are {want}",
                                    f"پارامترهای {name}() با فایل تمرین ({want}) یکی نیست")
            else:
                rec = _check_record(q, check, "passed", 1, "defined", "تعریف شده است")
        out.append((check, rec))
    return out


def run_hidden_checks(q: Question, session: sb.Session, defined: set[str], default_timeout: float,
                      log: Callable[[str], None], locate=None) -> tuple[list[GradedCheck], dict[str, GradedCheck]]:
    """Every declared hidden check; a function that hit a limit is not called again by later checks.
    Returns the records and, for each function that hit a time or memory limit, the check where it did."""
    ref = q.module("reference")
    hidden = collect(hidden_module(q))
    out, blocked = [], {}
    for check in hidden:
        stuck = [f for f in check.functions if f in blocked]
        if stuck:
            first = blocked[stuck[0]]  # the same sentence as the first time, so the feedback states it once
            out.append(_check_record(q, check, first.verdict, 0, first.detail, first.detail_fa, first.hint))
            continue
        if not session.alive:
            session.restart()
        f = StudentFunctions(session, defined, time.monotonic() + (check.timeout_s or default_timeout), check.public,
                             check.functions, locate)
        try:
            value = check.fn(f, ref)
            part = value.detail if isinstance(value, Partial) else ""
            fraction = 1.0 if value is None or value is True else (value.fraction if isinstance(value, Partial) else value)
            if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not math.isfinite(fraction):
                raise TypeError(f"hidden check {check.id} returned {fraction!r}, expected None/True or a Partial")
            fraction = min(max(float(fraction), 0.0), 1.0)
            verdict = "passed" if fraction == 1.0 else ("partial" if fraction > 0 else "wrong")
            detail = "" if fraction == 1.0 else f"partly right ({fraction:.0%}): {part or 'some cases failed'}"
            detail_fa = "" if fraction == 1.0 else f"بخشی درست است ({fraction:.0%}): {part}"
            out.append(_check_record(q, check, verdict, fraction, detail, detail_fa))
        except CheckFailed as e:
            out.append(_check_record(q, check, e.verdict, 0, str(e)))
        except StudentCallFailed as e:
            out.append(_check_record(q, check, e.problem.verdict, 0, f"{e.function}() {e.problem.detail}",
                                     f"{e.function}() {e.problem.detail_fa}", e.problem.hint))
        except sb.SandboxDied as e:
            p = from_sandbox_died(e)
            running = f.called[-1] if f.called else None
            out.append(_check_record(q, check, p.verdict, 0, (f"{running}() " if running else "") + p.detail,
                                     (f"{running}() " if running else "") + p.detail_fa))
            if running and p.verdict in FATAL:
                blocked[running] = out[-1]
        except AssertionError as e:  # a check's own assert: the result is wrong
            out.append(_check_record(q, check, "wrong", 0, str(e) or "assertion failed"))
        except Exception as e:  # noqa: BLE001 - the check itself broke: fail closed, flag for review
            log(f"{q.id} hidden check {check.id}: grader error {type(e).__name__}: {e}\n{traceback.format_exc(limit=4)}")
            out.append(_check_record(q, check, "internal", 0, f"the grader could not complete this check "
                                     f"({type(e).__name__}: {clean(e, 300)}); flagged for the instructor's review",
                                     "نمره‌دهنده نتوانست این بررسی را کامل کند؛ برای بازبینی مدرس علامت خورد", review=True))
    return apply_requirements(q, hidden, out), blocked


def apply_requirements(q: Question, hidden: list[HiddenCheck], records: list[GradedCheck]) -> list[GradedCheck]:
    """A check that requires others counts only when each of them earned something."""
    by_id = {r.id: r for r in records}
    out = []
    for check, rec in zip(hidden, records):
        unmet = [r for r in check.requires if by_id[r].earned <= 0]
        if unmet and rec.earned > 0:
            rec = replace(rec, passed=False, earned=0.0, verdict="wrong",
                          detail=f"counts only when {', '.join(unmet)} earns points, and it did not",
                          detail_fa=f"فقط وقتی امتیاز دارد که {', '.join(unmet)} امتیاز بگیرد، که نگرفت")
        out.append(rec)
    return out


def hidden_module(q: Question):
    try:
        return q.module("hidden")
    except ModuleNotFoundError as e:
        if e.name != f"{q.package}.hidden":
            raise
        return None


# ---------------------------------------------------------------- the question's run with the student's code

def sandbox_trainer(q: Question, ctx: Context, session: sb.Session, budget_end: float, log: Callable[[str], None],
                    blocked: dict | None = None, locate=None, defined: set[str] | None = None) -> Callable[[Any, dict], dict]:
    """Runs a training step that uses a student function in the sandbox, and one that does not here (it holds no
    student code). A step's failure becomes :class:`StepFailed`; a dead sandbox is restarted for the next step. A
    step using a function that already hit a time or memory limit in a hidden check, or one that the student's
    module does not define (``defined``: the names it does), is not run."""
    blocked = blocked or {}
    config_class = f"{type(ctx.config).__module__}:{type(ctx.config).__qualname__}"
    local = in_process(q, ctx)

    def train(step, inputs: dict) -> dict:
        if not step.uses:
            return local(step, inputs)
        absent = [u for u in step.uses if defined is not None and u not in defined]
        if absent:
            names = ", ".join(f"{u}()" for u in absent)
            raise StepFailed(step.name, "missing", f"your code does not define {names}, which this step uses",
                             f"کد شما {names} را که این مرحله به کار می‌برد تعریف نکرده است")
        stuck = [u for u in step.uses if u in blocked]
        if stuck:
            first = blocked[stuck[0]]
            raise StepFailed(step.name, first.verdict, f"not run: {stuck[0]}() already hit a limit in hidden check "
                             f"{first.id} ({first.detail})", first.detail_fa, first.hint or None)
        remaining = budget_end - time.monotonic()
        if remaining <= 1:
            raise StepFailed(step.name, "timeout", "the task run's time budget was used up before this step")
        if not session.alive:
            session.restart()
        kwargs = {"target": step.target, "config_class": config_class, "config": ctx.config.to_dict(), "seed": ctx.seed,
                  "seed_offsets": dict(q.seed_offsets), "inputs": inputs, "work_dir": f"/work/steps/{step.name}",
                  "label": f"{q.id} {step.name}", "step": step.name}
        try:
            out = session.run("dlgrade.kit.harness:run_step", kwargs, timeout=remaining,
                              on_progress=lambda text: log(f"  {clean(text, 200)}"))
        except sb.StudentError as e:
            p = from_student_error(e, True, "run", locate)
            raise StepFailed(step.name, p.verdict, p.detail, p.detail_fa, p.hint) from None
        except sb.SandboxDied as e:
            p = from_sandbox_died(e)
            raise StepFailed(step.name, p.verdict, p.detail, p.detail_fa, p.hint) from None
        if not isinstance(out, dict):
            raise StepFailed(step.name, "wrong_type", f"the step returned {type(out).__name__}, not a dict of outputs")
        return out

    return train


def run_with_student(q: Question, session: sb.Session, profile: str, seed: int, budget_s: float, data,
                     log: Callable[[str], None], work: Path, blocked: dict | None = None,
                     locate=None, defined: set[str] | None = None) -> tuple[TaskResult, StepReport]:
    """The question's run with the student's functions; returns the results assembled here and which steps ran."""
    from dlgrade.data import DataResolver
    from dlgrade.progress import Progress

    data = data or DataResolver(progress=Progress("data", quiet=True))
    config = q.config(profile)
    progress = Progress(q.id, quiet=True)
    ctx = Context(question=q, profile=profile, seed=seed, config=config, seeds=Seeds(seed, q.seed_offsets),
                  run_dir=work, data=data, progress=progress, fingerprint="student")
    report = run_steps(q, ctx, sandbox_trainer(q, ctx, session, time.monotonic() + budget_s, log, blocked, locate,
                                               defined), keep_going=True)
    ctx.result.provenance.update({"profile": profile, "seed": seed, "steps": report.to_dict(), "config": config.to_dict()})
    return ctx.result, report


# ---------------------------------------------------------------- the rubric in code mode

def credited_checks(q: Question, rubric: Rubric, profile: str) -> list:
    """The rubric checks that grade the student's work: those of steps that depend on a student function."""
    return [c for c in rubric.checks if profile in c.profiles and c.step is not None and q.uses_of(c.step)]


def code_rubric(q: Question, profile: str) -> Rubric:
    rubric = load_rubric(q.rubric_path)
    return replace(rubric, checks=tuple(credited_checks(q, rubric, profile)))


def witness_failures(q: Question, result: TaskResult, reference: TaskResult | None, profile: str,
                     by_metric: dict[str, GradedCheck] | None = None) -> dict[str, str]:
    """Training steps whose held-out witness does not hold up against the reference run: step -> why.
    ``by_metric``: the graded rubric check of each metric (for witnesses the rubric decides)."""
    out = {}
    by_metric = by_metric or {}
    for step in q.steps:
        w = getattr(step, "witness", None)
        if w is None:
            continue
        got = result.metrics.get(w.metric)
        want = reference.metrics.get(w.metric) if reference is not None else None
        tol = w.tolerance(profile)
        if not isinstance(got, (int, float)) or isinstance(got, bool) or not math.isfinite(got):
            out[step.name] = f"its held-out measure {w.metric} was not produced"
        elif tol is None:
            check = by_metric.get(w.metric)
            if check is not None and not check.passed:
                out[step.name] = (f"its held-out measure {w.metric} = {got:.4g} is outside {check.expected}, the range around "
                                  "the reference run (same profile and seed), so the numbers it reported cannot be credited")
        elif isinstance(want, (int, float)) and got < want - tol:
            out[step.name] = (f"its held-out measure {w.metric} = {got:.4g} is more than {w.tolerance(profile):g} below the "
                              f"reference run's {want:.4g} (same profile and seed), so the numbers it reported cannot be credited")
    return out


def grade_run(q: Question, result: TaskResult, report: StepReport, profile: str,
              reference: TaskResult | None) -> list[GradedCheck]:
    """The rubric's credited checks on the student's run: a check whose step did not run says once why; a check
    whose step's witness failed is not credited."""
    rubric = code_rubric(q, profile)
    graded = {c.id: c for c in grade_result(result, rubric, profile, reference).checks}
    untrusted = witness_failures(q, result, reference, profile,
                                 {c.metric: graded[c.id] for c in rubric.checks if c.metric and c.id in graded})
    out = []
    for check in rubric.checks:
        g = graded[check.id]
        cause = report.cause(check.step) if report.status.get(check.step) != "done" else None
        if cause is not None:
            why_fa = CATALOG.text(f"verdict.{cause.verdict}", "fa") if CATALOG.has(f"verdict.{cause.verdict}") else cause.verdict
            g = replace(g, passed=False, earned=0.0, verdict="run_failed",
                        detail=f"step {cause.step} failed ({cause.verdict}): {clean(cause.detail, 600)}",
                        detail_fa=f"مرحلهٔ {cause.step} از اجرای تسک انجام نشد: "
                                  f"{clean(cause.detail_fa, 600) if cause.detail_fa else why_fa}",
                        hint=cause.hint or {})
        else:
            gated = [(s.name, untrusted[s.name]) for s in q.chain(check.step) if s.name in untrusted]
            if gated and g.passed:
                name, why = gated[0]
                g = replace(g, passed=False, earned=0.0, verdict="not_verified", detail=f"step {name}: {why}",
                            detail_fa=f"مرحلهٔ {name}: اندازهٔ نگه‌داشته‌شدهٔ آن در برابر اجرای مرجع تأیید نشد")
        out.append(g)
    return out


# ---------------------------------------------------------------- one question's code

@dataclass
class CodeJob:
    """What grading one student's code for one question needs."""

    question: Question
    files: dict[str, bytes]
    module_file: str
    profile: str
    seed: int
    limits: sb.Limits
    check_timeout_s: float = 20.0
    run_budget_s: float = 300.0
    stages: tuple[str, ...] = ("unit", "run")
    reference: TaskResult | None = None
    where: Callable[[str], str] | None = None  # a sandbox file:line as the student's own place (notebook cell)


def grade_code(job: CodeJob, data=None, log: Callable[[str], None] = lambda s: None, work: Path | None = None) -> CodeGrade:
    """Grade ``job``: every verdict is computed here; only the student's calls run in the sandbox."""
    import tempfile

    q = job.question
    notes: list[str] = []
    with sb.Session(question_bundle(q), job.files, limits=job.limits) as session:
        try:
            info = session.load(job.module_file, f"student_{q.slug}", timeout=max(job.limits.timeout_s, 60))
        except (sb.StudentError, sb.SandboxDied) as e:
            p = from_student_error(e, True, "load", job.where) if isinstance(e, sb.StudentError) else from_sandbox_died(e)
            verdict = "import_error" if p.verdict == "error" else p.verdict
            detail = f"importing your module failed: {p.detail}"
            return CodeGrade(_all_failed(q, job, verdict, detail, f"بارگذاری ماژول شما شکست خورد: {p.detail_fa}", p.hint),
                             [detail])
        defined = set(info.get("functions", [])) | set(info.get("imported", []))
        checks: list[GradedCheck] = []
        blocked: dict[str, GradedCheck] = {}
        if "unit" in job.stages:
            try:
                sigs = session.run("dlgrade.kit.harness:signatures", {"names": list(q.student_functions)}, timeout=60)
            except (sb.StudentError, sb.SandboxDied):
                sigs = {}
            checks += [rec for _, rec in defined_checks(q, sigs if isinstance(sigs, dict) else {})]
            hidden, blocked = run_hidden_checks(q, session, defined, job.check_timeout_s, log, job.where)
            checks += hidden
            if blocked:
                notes.append(f"{', '.join(f'{b}()' for b in sorted(blocked))} hit a time or memory limit in a hidden check; "
                             "the steps of the task run that use it were not run")
        if "run" not in job.stages:
            return CodeGrade(checks, notes)
        with tempfile.TemporaryDirectory(prefix="dlgrade-run-") as tmp:
            t0 = time.monotonic()
            result, report = run_with_student(q, session, job.profile, job.seed, job.run_budget_s, data, log,
                                              Path(work or tmp), blocked, job.where, defined)
            notes.append(f"task run ({job.profile}, seed {job.seed}): {time.monotonic() - t0:.1f} s")
            checks += grade_run(q, result, report, job.profile, job.reference)
        for name, failure in report.failures.items():
            notes.append(f"step {name} failed ({failure.verdict}): {clean(failure.detail, 300)}")
        notes += [f"sandbox: {n}" for n in session.notes[:5]]
        return CodeGrade(checks, notes, steps=report.to_dict())


def _rubric_failed(q: Question, profile: str, verdict: str, detail: str) -> list[GradedCheck]:
    return [GradedCheck(id=c.id, question=q.id, stage="rubric", kind=c.kind, passed=False, points=c.points, earned=0.0,
                        verdict=verdict, detail=detail, message=c.message, fix=c.fix, step=c.step)
            for c in code_rubric(q, profile).checks]


def _all_failed(q: Question, job: CodeJob, verdict: str, detail: str, detail_fa: str, hint) -> list[GradedCheck]:
    """Every check of the question failed with one cause (the module could not be imported)."""
    out = []
    if "unit" in job.stages:
        checks = [c for c, _ in defined_checks(q, {})] + collect(hidden_module(q))
        out += [_check_record(q, c, verdict, 0, detail, detail_fa, hint) for c in checks]
    if "run" in job.stages:
        out += [replace(c, detail_fa=detail_fa, hint=hint or {}) for c in _rubric_failed(q, job.profile, "run_failed", detail)]
    return out


def max_points(q: Question, profile: str, stages=("unit", "run")) -> float:
    """What a question's code is graded out of (the denominator whatever happens)."""
    total = 0.0
    if "unit" in stages:
        total += sum(c.points for c in collect(hidden_module(q)))
    if "run" in stages:
        total += sum(c.points for c in code_rubric(q, profile).checks)
    return total
