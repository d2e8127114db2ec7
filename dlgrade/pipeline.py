"""The pipeline: run questions, grade their results, write the reports; the CLI's verbs are calls of these.

This is the one module that composes the layers (questions, run store, rubric grading, autograding, reports).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from dlgrade import results as results_mod
from dlgrade.errors import DlgradeError
from dlgrade.kit.question import Question
from dlgrade.questions import all_questions, get_question
from dlgrade.reports.render import Section, write_reports
from dlgrade.rubric import Grade, format_table, grade_result, load_rubric
from dlgrade.autograde.question_runs import Failed, question_jobs, settle_run  # noqa: F401 - part of this module's API
from dlgrade.runstore import RunOutcome, run_dir_for, run_question

GRADE_FILE = "grade.json"


@dataclass
class Ran:
    """A question that ran: its outcome and grade."""

    question: Question
    outcome: RunOutcome
    grade: Grade


def rubric_of(question: Question):
    return load_rubric(question.rubric_path)


def grade_outcome(question: Question, outcome: RunOutcome, write: bool = True) -> Grade:
    """Grade a run with its question's rubric (the run's own profile) and write ``grade.json`` beside it."""
    grade = grade_result(outcome.result, rubric_of(question))
    if write:
        results_mod.write_json_atomic(Path(outcome.run_dir) / GRADE_FILE, grade.to_dict())
    return grade


def grade_path(path: Path, rubric_file: Path | None = None, profile: str | None = None) -> Grade:
    """Grade a run folder or a results.json with its question's rubric (or ``rubric_file``); writes grade.json."""
    result = results_mod.load(path)
    rubric = load_rubric(rubric_file) if rubric_file else rubric_of(get_question(result.task))
    grade = grade_result(result, rubric, profile)
    target = Path(path) if Path(path).is_dir() else Path(path).parent
    results_mod.write_json_atomic(target / GRADE_FILE, grade.to_dict())
    return grade


#: Rough seconds of a quick run, to send the longest questions first when the run store has no measurement.
COST_TABLE = {"hw6.q4": 1000.0, "hw6.q3": 800.0, "hw14.q3": 600.0, "hw14.q2": 400.0, "hw14.q4": 300.0}
_OTHER_COST = 60.0


def longest_first(questions: Sequence[Question], profile: str, out: Path) -> list[Question]:
    """``questions`` by their last measured duration in the run store (else :data:`COST_TABLE`), longest first:
    with a pool, the longest job then starts at once instead of last."""
    from dlgrade.runstore import last_duration

    def cost(q: Question) -> float:
        measured = last_duration(out, profile, q.id)
        return measured if measured is not None else COST_TABLE.get(q.id, _OTHER_COST)

    return sorted(questions, key=cost, reverse=True)


def run_questions(questions: Sequence[Question], profile: str, seed: int, out: Path, force: bool = False,
                  echo: Callable[[str], None] = print, executor=None, workers: int | None = None,
                  ) -> tuple[list[Ran], list[Failed]]:
    """Run each question (cache permitting) as a job of ``executor``, grade it and print its verdicts. A question
    that cannot run (missing data, a crash, its worker lost twice) is reported and the others still run.

    Args:
        questions, profile, seed, out, force: as ``dlgrade run``.
        echo: where verdict tables go.
        executor: where the runs go (default: a local pool of ``workers`` spawn processes, one TensorFlow
            thread each, at most one per question; closed here).
        workers: local pool size (default: the core count).
    """
    from dlgrade.autograde.executors import LocalExecutor
    from dlgrade.autograde.worker_jobs import ONE_THREAD_ENV
    from dlgrade.runstore import cached_run

    ran, failed = [], []
    todo = []
    for q in questions:
        hit = None if force else cached_run(q, profile, seed, out)
        if hit is None:
            todo.append(q)
            continue
        print(f"[{q.id}] unchanged since {hit.result.provenance.get('started_at', '?')}: using cached results "
              f"(--force re-runs)", file=sys.stderr)
        grade = grade_outcome(q, hit)
        echo(format_table(grade))
        ran.append(Ran(q, hit, grade))
    if not todo:
        return ran, failed
    owned = executor is None
    if owned:
        executor = LocalExecutor(workers, progress="plain", label="questions", env=ONE_THREAD_ENV,
                                 log=lambda m: print(m, file=sys.stderr))
    local = isinstance(executor, LocalExecutor)
    by_id = {q.id: q for q in todo}

    def on_done(outcome) -> None:
        q = by_id[outcome.key]
        settled = settle_run(q, outcome, run_dir_for(out, profile, q.id), local)
        if isinstance(settled, Failed):
            failed.append(settled)
            print(f"dlgrade: {q.id} could not run: {settled.error}", file=sys.stderr)
            return
        grade = grade_outcome(q, settled)
        echo(format_table(grade))
        ran.append(Ran(q, settled, grade))

    try:
        executor.run(question_jobs(longest_first(todo, profile, out), profile, seed, out, force, executor), on_done)
    finally:
        if owned:
            executor.close()
    return ran, failed


def measured(question: Question, profile: str):
    """The run of ``profile`` shipped with the question (metrics and provenance), or None."""
    path = question.measured_path(profile)
    return results_mod.load(path) if path.is_file() else None


def ship_measured(question: Question, run_dir: Path) -> Path:
    """Keep a run with the question (``questions/<slug>/measured/<profile>.results.json``): its metrics and its
    provenance (profile, seed, durations, versions, data checksums, commit), not its tables and figures."""
    result = results_mod.load(run_dir)
    if result.task != question.id:
        raise DlgradeError(f"{run_dir} holds a run of {result.task}, not of {question.id}")
    kept = results_mod.TaskResult(result.task, metrics=dict(result.metrics), provenance=dict(result.provenance))
    target = question.measured_path(str(result.provenance.get("profile")))
    target.parent.mkdir(parents=True, exist_ok=True)
    results_mod.write_json_atomic(target, kept.to_dict())
    target.chmod(0o644)  # package data, readable by everyone (the atomic write makes 0600 files)
    return target


def _dotted(tree, key: str | None):
    """``tree["a"]["b"]`` for ``key="a.b"`` when it is a number; else None."""
    for part in (key.split(".") if key else [None]):
        tree = tree.get(part) if isinstance(tree, dict) and part is not None else None
    return tree if isinstance(tree, (int, float)) and not isinstance(tree, bool) else None


def side_by_side(question: Question, result, profile: str) -> dict | None:
    """The question's headline numbers for this run, the shipped full run (when this is not one) and the reference
    report: ``{"rows": [[metric, this, full, reference]], "full": provenance or None}``."""
    if not question.headline:
        return None
    full = measured(question, "full") if profile != "full" else None
    ref = result.facts.get("reference") or {}
    rows = [[metric, result.metrics.get(metric), full.metrics.get(metric) if full else None, _dotted(ref, key)]
            for metric, key in question.headline]
    prov = None
    if full:
        p = full.provenance
        prov = {"started_at": str(p.get("started_at", ""))[:10], "seed": p.get("seed"), "duration_s": p.get("duration_s"),
                "device": p.get("device") or "CPU", "commit": str(p.get("git_commit") or "")[:10]}
    return {"rows": rows, "full": prov}


def sections(ran: Sequence[Ran], failed: Sequence[Failed], profile: str) -> list[Section]:
    """The report's sections in question order (a question that could not run still counts its points)."""
    order = {q.id: i for i, q in enumerate(all_questions())}
    out = [Section(r.question.id, r.question.slug, r.question.title, r.question.templates, r.outcome.result, r.grade,
                   r.outcome.run_dir, r.outcome.cached, points=r.grade.total,
                   extra={"side_by_side": side_by_side(r.question, r.outcome.result, profile)}) for r in ran]
    out += [Section(f.question.id, f.question.slug, f.question.title, f.question.templates, error=f.error,
                    points=rubric_of(f.question).total_points(profile)) for f in failed]
    return sorted(out, key=lambda s: order.get(s.id, len(order)))


def make_report(questions: Sequence[Question], profile: str, seed: int, out: Path, force: bool = False,
                langs: Sequence[str] = ("fa", "en"), keep_html: bool = False, executor=None,
                workers: int | None = None) -> tuple[list[Path], list[Failed]]:
    """Run (or reuse) every question as jobs of ``executor`` (see :func:`run_questions`), grade them, then write
    both PDFs here once every job is in."""
    ran, failed = run_questions(questions, profile, seed, out, force, executor=executor, workers=workers)
    return write_reports(sections(ran, failed, profile), out, profile, langs, keep_html), failed


# ---------------------------------------------------------------- students

def write_student_outputs(g, target: Path, langs: Sequence[str] = ("fa", "en")) -> None:
    """One student's files, readable by the instructor only (0600 in a 0700 folder): ``grade.json`` (every
    verdict), ``results.json`` (Gradescope) and the feedback PDFs."""
    import os

    from dlgrade.reports.feedback import gradescope, write_pdf

    target = Path(target)
    target.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(target, 0o700)  # no umask: it is process-wide and other threads start sandboxes
    results_mod.write_json_atomic(target / GRADE_FILE, g.to_dict())  # mkstemp: 0600
    results_mod.write_json_atomic(target / "results.json", gradescope(g))
    titles = {q.id: dict(q.title) for q in all_questions()}
    for lang in langs:
        os.chmod(write_pdf(g, lang, target / f"feedback-{lang}.pdf", titles), 0o600)


def reference_results(questions, profile: str, seed: int, out: Path, log: Callable[[str], None] = print) -> dict:
    """The reference run of each question at the grading profile and seed (run once, then served from the run
    store's cache): a student's code is compared with it under the same conditions."""
    from dlgrade.progress import Progress

    refs = {}
    for q in questions:
        outcome = run_question(q, profile, seed, Path(out) / "reference", progress=Progress(f"{q.id} reference", plain=True))
        log(f"reference run of {q.id} ({profile}, seed {seed}): {'cached' if outcome.cached else 'ran'}")
        refs[q.id] = outcome.result
    return refs


def grading_options(profile: str = "smoke", seed: int = 0, questions=None, out: Path = Path("out/grading"),
                    stages=None, log: Callable[[str], None] = print, **kw):
    """Grading options with the reference runs the code-mode rubric compares with (when task runs are graded)."""
    from dlgrade.autograde.submission import STAGES, Options

    stages = tuple(stages or STAGES)
    refs = reference_results(questions or [], profile, seed, out, log) if "run" in stages and questions else {}
    return Options(profile=profile, seed=seed, stages=stages, references=refs, **kw)


def grade_students(batch: Path, out: Path, questions=None, options=None, jobs: int | None = None,
                   langs: Sequence[str] = ("fa", "en"), log: Callable[[str], None] = print, executor=None,
                   job_fn=None, job_kwargs=None):
    """Grade every student folder under ``batch`` into ``out`` (gradebook, per-student files): one job per
    student x question on ``executor`` (default: a local pool of ``jobs`` processes); the feedback PDFs are
    rendered here, from the grade records the jobs return."""
    from dlgrade.autograde.batch import grade_batch

    return grade_batch(batch, out, lambda g, target: write_student_outputs(g, target, langs), questions, options, jobs,
                       log, executor=executor, job_fn=job_fn, job_kwargs=job_kwargs)


def grade_one_student(submission: Path, out: Path, questions=None, options=None, langs: Sequence[str] = ("fa", "en")):
    """Grade one student's folder and write their files into ``out/<student>``; returns the grade and the folder."""
    from dlgrade.autograde.batch import safe_name
    from dlgrade.autograde.submission import grade_submission

    g = grade_submission(submission, questions, options)
    target = Path(out) / safe_name(g.student)
    write_student_outputs(g, target, langs)
    return g, target
