"""Grade a folder of student submissions: gradebook CSV, Gradescope JSON and feedback PDFs.

``SUBMISSIONS_DIR/<student>/`` is one student's folder (see :mod:`dlgrade.autograde.submission`).
Students are graded in parallel (one worker per core by default); each one's sandboxed children
are independent, so a broken submission only ever affects its own row.

Output (``OUT``)::

    gradebook.csv                 one row per student, one column per check (points earned), totals
    <student>/results.json        Gradescope autograder format
    <student>/grade.json          every verdict with its detail
    <student>/feedback-fa.pdf     feedback in Persian
    <student>/feedback-en.pdf     feedback in English
"""

from __future__ import annotations

import csv
import os
import re
import time
import traceback
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from dlgrade.autograde import legacy_sandbox as sandbox
from dlgrade.autograde.submission import STAGES, SubmissionGrade, grade_submission, submitted_tasks


@dataclass
class BatchOutcome:
    grades: list[SubmissionGrade]
    gradebook: Path
    elapsed_s: float
    out: Path


def student_dirs(root: Path) -> list[Path]:
    """Every sub-folder of ``root`` (one per student), sorted; hidden folders are skipped."""
    root = Path(root)
    if not root.is_dir():
        from dlgrade.errors import UsageError

        raise UsageError(f"{root}: not a folder of student submissions")
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))


def safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name) or "student"


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
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["student", *columns, *(f"{t}:total" for t in tasks), "total", "max", "percent", "status"])
        w.writerow(["(max points)", *(f"{maxima[c]:g}" for c in columns), *("" for _ in tasks), "", "", "", ""])
        for g in grades:
            cells = {c.key: c.earned for t in g.tasks for c in t.checks}
            per_task = {t.task: t for t in g.tasks}
            pct = 100 * g.earned / g.total if g.total else 0.0
            w.writerow([g.student, *(f"{cells[c]:g}" if c in cells else "" for c in columns),
                        *(f"{per_task[t].earned:g}/{per_task[t].total:g}" if t in per_task else "" for t in tasks),
                        f"{g.earned:g}", f"{g.total:g}", f"{pct:.1f}", g.error or "ok"])
    return path


def grade_batch(root: Path, out: Path, write_outputs: Callable[[SubmissionGrade, Path], None], tasks: Sequence | None = None,
                profile: str = "smoke", seed: int = 0, jobs: int | None = None, limits: sandbox.Limits | None = None,
                stages: Sequence[str] = STAGES, log: Callable[[str], None] = print) -> BatchOutcome:
    """Grade every student folder under ``root``; ``write_outputs(grade, folder)`` writes each student's files
    (grade.json, Gradescope JSON, feedback PDFs); the gradebook goes to ``out``."""
    t0 = time.monotonic()
    dirs = student_dirs(root)
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(dirs) or 1))
    if tasks is None:  # every question anyone handed in; a student missing one gets "not submitted"
        seen = {}
        for d in dirs:
            try:
                for t in submitted_tasks(d):
                    seen[t.id] = t
            except Exception:  # noqa: BLE001
                pass
        from dlgrade.questions import all_questions

        tasks = [t for t in all_questions() if t.id in seen]
    sandbox.capabilities()  # probe once, before the worker threads
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    log(f"grading {len(dirs)} submission(s) for {', '.join(t.id for t in tasks) or 'no task'} "
        f"(profile {profile}, {jobs} in parallel)")

    def one(d: Path) -> SubmissionGrade:
        try:
            g = grade_submission(d, tasks, profile, seed, limits, stages)
        except Exception as e:  # noqa: BLE001 - never lose the batch
            g = SubmissionGrade(d.name, str(d), [], 0.0, f"internal grading error: {type(e).__name__}: {e}")
        target = out / safe_name(g.student)
        try:
            write_outputs(g, target)
        except Exception as e:  # noqa: BLE001
            g.error = (g.error + "; " if g.error else "") + f"writing feedback failed: {e}"
            traceback.print_exc()
        return g

    grades: list[SubmissionGrade] = []
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = {pool.submit(one, d): d for d in dirs}
        for fut in as_completed(futures):
            g = fut.result()
            grades.append(g)
            log(f"  {g.student}: {g.earned:g}/{g.total:g} in {g.elapsed_s:.1f} s" + (f" [{g.error}]" if g.error else ""))
    order = {d.name: i for i, d in enumerate(dirs)}
    grades.sort(key=lambda g: order.get(Path(g.path).name, 1 << 30))
    book = write_gradebook(grades, out / "gradebook.csv")
    elapsed = round(time.monotonic() - t0, 1)
    log(f"batch done in {elapsed:.1f} s: {book}")
    return BatchOutcome(grades, book, elapsed, out)
