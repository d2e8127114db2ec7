"""The jobs ``grade --batch``, ``report``/``run --all`` and ``calibrate`` send to an executor (run on a worker).

Each job takes plain data (a submission's staged files as bytes, a question id, the grading options, a seed)
and returns plain data: a question's grade record, or a run's ``results.json`` text and figure bytes. Workers
share nothing with the client but the scheduler; datasets resolve on each worker as on the client
(``DLGRADE_DATA``). The client writes everything to disk (:mod:`dlgrade.autograde.batch`, :mod:`dlgrade.pipeline`).

This module imports nothing heavy at import time: a pool process sets its TensorFlow threads first.
"""

from __future__ import annotations

import functools
import os
import socket
import tempfile
from dataclasses import asdict, replace
from pathlib import Path
from typing import Sequence

#: Environment a one-thread job process needs before TensorFlow is imported.
ONE_THREAD_ENV = {"TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1", "OMP_NUM_THREADS": "1"}


def use_courses(courses: Sequence[str]) -> None:
    """Load the client's course folders here too, so that their questions resolve by id on this worker."""
    from dlgrade.questions import course_dirs, set_courses

    wanted = [Path(c) for c in courses]
    if [Path(c) for c in course_dirs()] != wanted:
        set_courses(wanted)


@functools.lru_cache(maxsize=1)
def whoami() -> dict:
    """This worker: host, process id, library versions, GPUs (probed once per process)."""
    from dlgrade.autograde.executors.workers import gpus, library_versions

    return {"host": socket.gethostname(), "pid": os.getpid(), "versions": library_versions(), "gpus": gpus()}


def describe_worker() -> dict:
    """What a worker says about itself before a batch: its sandbox protections (see ``sandbox.protections``)."""
    from dlgrade.autograde import sandbox

    p = sandbox.protections()
    return {"protections": p.mode, "inactive": [i.name for i in p.items if not i.active]}


def grade_question_job(student: str, files: dict[str, bytes], skipped: dict[str, str], task_ids: Sequence[str],
                       question_id: str, options, courses: Sequence[str] = ()) -> dict:
    """Grade one question of one student's staged submission here.

    Args:
        student: the student's name (for logs).
        files: the submission's files, as :func:`dlgrade.autograde.staging.stage` read them on the client.
        skipped: what staging left out, and why.
        task_ids: every question graded in the batch (a file is matched to a question among these).
        question_id: the question this job grades.
        options: :class:`dlgrade.autograde.submission.Options` (its ``references`` hold this question's only).
        courses: the client's course folders.

    Returns:
        ``{"task": TaskGrade as a dict, "protections": this worker's sandbox protections, "worker": whoami()}``.
    """
    use_courses(courses)
    from dlgrade.autograde import sandbox
    from dlgrade.autograde.sources import find_sources
    from dlgrade.autograde.staging import Staged
    from dlgrade.autograde.submission import grade_question, question_max
    from dlgrade.questions import get_question

    staged = Staged(dict(files), dict(skipped))
    questions = [get_question(t) for t in task_ids]
    q = get_question(question_id)
    try:
        sources = find_sources(staged, questions)
    except Exception:  # noqa: BLE001 - grade_question fails closed on it again, with the reason
        sources = None
    tg = grade_question(q, staged, options, sources=sources)
    tg.weight = question_max(q, "code", options)
    return {"task": task_grade_to_dict(tg), "protections": sandbox.protections().to_dict(), "worker": whoami()}


def task_grade_to_dict(tg) -> dict:
    from dlgrade.results import to_jsonable

    return to_jsonable(asdict(tg))


def task_grade_from_dict(d: dict):
    """A :class:`TaskGrade` back from :func:`task_grade_to_dict` (a worker's reply, or the batch's resume store)."""
    from dlgrade.autograde.submission import TaskGrade
    from dlgrade.rubric import GradedCheck

    d = dict(d)
    d["checks"] = [GradedCheck(**c) for c in d["checks"]]
    return TaskGrade(**d)


def _one_thread() -> None:
    for k, v in ONE_THREAD_ENV.items():
        os.environ.setdefault(k, v)


def run_question_job(question_id: str, profile: str, seed: int, force: bool = False, run_dir: str | None = None,
                     courses: Sequence[str] = (), one_thread: bool = True, variant: str | None = None) -> dict:
    """Run one question (the reference, or its ``variant`` module, e.g. ``broken``) here and return what the run
    store keeps of it.

    Args:
        question_id, profile, seed, force: as ``dlgrade run``.
        run_dir: the run folder, when this worker shares the client's filesystem (the local pool: a tuner's
            state then survives an interrupted run); ``None`` runs in a temporary folder.
        courses: the client's course folders.
        one_thread: ask TensorFlow for one thread (effective when TensorFlow is not yet imported here).

    Returns:
        ``{"results": results.json text, "files": {relative path: bytes} of its figures, "error": ""}``,
        or ``{"error": why}`` for a question that cannot run (missing data, bad config): a clean message.
    """
    if one_thread:
        _one_thread()
    use_courses(courses)
    from dlgrade import results as results_mod
    from dlgrade.errors import DlgradeError
    from dlgrade.progress import Progress
    from dlgrade.questions import get_question
    from dlgrade.runstore import run_question

    q = get_question(question_id)
    with tempfile.TemporaryDirectory(prefix="dlgrade-run-") as tmp:
        where = Path(run_dir) if run_dir else Path(tmp) / "run"
        try:
            outcome = run_question(q, profile, seed, force=force, run_dir=where,
                                   progress=Progress(f"{q.id} seed {seed}", plain=True),
                                   fns=q.module(variant) if variant else None, overrides_digest=variant or "")
        except DlgradeError as e:
            return {"error": str(e), "worker": whoami()}
        text = (where / results_mod.RESULTS_FILE).read_text(encoding="utf-8")
        files = {rel: (where / rel).read_bytes() for rel in results_mod.figure_files(outcome.result)}
    return {"results": text, "files": files, "error": "", "worker": whoami()}


def write_run(reply: dict, run_dir: Path) -> None:
    """Write a :func:`run_question_job` reply into ``run_dir`` on the client: figures first, each through a
    temporary file and ``os.replace``; ``results.json`` last (a run folder with it is complete)."""
    from dlgrade.results import RESULTS_FILE

    run_dir = Path(run_dir)
    root = run_dir.resolve()
    for rel, data in reply.get("files", {}).items():
        target = (run_dir / rel).resolve()
        if root not in target.parents:
            raise ValueError(f"a run's figure path {rel!r} leaves its run folder {run_dir}")
        atomic_write(target, data)
    atomic_write(run_dir / RESULTS_FILE, reply["results"].encode("utf-8"))


def atomic_write(path: Path, data: bytes) -> None:
    """``path`` holds its old bytes or ``data``, never half of them."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def options_for(options, question_id: str):
    """``options`` with only the reference run of ``question_id`` (a job carries what it needs, no more)."""
    refs = options.references or {}
    return replace(options, references={question_id: refs[question_id]} if question_id in refs else {})
