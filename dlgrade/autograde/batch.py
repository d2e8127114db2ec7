"""Grade a folder of student submissions into a gradebook; each student's files are written by a callback.

``SUBMISSIONS_DIR/<student>/`` is one student's folder (see :mod:`dlgrade.autograde.submission`). Every
sub-folder is graded except hidden ones (``.git``); everything skipped is listed. Each student gets an output
folder of their own even when two names clean to the same text (``bob!`` and ``bob?``), and the gradebook's cells
cannot be read as spreadsheet formulas.

Output (``OUT``)::

    gradebook.csv                 one row per student, one column per check (points earned), totals
    skipped.txt                   what in SUBMISSIONS_DIR was not graded, and why
    <student>/...                 whatever ``write_outputs`` writes (grade.json, Gradescope JSON, feedback PDFs)
"""

from __future__ import annotations

import csv
import hashlib
import os
import re
import time
import traceback
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from dlgrade.autograde import sandbox
from dlgrade.autograde.submission import Options, SubmissionGrade, assignment_of, grade_submission, submitted_tasks
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
        w.writerow(["student", *columns, *(f"{t}:total" for t in tasks), *totals, "review", "protections", "status"])
        w.writerow(["(max points)", *(f"{maxima[c]:g}" for c in columns), *("" for _ in tasks), *("" for _ in totals),
                    "", "", ""])
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
                        csv_cell(g.error or "ok")])
    os.replace(tmp, path)
    return path


def grade_batch(root: Path, out: Path, write_outputs: Callable[[SubmissionGrade, Path], None], tasks: Sequence | None = None,
                options: Options | None = None, jobs: int | None = None, log: Callable[[str], None] = print) -> BatchOutcome:
    """Grade every student folder under ``root``; ``write_outputs(grade, folder)`` writes each student's files;
    the gradebook and the list of skipped entries go to ``out``."""
    options = options or Options()
    t0 = time.monotonic()
    dirs, skipped = student_dirs(root)
    for name, why in skipped.items():
        log(f"  skipped {clean(name, 80)}: {why}")
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
    sandbox.protections()  # probe once, before the worker threads
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    names: dict[str, str] = {}
    for d in dirs:
        target = safe_name(d.name)
        while target in names.values():
            target += "_"
        names[d.name] = target
    log(f"grading {len(dirs)} submission(s) for {', '.join(t.id for t in tasks) or 'no question'} "
        f"(profile {options.profile}, hand-ins at {options.handin_profile}, {jobs} in parallel)")

    def one(d: Path) -> SubmissionGrade:
        try:
            g = grade_submission(d, tasks, options, student=d.name)
        except Exception as e:  # noqa: BLE001 - never lose the batch
            g = SubmissionGrade(d.name, str(d), [], 0.0, f"internal grading error: {type(e).__name__}: {clean(e, 300)}")
        try:
            write_outputs(g, out / names[d.name])
        except Exception as e:  # noqa: BLE001
            g.error = (g.error + "; " if g.error else "") + f"writing feedback failed: {clean(e, 300)}"
            traceback.print_exc()
        return g

    grades: list[SubmissionGrade] = []
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = {pool.submit(one, d): d for d in dirs}
        for fut in as_completed(futures):
            g = fut.result()
            grades.append(g)
            log(f"  {clean(g.student, 80)}: {g.summary() or '0/0'} in {g.elapsed_s:.1f} s" + (f" [{clean(g.error, 200)}]" if g.error else ""))
    order = {d.name: i for i, d in enumerate(dirs)}
    grades.sort(key=lambda g: order.get(Path(g.path).name, 1 << 30))
    book = write_gradebook(grades, out / "gradebook.csv")
    (out / "skipped.txt").write_text("".join(f"{clean(k, 200)}\t{v}\n" for k, v in skipped.items()), encoding="utf-8")
    elapsed = round(time.monotonic() - t0, 1)
    log(f"batch done in {elapsed:.1f} s: {book}")
    return BatchOutcome(grades, book, elapsed, out, skipped)
