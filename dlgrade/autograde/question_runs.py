"""Questions run as executor jobs: one job per question (and seed), and its outcome settled into the run store.

``report``/``run --all`` (the pipeline) and ``calibrate`` both hand their runs to an executor through these.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from dlgrade import results as results_mod
from dlgrade.kit.question import Question
from dlgrade.runstore import RunOutcome, run_dir_for


@dataclass
class Failed:
    """A question that could not run; the report shows why instead of stopping."""

    question: Question
    error: str


def question_jobs(questions: Sequence[Question], profile: str, seed: int, out: Path, force: bool, executor,
                  run_dirs: dict[str, Path] | None = None, variant: str | None = None) -> list:
    """One :class:`Job` per question (key: its id): a local pool runs it in its run folder; a Dask worker in a
    folder of its own, returning the files. ``full`` runs on Dask ask for a GPU worker (``resources={"GPU": 1}``)."""
    from dlgrade.autograde.executors import Job, LocalExecutor
    from dlgrade.autograde.worker_jobs import run_question_job
    from dlgrade.questions import course_dirs

    local = isinstance(executor, LocalExecutor)
    courses = [str(c) for c in course_dirs()]
    jobs = []
    for q in questions:
        run_dir = (run_dirs or {}).get(q.id) or run_dir_for(out, profile, q.id)
        jobs.append(Job(q.id, run_question_job, {"question_id": q.id, "profile": profile, "seed": seed, "force": force,
                                                 "run_dir": str(Path(run_dir).resolve()) if local else None,
                                                 "courses": courses, "variant": variant},
                        resources={"GPU": 1} if profile == "full" and not local else {}))
    return jobs


def settle_run(question: Question, outcome, run_dir: Path, local: bool) -> RunOutcome | Failed:
    """A question job's outcome as the run store's :class:`RunOutcome` (files written here for a remote run),
    or a :class:`Failed` saying why (its traceback in ``error.log`` beside the run)."""
    from dlgrade.autograde.worker_jobs import write_run

    reply = outcome.value if outcome.ok and isinstance(outcome.value, dict) else None
    if reply is not None and reply.get("error"):
        return Failed(question, reply["error"])
    if reply is None:
        log = Path(run_dir) / "error.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(outcome.error, encoding="utf-8")
        last = (outcome.error.strip().splitlines() or ["no reason given"])[-1]
        return Failed(question, f"{last} (traceback in {log})")
    if not local:
        write_run(reply, run_dir)
    return RunOutcome(results_mod.load(run_dir), Path(run_dir), False)
