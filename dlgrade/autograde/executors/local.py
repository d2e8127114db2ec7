"""The default executor: jobs in a pool of spawned processes on this machine (TensorFlow does not survive ``fork``)."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import as_completed as _pool_completed
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable, Mapping

from dlgrade.autograde.executors.jobs import MAX_ATTEMPTS, Executor, Job, JobOutcome, execute, lost_message, unpicklable
from dlgrade.autograde.executors.workers import WorkerInfo, probe
from dlgrade.errors import UsageError

_START_QUEUE = None


def _local_init(queue, env: Mapping[str, str] | None = None) -> None:
    global _START_QUEUE
    _START_QUEUE = queue
    os.environ.update(env or {})  # before any job imports TensorFlow (e.g. TF_NUM_INTRAOP_THREADS=1)


def _local_run(key: str, fn: Callable[..., Any], kwargs: Mapping[str, Any]) -> dict:
    # SimpleQueue.put writes synchronously: the parent learns that this job started even if it kills us next.
    _START_QUEUE.put((key, os.getpid()))
    result = execute(fn, kwargs)
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
        env: environment variables set in each pool process before it runs a job (e.g.
            :data:`dlgrade.autograde.worker_jobs.ONE_THREAD_ENV`: one TensorFlow thread per process).
    """

    def __init__(self, workers: int | None = None, max_attempts: int = MAX_ATTEMPTS, log: Callable[[str], None] = print,
                 progress: str = "auto", label: str = "jobs", env: Mapping[str, str] | None = None):
        super().__init__(log, progress, label)
        if workers is not None and (not isinstance(workers, int) or workers < 1):
            raise UsageError(f"local pool size {workers!r}: expected a whole number of processes >= 1")
        self.n = workers or os.cpu_count() or 1
        self.max_attempts = max_attempts
        self.env = dict(env or {})

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
        pool = ProcessPoolExecutor(min(self.n, len(jobs)), mp_context=ctx, initializer=_local_init,
                                   initargs=(queue, self.env))
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
                    why = unpicklable(job) or f"{type(e).__name__}: {e}"
                    r = {"ok": False, "value": None, "seconds": 0.0, "worker": "local",
                         "error": f"could not run in the local pool: {why}"}
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
                    finish(JobOutcome(job.key, False, error=lost_message(lost[job.key]), attempts=starts[job.key],
                                      retried=starts[job.key] > 1, worker=f"local:{pid}",
                                      fingerprint=job.fingerprint, lost_workers=tuple(lost[job.key])))
                    continue
                progress.retrying(job.key)
            elif pid is not None:
                progress.lost(job.key)
            again.append(job)
        return again, finished, cause
