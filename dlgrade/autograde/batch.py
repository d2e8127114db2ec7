"""Grade a folder of student submissions into a gradebook: one executor job per student x question.

The client stages each student's folder (regular files only, size caps), sends the bytes with the question id
and the options to a worker (:func:`dlgrade.autograde.worker_jobs.grade_question_job`) and gets the grade record
back; it writes each student's files through a callback once all their questions are in, keeps every finished
student x question in a resume store (:mod:`dlgrade.autograde.resume`), and writes the gradebook last. A question
whose job did not finish (its worker lost twice, a crash) scores 0 of its points and is flagged for review.

``SUBMISSIONS_DIR/<student>/`` is one student's folder (see :mod:`dlgrade.autograde.submission`). Every
sub-folder is graded except hidden ones (``.git``); everything skipped is listed. Each student gets an output
folder of their own even when two names clean to the same text (``bob!`` and ``bob?``), and the gradebook's cells
cannot be read as spreadsheet formulas.

Output (``OUT``)::

    gradebook.csv                 one row per student, one column per check (points earned), totals,
                                  review, protections, retried, workers, status
    .dlgrade-done/                what a restarted batch does not grade again
    skipped.txt                   what in SUBMISSIONS_DIR was not graded, and why
    <student>/...                 whatever ``write_outputs`` writes (grade.json, Gradescope JSON, feedback PDFs)
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from dlgrade.autograde.executors import Executor, Job, JobOutcome
from dlgrade.autograde.sources import find_sources
from dlgrade.autograde.staging import Staged, stage
from dlgrade.autograde.submission import Options, SubmissionGrade, assignment_of, submitted
from dlgrade.text import clean


@dataclass
class BatchOutcome:
    grades: list[SubmissionGrade]
    gradebook: Path
    elapsed_s: float
    out: Path
    skipped: dict[str, str]


def student_dirs(root: Path) -> tuple[list[Path], dict[str, str]]:
    """Every sub-folder of ``root`` (one per student), sorted, and what was not taken (name -> why)."""
    from dlgrade.errors import UsageError

    root = Path(root)
    if not root.is_dir():
        raise UsageError(f"{root}: not a folder of student submissions")
    dirs, skipped = [], {}
    for p in sorted(root.iterdir(), key=lambda p: p.name):
        if p.is_symlink():
            skipped[p.name] = "a symbolic link, not a student's folder"
        elif not p.is_dir():
            skipped[p.name] = "a file, not a student's folder"
        elif p.name.startswith("."):
            skipped[p.name] = "a hidden folder (its name starts with '.')"
        else:
            dirs.append(p)
    return dirs, skipped


def safe_name(name: str) -> str:
    """A folder name for a student: letters, digits, ``_.-``; when cleaning changed the name, a short hash of the
    original keeps it unique (``bob!`` and ``bob?`` differ)."""
    cleaned = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._") or "student"
    if cleaned != name:
        cleaned += "-" + hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return cleaned[:120]


def csv_cell(value) -> str:
    """A gradebook cell that a spreadsheet shows as text: leading ``= + - @`` (and tab, CR) are neutralised."""
    text = clean(value, 500).replace("\n", " ")
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def write_gradebook(grades: Sequence[SubmissionGrade], path: Path) -> Path:
    """CSV: student, one column per ``task:check`` (earned points; empty when not applicable), totals."""
    columns: list[str] = []
    maxima: dict[str, float] = {}
    for g in grades:
        for t in g.tasks:
            for c in t.checks:
                if c.key not in maxima:
                    columns.append(c.key)
                maxima[c.key] = max(maxima.get(c.key, 0.0), c.points)
    tasks = sorted({t.task for g in grades for t in g.tasks})
    assignments = list(dict.fromkeys(assignment_of(t) for t in tasks))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".csv.tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        # one total, maximum and percentage per assignment (hw6, hw14): never a percentage mixing two of them
        totals = [f"{a}:{k}" for a in assignments for k in ("total", "max", "percent")]
        w.writerow(["student", *columns, *(f"{t}:total" for t in tasks), *totals, "review", "protections", "retried", "workers", "status"])
        w.writerow(["(max points)", *(f"{maxima[c]:g}" for c in columns), *("" for _ in tasks), *("" for _ in totals),
                    "", "", "", "", ""])
        for g in grades:
            cells = {c.key: c.earned for t in g.tasks for c in t.checks}
            per_task = {t.task: t for t in g.tasks}
            per = g.per_assignment
            sums = []
            for a in assignments:
                e, m = per.get(a, (0.0, 0.0))
                sums += [f"{e:g}", f"{m:g}", f"{100 * e / m:.1f}" if m else ""]
            w.writerow([csv_cell(g.student), *(f"{cells[c]:g}" if c in cells else "" for c in columns),
                        *(f"{per_task[t].counted:g}/{per_task[t].out_of:g}" if t in per_task else "" for t in tasks),
                        *sums, "yes" if g.review else "", csv_cell(g.protections.get("mode", "")),
                        csv_cell(" ".join(g.retried)), csv_cell("; ".join(sorted(set(g.workers.values())))),
                        csv_cell(g.error or "ok")])
    os.replace(tmp, path)
    return path


def grade_batch(root: Path, out: Path, write_outputs: Callable[[SubmissionGrade, Path], None], tasks: Sequence | None = None,
                options: Options | None = None, jobs: int | None = None, log: Callable[[str], None] = print,
                executor: Executor | None = None, job_fn: Callable[..., dict] | None = None,
                job_kwargs: dict | None = None) -> BatchOutcome:
    """Grade every student folder under ``root``: one job per student x question through ``executor``.

    The client stages each folder (:func:`dlgrade.autograde.staging.stage`: size caps, no links) and sends the
    bytes; workers return grade records; the client writes ``write_outputs(grade, folder)`` for each student
    once all their questions are in, the resume store (:mod:`dlgrade.autograde.resume`), and the gradebook.
    A question already graded with the same fingerprint (an interrupted batch started again) is not sent.

    Args:
        root: the folder of student folders.
        out: where the gradebook, ``skipped.txt`` and the per-student folders go.
        write_outputs: writes one student's files (grade.json, Gradescope JSON, PDFs) into a folder.
        tasks: questions to grade (default: every question anyone handed in).
        options: grading options.
        jobs: local pool size when no ``executor`` is given (default: the core count).
        log: where messages go.
        executor: where jobs run (default: a local pool of ``jobs`` processes, closed here).
        job_fn: the function each job runs (default :func:`dlgrade.autograde.worker_jobs.grade_question_job`).
        job_kwargs: extra keyword arguments of ``job_fn`` (tests: which worker to crash).
    """
    from dlgrade.autograde.executors import LocalExecutor
    from dlgrade.autograde.resume import DoneStore
    from dlgrade.autograde.worker_jobs import grade_question_job, options_for
    from dlgrade.questions import course_dirs

    options = options or Options()
    job_fn = job_fn or grade_question_job
    t0 = time.monotonic()
    dirs, skipped = student_dirs(root)
    for name, why in skipped.items():
        log(f"  skipped {clean(name, 80)}: {why}")
    staged = {d.name: stage(d) for d in dirs}
    if tasks is None:  # every question anyone handed in; a student missing one gets "not submitted"
        from dlgrade.questions import all_questions

        seen = set()
        for st in staged.values():
            try:
                seen.update(t.id for t in submitted(st, all_questions()))
            except Exception:  # noqa: BLE001
                pass
        tasks = [t for t in all_questions() if t.id in seen]
    tasks = list(tasks)
    task_ids = [t.id for t in tasks]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    names: dict[str, str] = {}
    for d in dirs:
        target = safe_name(d.name)
        while target in names.values():
            target += "_"
        names[d.name] = target
    store = DoneStore(out)
    courses = [str(c) for c in course_dirs()]
    plan: dict[str, StudentPlan] = {}
    job_list: list[Job] = []
    for d in dirs:
        p = plan[d.name] = StudentPlan(d, staged[d.name], names[d.name])
        try:
            p.sources = find_sources(p.staged, tasks)
            p.tasks = tasks if tasks else []
        except Exception as e:  # noqa: BLE001
            p.error = f"could not list the questions: {clean(e, 300)}"
            continue
        for q in tasks:
            fp = fingerprint(p.staged, task_ids, q, options)
            p.fingerprints[q.id] = fp
            record = store.load(names[d.name], q.id, fp)
            if record is not None:
                p.records[q.id] = record
                continue
            job_list.append(Job(f"{d.name}:{q.id}", job_fn, {
                "student": d.name, "files": p.staged.files, "skipped": p.staged.skipped, "task_ids": task_ids,
                "question_id": q.id, "options": options_for(options, q.id), "courses": courses, **(job_kwargs or {})},
                fingerprint=fp))
    reused = sum(len(p.records) for p in plan.values())
    owned = executor is None
    if owned:
        executor = LocalExecutor(max(1, min(jobs or os.cpu_count() or 1, len(job_list) or 1)), log=log,
                                 progress="plain", label="student x question jobs")
    log(f"grading {len(dirs)} submission(s) for {', '.join(task_ids) or 'no question'} "
        f"(profile {options.profile}, hand-ins at {options.handin_profile}): {len(job_list)} job(s) on {executor!r}"
        + (f", {reused} already graded (resumed)" if reused else ""))
    grades: dict[str, SubmissionGrade] = {}

    def finish_student(p: StudentPlan) -> None:
        g = p.assemble(options)
        try:
            if not (store.student_done(p.target, p.fingerprint()) and (out / p.target).is_dir()):
                write_outputs(g, out / p.target)
                store.mark_student(p.target, p.fingerprint())
        except Exception as e:  # noqa: BLE001
            g.error = (g.error + "; " if g.error else "") + f"writing feedback failed: {clean(e, 300)}"
            traceback.print_exc()
        grades[p.folder.name] = g
        log(f"  {clean(g.student, 80)}: {g.summary() or '0/0'} in {g.elapsed_s:.1f} s"
            + (f" [{clean(g.error, 200)}]" if g.error else "") + (f" (retried: {', '.join(g.retried)})" if g.retried else ""))

    def on_done(outcome: JobOutcome) -> None:
        student, qid = outcome.key.rsplit(":", 1)
        p = plan[student]
        p.records[qid] = record_of(outcome, p, qid, options)
        store.save(p.target, qid, p.fingerprints[qid], p.records[qid])
        if p.complete():
            finish_student(p)

    try:
        for p in plan.values():  # students with nothing left to send (errors, all resumed)
            if p.complete():
                finish_student(p)
        executor.run(job_list, on_done=on_done)
    finally:
        if owned:
            executor.close()
    for p in plan.values():  # a job the executor never reported (it should not happen): fail closed, never drop
        if p.folder.name not in grades:
            for q in p.tasks:
                if q.id not in p.records:
                    p.records[q.id] = failed_record(q, p, options, "internal", "this question was never graded")
            finish_student(p)
    order = {d.name: i for i, d in enumerate(dirs)}
    ordered = sorted(grades.values(), key=lambda g: order.get(Path(g.path).name, 1 << 30))
    book = write_gradebook(ordered, out / "gradebook.csv")
    text = "".join(f"{clean(k, 200)}\t{v}\n" for k, v in skipped.items())
    atomic_text(out / "skipped.txt", text)
    elapsed = round(time.monotonic() - t0, 1)
    log(f"batch done in {elapsed:.1f} s: {book}")
    return BatchOutcome(ordered, book, elapsed, out, skipped)


def atomic_text(path: Path, text: str) -> None:
    from dlgrade.autograde.worker_jobs import atomic_write

    atomic_write(path, text.encode("utf-8"))


def fingerprint(staged: Staged, task_ids: Sequence[str], q, options: Options) -> str:
    """What identifies one student x question's grade: the submission's bytes, the question (its code and rubric),
    the batch's questions (files are matched among them), the options (profile, seed, limits, stages), the
    reference run it is compared with, and dlgrade's version."""
    from dlgrade import __version__
    from dlgrade.runstore import code_digest

    h = hashlib.sha256()
    for name, data in sorted(staged.files.items()):
        h.update(name.encode("utf-8", "surrogatepass") + b"\0" + hashlib.sha256(data).digest())
    ref = options.references.get(q.id)
    parts = {"skipped": sorted(staged.skipped), "question": q.id, "tasks": list(task_ids), "version": __version__,
             "code": code_digest(q), "rubric": hashlib.sha256(Path(q.rubric_path).read_bytes()).hexdigest(),
             "profile": options.profile, "handin_profile": options.handin_profile, "seed": options.seed,
             "stages": list(options.stages), "limits": repr(options.limits), "check_timeout_s": options.check_timeout_s,
             "run_budget_s": options.run_budget_s,
             "reference": ref.provenance.get("fingerprint", repr(ref.metrics)) if ref is not None else None}
    h.update(json.dumps(parts, sort_keys=True, default=str).encode())
    return h.hexdigest()


@dataclass
class StudentPlan:
    """One student's folder, staged, and the records of their questions as they arrive."""

    folder: Path
    staged: Staged
    target: str
    tasks: list = field(default_factory=list)
    sources: object = None
    error: str | None = None
    fingerprints: dict = field(default_factory=dict)
    records: dict = field(default_factory=dict)
    t0: float = field(default_factory=time.monotonic)

    def complete(self) -> bool:
        return all(q.id in self.records for q in self.tasks)

    def fingerprint(self) -> str:
        return hashlib.sha256(json.dumps([self.fingerprints.get(q.id) for q in self.tasks]).encode()).hexdigest()

    def assemble(self, options: Options) -> SubmissionGrade:
        from dlgrade.autograde.worker_jobs import task_grade_from_dict

        name = self.folder.name
        if self.error:
            return SubmissionGrade(name, str(self.folder), [], 0.0, self.error, self.staged.skipped)
        graded = [task_grade_from_dict(self.records[q.id]["task"]) for q in self.tasks]
        error = None if self.tasks else (
            "no question found: expected a notebook or .py defining the handout's functions (e.g. batch_norm for "
            "hw6.q1), or a results file like hw6_q1.results.json"
            + (f" ({'; '.join(self.sources.notes)})" if self.sources is not None and self.sources.notes else ""))
        recs = [self.records[q.id] for q in self.tasks]
        protections = _merge_protections([r.get("protections") or {} for r in recs])
        return SubmissionGrade(name, str(self.folder), graded, round(sum(r.get("seconds", 0.0) for r in recs), 2),
                               error, self.staged.skipped, protections,
                               workers={q.id: r.get("worker_name", "") for q, r in zip(self.tasks, recs)},
                               retried=[q.id for q, r in zip(self.tasks, recs) if r.get("retried")],
                               worker_details={q.id: r.get("worker") or {} for q, r in zip(self.tasks, recs)})


def _merge_protections(found: list[dict]) -> dict:
    """The protections of the workers that graded a student: one dict when they agree, else the weakest mode."""
    modes = sorted({p.get("mode", "") for p in found if p})
    if not modes:
        return {}
    if len(modes) == 1:
        return next(p for p in found if p)
    return {"mode": "/".join(modes), "differs": True}


def record_of(outcome: JobOutcome, p: StudentPlan, qid: str, options: Options) -> dict:
    """What is kept of one finished job: its grade record, the worker and its protections, retries."""
    q = next(t for t in p.tasks if t.id == qid)
    base = {"retried": outcome.retried, "attempts": outcome.attempts, "seconds": round(outcome.seconds, 2),
            "worker_name": outcome.worker}
    if outcome.ok and isinstance(outcome.value, dict) and "task" in outcome.value:
        w = outcome.value.get("worker") or {}
        return {**base, "task": outcome.value["task"], "protections": outcome.value.get("protections") or {},
                "worker": w, "worker_name": outcome.worker + (f" ({w.get('host')})" if w.get("host") else "")}
    lost = bool(outcome.lost_workers) and outcome.error.startswith("worker lost")
    return {**base, **failed_record(q, p, options, "worker_lost" if lost else "internal", outcome.error)}


def failed_record(q, p: StudentPlan, options: Options, verdict: str, error: str) -> dict:
    """A question whose job did not finish: every check at 0, flagged for review, full points in the total."""
    from dataclasses import replace

    from dlgrade.autograde.submission import TaskGrade, declared_checks, question_max, results_names
    from dlgrade.autograde.worker_jobs import task_grade_to_dict
    from dlgrade.words import CATALOG

    code = p.sources is not None and q.id in p.sources.by_question
    mode = "results" if not code and any(n in p.staged.files for n in results_names(q)) else "code"
    if verdict == "worker_lost":
        en, fa = CATALOG.text("verdict.worker_lost", "en"), CATALOG.text("verdict.worker_lost", "fa")
    else:
        en = f"grading did not finish: {clean(error.strip().splitlines()[-1] if error.strip() else 'no reason given', 300)}"
        fa = CATALOG.text("verdict.internal", "fa")
    checks = [replace(c, verdict=verdict, detail=en, detail_fa=fa, review=True, earned=0.0, passed=False)
              for c in declared_checks(q, mode, options)]
    tg = TaskGrade(q.id, mode, options.handin_profile if mode == "results" else options.profile, checks,
                   [en, clean(error, 2000)], question_max(q, mode, options), review=True,
                   weight=question_max(q, "code", options))
    return {"task": task_grade_to_dict(tg), "protections": {}, "worker": {}}
