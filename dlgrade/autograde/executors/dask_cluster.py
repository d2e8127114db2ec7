"""Jobs on a Dask cluster: ``Client.submit``, a per-job ledger in the scheduler, the version gate, a watchdog.

Each job runs through :func:`_dask_run`, which keeps the job's *ledger* in the scheduler's metadata store
(``[_LEDGER, run id, job key]``): a list of ``[worker, "started" | "finished", pickled result]``. The ledger
is written synchronously before the job runs, so a start counts even if the job kills its worker next; it
bounds the attempts of a job across Dask's rescheduling, Dask's recomputing of results lost with a worker
and the client's resending; and it carries the result, which the client reads from the scheduler rather
than from the worker, so a result survives its worker. Dask futures serve only as the signal that a job
is done.
"""

from __future__ import annotations

import pickle
import re
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from dlgrade.autograde.executors.progress import JobProgress
from dlgrade.autograde.executors.jobs import MAX_ATTEMPTS, Executor, Job, JobOutcome, execute, lost_message, unpicklable
from dlgrade.autograde.executors.workers import WorkerInfo, describe_differences, library_versions, probe, version_differences

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
    result = execute(fn, kwargs)
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

    Registers :class:`~dlgrade.autograde.executors.gate.EnvironmentGate` on the cluster: every job asks for
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
        from dlgrade.autograde.executors.gate import GATE_TOPIC, EnvironmentGate

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
            why = unpicklable(job) or f"{type(e).__name__}: {e}"
            self.finish(JobOutcome(job.key, False, error=f"could not be sent to the cluster: {why}", attempts=0,
                                   fingerprint=job.fingerprint))
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
            end(False, lost_message(died), worker=died[-1])
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
