"""Jobs, their outcomes, and the run loop every executor shares (see :mod:`dlgrade.autograde.executors`)."""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Collection, Iterable, Mapping

from dlgrade.autograde.executors.progress import JobProgress
from dlgrade.autograde.executors.workers import WorkerInfo

#: Starts a job gets when workers die under it.
MAX_ATTEMPTS = 2
#: Longest traceback kept in an outcome's ``error``.
_ERROR_CHARS = 8000
_TIMES = {1: "once", 2: "twice"}


@dataclass(frozen=True)
class Job:
    """One independent piece of work.

    Args:
        key: unique in its batch, shown in progress and outcomes (``"alice:hw6.q3"``).
        fn: a top-level function, importable by the workers (no lambda, no nested function).
        kwargs: its keyword arguments: plain data, bytes for files (workers share no filesystem).
        resources: Dask worker resources it needs, e.g. ``{"GPU": 1}`` (ignored by the local pool).
        fingerprint: identifies this job's inputs (code, submission, profile, seed); ``skip`` matches it.
    """

    key: str
    fn: Callable[..., Any]
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    resources: Mapping[str, float] = field(default_factory=dict)
    fingerprint: str = ""

    def __post_init__(self):
        if not isinstance(self.key, str) or not self.key:
            raise ValueError(f"Job key must be a non-empty string; received {self.key!r}")
        qualname = getattr(self.fn, "__qualname__", "")
        module = getattr(self.fn, "__module__", "")
        if not callable(self.fn) or not qualname or "<" in qualname or module in ("", "__main__"):
            raise ValueError(f"Job {self.key!r}: fn must be a top-level function of an importable module, so "
                             f"that workers can import it; received {self.fn!r} (module {module!r}, name {qualname!r})")
        if not isinstance(self.kwargs, Mapping):
            raise ValueError(f"Job {self.key!r}: kwargs must be a mapping; received {type(self.kwargs).__name__}")
        for name, amount in dict(self.resources).items():
            if not isinstance(name, str) or not isinstance(amount, (int, float)) or amount <= 0:
                raise ValueError(f"Job {self.key!r}: resources must map names to positive numbers, like "
                                 f"{{'GPU': 1}}; received {dict(self.resources)!r}")

    @property
    def done_token(self) -> str:
        """What ``skip`` is matched against: the fingerprint, or the key when there is none."""
        return self.fingerprint or self.key


@dataclass
class JobOutcome:
    """How a job ended.

    Attributes:
        key: the job's key.
        ok: it returned (``value`` holds what it returned).
        value: its return value (``None`` unless ``ok``).
        error: why not ``ok``: the job's traceback, ``worker lost twice (...)``, or why it never ran.
        attempts: how many times it started (0 when it never did).
        retried: it started more than once because a worker died under it.
        worker: where it ran last (``tcp://...``, or ``local:PID``).
        seconds: how long the job's function ran on its last attempt.
        fingerprint: the job's fingerprint.
        lost_workers: workers that died while running it, in order.
    """

    key: str
    ok: bool
    value: Any = None
    error: str = ""
    attempts: int = 1
    retried: bool = False
    worker: str = ""
    seconds: float = 0.0
    fingerprint: str = ""
    lost_workers: tuple[str, ...] = ()


def execute(fn: Callable[..., Any], kwargs: Mapping[str, Any]) -> dict:
    """Run one job's function where it lands; its exception becomes data (never a crash of the worker)."""
    t0 = time.perf_counter()
    try:
        value = fn(**kwargs)
    except KeyboardInterrupt:
        raise
    except BaseException as e:  # noqa: BLE001 - SystemExit from a job is its failure too
        try:
            text = "".join(traceback.format_exception(e))
        except Exception:  # noqa: BLE001 - an exception whose message itself fails
            text = f"{type(e).__name__} (its message could not be formatted)"
        if len(text) > _ERROR_CHARS:
            text = "...\n" + text[-_ERROR_CHARS:]
        return {"ok": False, "value": None, "error": text, "seconds": time.perf_counter() - t0}
    return {"ok": True, "value": value, "error": "", "seconds": time.perf_counter() - t0}


def unpicklable(job: Job) -> str:
    """Which of a job's arguments cannot be pickled (so cannot reach a worker), and why; ``""`` if none."""
    import cloudpickle

    for name, value in dict(job.kwargs).items():
        try:
            cloudpickle.dumps(value)
        except Exception as e:  # noqa: BLE001
            return f"argument {name!r} ({type(value).__name__}) cannot be pickled: {type(e).__name__}: {e}"
    return ""


def lost_message(workers: list[str]) -> str:
    times = _TIMES.get(len(workers), f"{len(workers)} times")
    return (f"worker lost {times} ({', '.join(workers)} died while running this job: it crashes or exhausts its "
            f"worker, e.g. memory or os._exit; the workers' logs say more)")


class Executor:
    """Runs independent :class:`Job` s and reports each :class:`JobOutcome` as it arrives.

    Args:
        log: where messages and plain progress lines go.
        progress: ``auto`` (a live bar on a terminal, plain lines when ``CI`` is set or in a pipe),
            ``bar``, ``plain`` or ``off``.
        label: what the jobs are, for the progress lines.
    """

    def __init__(self, log: Callable[[str], None] = print, progress: str = "auto", label: str = "jobs"):
        self.log, self.progress, self.label = log, progress, label

    def run(self, jobs: Iterable[Job], on_done: Callable[[JobOutcome], None] | None = None,
            skip: Collection[str] = ()) -> list[JobOutcome]:
        """Run every job not in ``skip``; call ``on_done(outcome)`` as each one finishes.

        Args:
            jobs: the batch; keys must be unique.
            on_done: called in this thread as each job ends (write its result atomically there). If it
                raises, the error is logged and that outcome is returned with ``ok=False``.
            skip: fingerprints (or keys, for jobs without a fingerprint) of jobs already done.

        Returns:
            The outcomes of the jobs that were run, in the order of ``jobs``.

        Raises:
            ValueError: two jobs share a key. A job's own failure never raises.
        """
        todo, skipped = select(jobs, skip)
        progress = JobProgress(len(todo), skipped, self.progress, self.log, self.label)
        outcomes: dict[str, JobOutcome] = {}

        def finish(outcome: JobOutcome) -> None:
            if on_done is not None:
                try:
                    on_done(outcome)
                except Exception as e:  # noqa: BLE001 - one failed write must not lose the batch
                    self.log(f"{outcome.key}: on_done failed: {type(e).__name__}: {e}\n{traceback.format_exc()}")
                    outcome = replace(outcome, ok=False, error=(outcome.error + "\n" if outcome.error else "")
                                      + f"on_done failed: {type(e).__name__}: {e}")
            progress.finished(outcome.key, outcome.ok, outcome.error)
            outcomes[outcome.key] = outcome

        try:
            if todo:
                self._run(todo, finish, progress)
        finally:
            progress.close()
        return [outcomes[j.key] for j in todo if j.key in outcomes]

    def _run(self, jobs: list[Job], finish: Callable[[JobOutcome], None], progress: JobProgress) -> None:
        raise NotImplementedError

    def workers(self, describe: Callable[[], Any] | None = None) -> list[WorkerInfo]:
        """What each worker is (address, versions, GPUs, whether it is accepted, ``describe()`` there)."""
        raise NotImplementedError

    def close(self) -> None:
        """Release the workers (and the cluster, if this executor started it)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def select(jobs: Iterable[Job], skip: Collection[str]) -> tuple[list[Job], int]:
    jobs = list(jobs)
    seen: set[str] = set()
    for job in jobs:
        if not isinstance(job, Job):
            raise ValueError(f"expected Job objects; received {type(job).__name__}")
        if job.key in seen:
            raise ValueError(f"two jobs share the key {job.key!r}; keys must be unique in a batch")
        seen.add(job.key)
    skip = set(skip)
    todo = [j for j in jobs if j.done_token not in skip]
    return todo, len(jobs) - len(todo)

