"""One seam for independent jobs: a local process pool or a Dask cluster.

``grade --batch`` (one student x question), ``report``/``run --all`` (one question) and ``calibrate`` (one
seed) hand their jobs to an :class:`Executor` and write each result in ``on_done`` as it arrives::

    from dlgrade.autograde.executors import Job, make_executor

    executor = make_executor(scheduler=args.scheduler, scheduler_file=args.scheduler_file, cluster=args.cluster)
    jobs = [Job(f"{student}:{task}", grade_one, {"submission": blob, "task": task}, fingerprint=fp) for ...]
    with executor:
        outcomes = executor.run(jobs, on_done=write_atomically, skip=fingerprints_already_written)

Where jobs run:

- default: :class:`LocalExecutor`, a spawn-context process pool (TensorFlow does not survive ``fork``),
  one process per core;
- ``scheduler="tcp://HOST:8786"``, ``scheduler_file=PATH`` or ``$DASK_SCHEDULER_ADDRESS``: that Dask cluster;
- ``cluster="local:N"``: a Dask ``LocalCluster`` of N one-thread worker processes;
- ``cluster="slurm:N"``: N SLURM jobs through dask-jobqueue's ``SLURMCluster`` (``pip install 'dlgrade[slurm]'``;
  cores, memory, queue, ... come from dask-jobqueue's configuration, ``jobqueue.slurm.*``).

Guarantees, whichever executor runs the jobs:

- A job carries everything it needs (workers share no filesystem): a top-level function importable on the
  workers and plain-data keyword arguments (bytes for files).
- A job's exception is its outcome (``ok=False``, the traceback in ``error``); it is not retried, since it
  would fail again. ``run`` never raises for a job.
- A job whose worker dies under it is run again on another worker, at most twice in all; a job that kills
  its worker both times ends as ``ok=False, error="worker lost twice (...)"``. Nothing is dropped silently.
  On Dask the scheduler reschedules the tasks of a dead worker itself and gives up with ``KilledWorker``
  after ``distributed.scheduler.allowed-failures`` deaths (clusters this module starts set it to 1; start
  your own scheduler with ``DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES=1``). Dask also counts deaths of
  workers a job merely waited on; such a job is sent again. A ledger of each job's starts, kept in the
  scheduler's metadata store, makes the bound exact whatever the scheduler's setting; the job's result
  travels through that ledger too (so it survives its worker), which is why a job should return small
  plain data (scores, verdicts, a results.json, figure bytes), not data sets.
- On Dask, jobs run only on workers whose library versions equal the client's
  (:mod:`dlgrade.autograde.dask_gate`); other workers are refused, with a message naming the versions,
  also when they join later. ``resources={"GPU": 1}`` sends a job only to workers started with
  ``dask worker ... --resources GPU=1`` (the local pool ignores resources).
- Interrupted batches: ``run(..., skip=...)`` leaves out jobs whose ``fingerprint`` (or key, for jobs
  without one) is in ``skip``; the caller keeps the fingerprints of what ``on_done`` wrote.

A cluster of your own (the client must reach the scheduler and the workers; every worker needs dlgrade
and the same library versions as the client)::

    DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES=1 dask scheduler --port 8786
    dask worker tcp://HOST:8786 --nthreads 1 --nworkers 4                  # a CPU node: 4 one-job processes
    CUDA_VISIBLE_DEVICES=0 dask worker tcp://HOST:8786 --nthreads 1 --resources GPU=1   # one per GPU
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import pickle
import re
import signal
import threading
import time
import traceback
import uuid
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import as_completed as _pool_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Collection, Iterable, Mapping

from dlgrade.autograde.job_progress import JobProgress
from dlgrade.autograde.worker_info import (WorkerInfo, describe_differences, library_versions, probe,
                                           version_differences)
from dlgrade.errors import UsageError

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


def _execute(fn: Callable[..., Any], kwargs: Mapping[str, Any]) -> dict:
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


def _lost_message(workers: list[str]) -> str:
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
        todo, skipped = _select(jobs, skip)
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


def _select(jobs: Iterable[Job], skip: Collection[str]) -> tuple[list[Job], int]:
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


# --------------------------------------------------------------------------------------------------
# Local process pool

_START_QUEUE = None


def _local_init(queue) -> None:
    global _START_QUEUE
    _START_QUEUE = queue


def _local_run(key: str, fn: Callable[..., Any], kwargs: Mapping[str, Any]) -> dict:
    # SimpleQueue.put writes synchronously: the parent learns that this job started even if it kills us next.
    _START_QUEUE.put((key, os.getpid()))
    result = _execute(fn, kwargs)
    result["worker"] = f"local:{os.getpid()}"
    return result


class LocalExecutor(Executor):
    """Jobs in a pool of spawned processes on this machine.

    A process that dies (``os._exit``, a signal, the OOM killer) breaks a ``ProcessPoolExecutor``; the pool
    is then started again and every unfinished job sent again. The job that was running in the process that
    died is charged one lost attempt (the others were stopped by the pool and are not charged); after
    ``max_attempts`` lost attempts it ends as ``worker lost twice``.

    Args:
        workers: processes (default: the number of cores).
        max_attempts: starts a job gets when its process dies under it.
        log, progress, label: see :class:`Executor`.
    """

    def __init__(self, workers: int | None = None, max_attempts: int = MAX_ATTEMPTS, log: Callable[[str], None] = print,
                 progress: str = "auto", label: str = "jobs"):
        super().__init__(log, progress, label)
        if workers is not None and (not isinstance(workers, int) or workers < 1):
            raise UsageError(f"local pool size {workers!r}: expected a whole number of processes >= 1")
        self.n = workers or os.cpu_count() or 1
        self.max_attempts = max_attempts

    def __repr__(self):
        return f"LocalExecutor(workers={self.n})"

    def workers(self, describe: Callable[[], Any] | None = None) -> list[WorkerInfo]:
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
            info = pool.submit(probe, describe).result()
        return [WorkerInfo(address="local", nthreads=self.n, **info)]

    def _run(self, jobs, finish, progress):
        lost: dict[str, list[str]] = {}
        starts: dict[str, int] = {}
        waiting = jobs
        while waiting:
            before = sum(len(v) for v in lost.values())
            n_waiting = len(waiting)
            waiting, finished, cause = self._generation(waiting, finish, progress, lost, starts)
            if waiting and not finished and sum(len(v) for v in lost.values()) == before:
                # the pool broke before any job started (e.g. a worker cannot import a job's module)
                for job in waiting:
                    finish(JobOutcome(job.key, False, error=f"the local process pool broke before this job "
                                      f"started: {cause}", attempts=starts.get(job.key, 0),
                                      fingerprint=job.fingerprint, lost_workers=tuple(lost.get(job.key, ()))))
                return
            if waiting:
                self.log(f"a pool process died; restarting the pool for {len(waiting)} of {n_waiting} job(s)")

    def _generation(self, jobs, finish, progress, lost, starts):
        """One pool's life: returns (jobs to send again, how many finished, why the pool broke)."""
        ctx = multiprocessing.get_context("spawn")
        queue = ctx.SimpleQueue()
        running: dict[str, int] = {}
        lock, reading = threading.Lock(), threading.Lock()
        stop = threading.Event()

        def drain() -> None:
            with reading:
                while not queue.empty():
                    key, pid = queue.get()
                    with lock:
                        running[key] = pid
                        starts[key] = starts.get(key, 0) + 1
                    progress.started(key)

        def read_starts() -> None:
            while not stop.wait(0.02):
                drain()
            drain()

        reader = threading.Thread(target=read_starts, name="dlgrade-pool-starts", daemon=True)
        reader.start()
        pool = ProcessPoolExecutor(min(self.n, len(jobs)), mp_context=ctx, initializer=_local_init, initargs=(queue,))
        broken: list[Job] = []
        finished = 0
        cause = ""
        processes = {}
        try:
            futures = {pool.submit(_local_run, job.key, job.fn, dict(job.kwargs)): job for job in jobs}
            for fut in _pool_completed(futures):
                job = futures[fut]
                try:
                    r = fut.result()
                except BrokenProcessPool as e:
                    broken.append(job)
                    cause = str(e.__cause__ or e)
                    continue
                except Exception as e:  # noqa: BLE001 - e.g. arguments or result that cannot be pickled
                    r = {"ok": False, "value": None, "seconds": 0.0, "worker": "local",
                         "error": f"could not run in the local pool: {type(e).__name__}: {e}"}
                drain()  # its start was written before its result: count it
                with lock:
                    running.pop(job.key, None)
                n = max(1, starts.get(job.key, 0))
                finish(JobOutcome(job.key, r["ok"], r["value"], r["error"], n, n > 1, r["worker"], r["seconds"],
                                  job.fingerprint, tuple(lost.get(job.key, ()))))
                finished += 1
            processes = dict(getattr(pool, "_processes", None) or {})
        except BaseException:
            processes = dict(getattr(pool, "_processes", None) or {})
            pool.shutdown(wait=False, cancel_futures=True)
            for p in processes.values():
                p.terminate()
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            stop.set()
            reader.join()
        drain()
        if not broken:
            return [], finished, cause
        # The pool SIGTERMs its other processes when one dies: the ones that ended otherwise died on their own.
        died = {pid for pid, p in processes.items() if p.exitcode not in (None, 0, -signal.SIGTERM)}
        again = []
        for job in broken:
            pid = running.get(job.key)
            if pid is not None and (pid in died or not died):
                lost.setdefault(job.key, []).append(f"local:{pid}")
                progress.lost(job.key)
                if len(lost[job.key]) >= self.max_attempts:
                    finish(JobOutcome(job.key, False, error=_lost_message(lost[job.key]), attempts=starts[job.key],
                                      retried=starts[job.key] > 1, worker=f"local:{pid}",
                                      fingerprint=job.fingerprint, lost_workers=tuple(lost[job.key])))
                    continue
                progress.retrying(job.key)
            elif pid is not None:
                progress.lost(job.key)
            again.append(job)
        return again, finished, cause


# --------------------------------------------------------------------------------------------------
# Dask

_LEDGER = "dlgrade-executor"  # scheduler metadata: [_LEDGER, run id, job key] -> [[worker, state, result], ...]
_STARTED, _FINISHED = "started", "finished"


def _died_under(ledger: list) -> list[str]:
    """Workers where the job started and never finished: they died under it."""
    return [worker for worker, state, _ in ledger if state == _STARTED]


def _dask_run(key: str, run_id: str, topic: str, max_attempts: int, fn: Callable[..., Any],
              kwargs: Mapping[str, Any]) -> str:
    """A job on a Dask worker; its outcome goes to the job's ledger in the scheduler's metadata store.

    Before running the job, record there (synchronously, so that it counts even if the job kills this
    worker next) that it starts here; afterwards, record that it finished, with its pickled result. The
    client reads results from the ledger, never from the worker, so a result survives its worker. A job
    whose ledger says it finished, or that already started ``max_attempts`` times on workers that died
    under it, is not run again: the ledger is per job, so Dask's rescheduling, its recomputing of results
    lost with a worker and the client's resending share one bound and one result.
    """
    from distributed import get_worker
    from distributed.utils import sync

    worker = get_worker()
    path = [_LEDGER, run_id, key]
    ledger = [list(e) for e in sync(worker.loop, worker.scheduler.get_metadata, keys=path, default=[]) or []]
    if any(state == _FINISHED for _, state, _ in ledger) or len(_died_under(ledger)) >= max_attempts:
        return "settled"
    ledger.append([worker.address, _STARTED, None])
    sync(worker.loop, worker.scheduler.set_metadata, keys=path, value=ledger)
    worker.log_event(topic, {"key": key, "worker": worker.address, "attempt": len(ledger)})
    result = _execute(fn, kwargs)
    try:
        payload = pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as e:  # noqa: BLE001
        payload = pickle.dumps({"ok": False, "value": None, "seconds": result["seconds"],
                                "error": f"its return value could not be pickled: {type(e).__name__}: {e}"})
    ledger[-1] = [worker.address, _FINISHED, payload]
    sync(worker.loop, worker.scheduler.set_metadata, keys=path, value=ledger)
    return "finished"


@dataclass
class _Tracked:
    job: Job
    sends: int = 0
    future: Any = None
    waiting_since: float | None = None
    cancel_reason: str = ""
    started: bool = False


class DaskExecutor(Executor):
    """Jobs on a Dask cluster through ``Client.submit``.

    Registers :class:`~dlgrade.autograde.dask_gate.EnvironmentGate` on the cluster: every job asks for
    the gate's resource, so only workers with the client's library versions receive jobs.

    Args:
        client: a connected ``distributed.Client``.
        cluster: the cluster this executor owns (closed with it), if it started one.
        max_attempts: starts a job gets when workers die under it.
        no_worker_timeout: seconds a job may wait while no accepted worker offers the resources it needs
            (e.g. no ``GPU=1`` worker) before it ends with an error; ``None`` waits forever.
        log, progress, label: see :class:`Executor`.
    """

    def __init__(self, client, cluster=None, max_attempts: int = MAX_ATTEMPTS,
                 no_worker_timeout: float | None = 900.0, log: Callable[[str], None] = print,
                 progress: str = "auto", label: str = "jobs"):
        from dlgrade.autograde.dask_gate import GATE_TOPIC, EnvironmentGate

        super().__init__(log, progress, label)
        self.client, self.cluster = client, cluster
        self.gate_topic = GATE_TOPIC
        self.max_attempts = max_attempts
        self.no_worker_timeout = no_worker_timeout
        self.expected = library_versions()
        self.gate = EnvironmentGate(self.expected)
        self.refused: dict[str, str] = {}
        self.client.subscribe_topic(self.gate_topic, self._on_gate_event)
        try:
            self.client.register_plugin(self.gate, name=self.gate.name)
        except Exception as e:  # noqa: BLE001 - a worker that cannot run the gate is refused, not fatal
            self.log(f"the version gate could not start on some worker(s) ({type(e).__name__}: {e}); they get no jobs")
        for info in self.workers():
            if not info.accepted:
                self._refuse(info.address, info.refusal)

    def __repr__(self):
        return f"DaskExecutor({self.client.scheduler.address})"

    def _refuse(self, address: str, why: str) -> None:
        if self.refused.get(address) != why:
            self.refused[address] = why
            self.log(f"worker {address} refused: {why}. It gets no jobs from this client; install the "
                     f"client's versions there ({', '.join(f'{k} {v}' for k, v in sorted(self.expected.items()))})")

    def _on_gate_event(self, event) -> None:
        _, msg = event
        if isinstance(msg, dict) and msg.get("resource") == self.gate.resource and not msg.get("accepted"):
            self._refuse(msg.get("address", "?"), msg.get("refusal", "library versions differ"))

    def workers(self, describe: Callable[[], Any] | None = None) -> list[WorkerInfo]:
        probes = self.client.run(probe, describe, on_error="return")
        sched = self.client.scheduler_info(n_workers=-1).get("workers", {})
        out = []
        for address in sorted(set(probes) | set(sched)):
            s = sched.get(address, {})
            resources = dict(s.get("resources") or {})
            p = probes.get(address)
            if not isinstance(p, dict):
                info = WorkerInfo(address, {}, [], accepted=False,
                                  refusal=f"it could not describe itself ({type(p).__name__}: {p}); is dlgrade "
                                          f"installed there?")
            else:
                diff = version_differences(self.expected, p["versions"])
                gated = self.gate.resource in resources
                refusal = describe_differences(diff) if diff else "" if gated else \
                    "the version gate has not accepted it (yet); see the worker's log"
                info = WorkerInfo(address, p["versions"], p["gpus"], p["host"], accepted=gated and not diff,
                                  refusal=refusal, described=p["described"])
            info.nthreads = int(s.get("nthreads", 1))
            info.resources = {k: v for k, v in resources.items() if not k.startswith("dlgrade-env-")}
            out.append(info)
        return out

    def close(self) -> None:
        try:
            self.client.unsubscribe_topic(self.gate_topic)
        except Exception:  # noqa: BLE001
            pass
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()

    def _run(self, jobs, finish, progress):
        _DaskBatch(self, jobs, finish, progress).run()


class _DaskBatch:
    """One ``DaskExecutor.run``: submits, settles each finished future from the ledger, resends, watches."""

    def __init__(self, executor: DaskExecutor, jobs: list[Job], finish: Callable[[JobOutcome], None],
                 progress: JobProgress):
        from distributed import as_completed

        self.ex, self.client, self.finish, self.progress = executor, executor.client, finish, progress
        self.run_id = uuid.uuid4().hex
        self.topic = f"dlgrade-job-start-{self.run_id}"
        self.tracked = {job.key: _Tracked(job) for job in jobs}
        self.owner: dict[str, _Tracked] = {}  # Dask key -> job, while its future is out
        self.lock = threading.Lock()
        self.done = as_completed(loop=self.client.loop)

    def run(self) -> None:
        self.client.subscribe_topic(self.topic, self._on_start)
        stop = threading.Event()
        watchdog = threading.Thread(target=self._watch, args=(stop,), daemon=True, name="dlgrade-dask-watchdog")
        try:
            for t in self.tracked.values():
                self._submit(t)
            watchdog.start()
            for fut in self.done:
                with self.lock:
                    t = self.owner.pop(fut.key)
                    t.future = None
                self._settle(t, fut)
                fut.release()
        except BaseException:
            with self.lock:
                pending = [t.future for t in self.owner.values() if t.future is not None]
            if pending:
                self.client.cancel(pending)
            raise
        finally:
            stop.set()
            if watchdog.is_alive():
                watchdog.join()
            for cleanup in (lambda: self.client.unsubscribe_topic(self.topic),
                            lambda: self.client.set_metadata([_LEDGER, self.run_id], None)):
                try:
                    cleanup()
                except Exception:  # noqa: BLE001 - the client may be closing
                    pass

    def _on_start(self, event) -> None:
        _, msg = event
        t = self.tracked.get(msg.get("key")) if isinstance(msg, dict) else None
        if t is not None:
            t.started = True
            self.progress.started(t.job.key)
            if msg.get("attempt", 1) == 2:
                self.progress.retrying(t.job.key)

    def _submit(self, t: _Tracked) -> bool:
        job = t.job
        t.sends += 1
        slug = re.sub(r"[^A-Za-z0-9_.]+", "_", job.key)[:60]
        try:
            fut = self.client.submit(_dask_run, job.key, self.run_id, self.topic, self.ex.max_attempts, job.fn,
                                     dict(job.kwargs), key=f"dlgrade_{slug}-{uuid.uuid4().hex}", pure=False,
                                     retries=0, resources={self.ex.gate.resource: 1, **dict(job.resources)})
        except Exception as e:  # noqa: BLE001 - e.g. arguments that cannot be pickled
            self.finish(JobOutcome(job.key, False, error=f"could not be sent to the cluster: {type(e).__name__}: {e}",
                                   attempts=0, fingerprint=job.fingerprint))
            return False
        with self.lock:
            t.future = fut
            self.owner[fut.key] = t
        self.done.add(fut)
        return True

    def _settle(self, t: _Tracked, fut) -> None:
        """A job's future is done: the job's ledger says how it ended (or it is sent again)."""
        from distributed.scheduler import KilledWorker

        path = [_LEDGER, self.run_id, t.job.key]
        problem = ""
        try:
            ledger = [list(e) for e in self.client.get_metadata(path, default=[]) or []]
        except Exception as e:  # noqa: BLE001 - the scheduler went away: say so for this job
            ledger, problem = [], f"its ledger could not be read from the scheduler ({type(e).__name__}: {e})"
        starts = [worker for worker, _, _ in ledger]
        died = _died_under(ledger)
        finished = [e for e in ledger if e[1] == _FINISHED and e[2] is not None]

        def end(ok: bool, error: str, **kw) -> None:
            self.finish(JobOutcome(t.job.key, ok, error=error, attempts=len(starts), retried=len(starts) > 1,
                                   fingerprint=t.job.fingerprint, lost_workers=tuple(died), **kw))

        if finished:
            worker, _, payload = finished[-1]
            r = pickle.loads(payload)
            self.client.set_metadata(path, [[w, state, None] for w, state, _ in ledger])  # free the scheduler
            end(r["ok"], r["error"], value=r["value"], worker=worker, seconds=r["seconds"])
        elif len(died) >= self.ex.max_attempts:
            end(False, _lost_message(died), worker=died[-1])
        elif t.cancel_reason or fut.status == "cancelled":
            end(False, t.cancel_reason or "cancelled on the cluster")
        elif fut.status == "error":
            e = fut.exception()
            if isinstance(e, KilledWorker) and t.sends < self.ex.max_attempts + 3:
                # Dask also counts workers that died while the job only waited on them: send it again
                self.progress.lost(t.job.key)
                self._submit(t)
            else:
                end(False, f"the cluster could not run it: {type(e).__name__}: {e}"
                    + (f" (sent {t.sends} times)" if isinstance(e, KilledWorker) else ""))
        else:
            end(False, problem or f"its task ended ({fut.status}) without a result in its ledger")

    def _watch(self, stop: threading.Event) -> None:
        """Every few seconds: move the ETA, and end jobs no accepted worker can take (never wait silently)."""
        ex, last_check, warned = self.ex, 0.0, set()
        while not stop.wait(1.0):
            self.progress.tick()
            now = time.monotonic()
            if now - last_check < 5.0:
                continue
            last_check = now
            try:
                workers = self.client.scheduler_info(n_workers=-1).get("workers", {}).values()
            except Exception:  # noqa: BLE001 - the client may be closing
                continue
            offers = [dict(w.get("resources") or {}) for w in workers]
            with self.lock:
                waiting = [t for t in self.owner.values() if not t.started]
            stuck: dict[tuple, list[_Tracked]] = {}
            for t in waiting:
                need = {ex.gate.resource: 1, **dict(t.job.resources)}
                if any(all(o.get(r, 0) >= q for r, q in need.items()) for o in offers):
                    t.waiting_since = None
                    continue
                t.waiting_since = t.waiting_since or now
                stuck.setdefault(tuple(sorted(t.job.resources.items())), []).append(t)
            for need, ts in stuck.items():
                what = ", ".join(f"{r}={q:g}" for r, q in need) or "the client's library versions"
                if need not in warned:
                    warned.add(need)
                    ex.log(f"{len(ts)} job(s) wait for an accepted worker offering {what}; none of the "
                           f"{len(offers)} worker(s) connected is one" + (f" ({len(ex.refused)} refused)"
                                                                          if ex.refused else ""))
                if ex.no_worker_timeout is None:
                    continue
                expired = [t for t in ts if now - t.waiting_since >= ex.no_worker_timeout and t.future is not None]
                for t in expired:
                    t.cancel_reason = (f"no accepted worker offering {what} joined within {ex.no_worker_timeout:g} s"
                                       f" (start one, e.g. `dask worker SCHEDULER --resources GPU=1` for GPU jobs)")
                if expired:
                    self.client.cancel([t.future for t in expired])


# --------------------------------------------------------------------------------------------------
# Choosing an executor

_ADDRESS = re.compile(r"^(?:(?P<scheme>tcp|tls|ws|wss|ucx)://)?(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+)"
                      r":(?P<port>\d{1,5})/?$")
_CLUSTER = re.compile(r"^(?P<kind>[A-Za-z]+):(?P<n>-?\d+)$")


def parse_scheduler_address(address: str, source: str = "--scheduler") -> str:
    """``tcp://HOST:PORT`` from ``HOST:PORT`` or a full address; a :class:`UsageError` for anything else."""
    m = _ADDRESS.match(address.strip()) if isinstance(address, str) else None
    if not m or not 0 < int(m["port"]) < 65536:
        raise UsageError(f"{source} {address!r}: not a Dask scheduler address; expected tcp://HOST:PORT, "
                         f"e.g. tcp://10.0.0.5:8786 (the address `dask scheduler` prints)")
    return f"{m['scheme'] or 'tcp'}://{m['host']}:{int(m['port'])}"


def _connect(source: str, timeout: float, address: str | None = None, scheduler_file: str | None = None):
    from distributed import Client

    where = address or f"the address in {scheduler_file}"
    try:
        return Client(address, scheduler_file=scheduler_file, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError) as e:
        raise UsageError(f"could not reach the Dask scheduler at {where} (from {source}) within {timeout:g} s: {e}. "
                         f"Is `dask scheduler` running there, and is its port open from this machine? Start one with "
                         f"`DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES=1 dask scheduler --port 8786` and workers "
                         f"with `dask worker tcp://HOST:8786 --nthreads 1`.") from None


def make_cluster(spec: str, log: Callable[[str], None] = print):
    """Start the Dask cluster ``spec`` names: ``local:N`` (LocalCluster) or ``slurm:N`` (dask-jobqueue).

    Both start with ``distributed.scheduler.allowed-failures = 1`` (a job gets two attempts when workers die).

    Raises:
        UsageError: a malformed spec, N < 1, an unknown kind, dask-jobqueue missing or not configured.
    """
    import dask

    m = _CLUSTER.match(spec.strip()) if isinstance(spec, str) else None
    if not m or m["kind"] not in ("local", "slurm"):
        raise UsageError(f"--cluster {spec!r}: expected local:N (N Dask worker processes on this machine) or "
                         f"slurm:N (N SLURM jobs through dask-jobqueue)")
    kind, n = m["kind"], int(m["n"])
    if n < 1:
        raise UsageError(f"--cluster {spec!r}: the number of workers must be at least 1")
    with dask.config.set({"distributed.scheduler.allowed-failures": MAX_ATTEMPTS - 1}):
        if kind == "local":
            from distributed import LocalCluster

            log(f"starting a Dask LocalCluster of {n} worker process(es), 1 thread each")
            return LocalCluster(n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1",
                                dashboard_address=None, worker_dashboard_address=None,
                                scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"})
        try:
            from dask_jobqueue import SLURMCluster
        except ImportError:
            raise UsageError(f"--cluster {spec}: dask-jobqueue is not installed; install it with "
                             f"`pip install 'dlgrade[slurm]'` (or `pip install dask-jobqueue`)") from None
        try:
            cluster = SLURMCluster()
        except (ValueError, TypeError) as e:
            raise UsageError(f"--cluster {spec}: dask-jobqueue's SLURMCluster is not configured: {e}. Set at least "
                             f"jobqueue.slurm.cores and jobqueue.slurm.memory (and queue, account, walltime; for GPU "
                             f"workers worker_extra_args: ['--resources', 'GPU=1'] and job_extra_directives: "
                             f"['--gres=gpu:1']) in ~/.config/dask/jobqueue.yaml, or as DASK_JOBQUEUE__SLURM__CORES=... "
                             f"environment variables") from None
        log(f"asking SLURM for {n} Dask worker job(s)")
        cluster.scale(jobs=n)
        return cluster


def make_executor(scheduler: str | None = None, scheduler_file: str | None = None, cluster: str | None = None,
                  workers: int | None = None, log: Callable[[str], None] = print, *, progress: str = "auto",
                  connect_timeout: float = 10.0, no_worker_timeout: float | None = 900.0,
                  label: str = "jobs") -> Executor:
    """The executor the options ask for (see the module docstring); the local pool when none is given.

    Args:
        scheduler: a Dask scheduler address, ``tcp://HOST:PORT``.
        scheduler_file: the JSON file ``dask scheduler --scheduler-file`` wrote.
        cluster: ``local:N`` or ``slurm:N``: start that cluster (closed with the executor).
        workers: processes of the local pool (default: the number of cores).
        log: where messages go.
        progress: see :class:`Executor`.
        connect_timeout: seconds to wait for the scheduler.
        no_worker_timeout: see :class:`DaskExecutor`.

    Without any of ``scheduler``, ``scheduler_file`` or ``cluster``, ``$DASK_SCHEDULER_ADDRESS`` is used when set.

    Raises:
        UsageError: several places given, a malformed address or cluster spec, a missing scheduler file,
            an unreachable scheduler, ``slurm:N`` without dask-jobqueue.
    """
    given = [name for name, value in (("--scheduler", scheduler), ("--scheduler-file", scheduler_file),
                                      ("--cluster", cluster)) if value]
    if len(given) > 1:
        raise UsageError(f"{' and '.join(given)} were both given; choose one place for the jobs to run")
    source = given[0] if given else ""
    if not given and os.environ.get("DASK_SCHEDULER_ADDRESS"):
        scheduler, source = os.environ["DASK_SCHEDULER_ADDRESS"], "DASK_SCHEDULER_ADDRESS"
    if (scheduler or scheduler_file or cluster) and workers is not None:
        raise UsageError(f"a pool size ({workers}) only applies to the local pool; with {source or 'a cluster'} the "
                         f"cluster's workers are set where it is started (cluster=local:N / slurm:N)")
    options = dict(log=log, progress=progress, label=label)
    if scheduler:
        address = parse_scheduler_address(scheduler, source)
        client = _connect(source, connect_timeout, address=address)
        log(f"jobs go to the Dask scheduler at {address}")
        return DaskExecutor(client, no_worker_timeout=no_worker_timeout, **options)
    if scheduler_file:
        if not os.path.isfile(scheduler_file):
            raise UsageError(f"--scheduler-file {scheduler_file}: no such file. Start the scheduler with "
                             f"`dask scheduler --scheduler-file {scheduler_file}` on a filesystem this machine sees")
        client = _connect(source, connect_timeout, scheduler_file=scheduler_file)
        log(f"jobs go to the Dask scheduler at {client.scheduler.address} (from {scheduler_file})")
        return DaskExecutor(client, no_worker_timeout=no_worker_timeout, **options)
    if cluster:
        from distributed import Client

        started = make_cluster(cluster, log)
        try:
            client = Client(started, set_as_default=False, timeout=connect_timeout)
            return DaskExecutor(client, cluster=started, no_worker_timeout=no_worker_timeout, **options)
        except BaseException:
            started.close()
            raise
    return LocalExecutor(workers, log=log, progress=progress, label=label)


def add_executor_arguments(parser: argparse.ArgumentParser) -> None:
    """``--scheduler``, ``--scheduler-file``, ``--cluster`` and ``--jobs`` for a command that runs jobs."""
    g = parser.add_argument_group("where jobs run (default: a local process pool)")
    where = g.add_mutually_exclusive_group()
    where.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                       help="a running Dask scheduler (default: $DASK_SCHEDULER_ADDRESS when set)")
    where.add_argument("--scheduler-file", metavar="PATH", help="the file `dask scheduler --scheduler-file` wrote")
    where.add_argument("--cluster", metavar="local:N|slurm:N",
                       help="start a Dask cluster: N local worker processes, or N SLURM jobs (needs dlgrade[slurm])")
    g.add_argument("--jobs", type=int, metavar="N", help="local pool size (default: one per core)")


def executor_from_args(args: argparse.Namespace, log: Callable[[str], None] = print, **kwargs) -> Executor:
    """:func:`make_executor` from the options :func:`add_executor_arguments` added."""
    return make_executor(scheduler=args.scheduler, scheduler_file=args.scheduler_file, cluster=args.cluster,
                         workers=args.jobs, log=log, **kwargs)
