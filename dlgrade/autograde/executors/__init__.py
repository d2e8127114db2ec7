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
  (:mod:`dlgrade.autograde.executors.gate`); other workers are refused, with a message naming the versions,
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
import os
import re
from typing import Callable

from dlgrade.autograde.executors.dask_cluster import DaskExecutor
from dlgrade.autograde.executors.jobs import MAX_ATTEMPTS, Executor, Job, JobOutcome
from dlgrade.autograde.executors.local import LocalExecutor
from dlgrade.errors import UsageError

__all__ = ["Job", "JobOutcome", "Executor", "LocalExecutor", "DaskExecutor", "make_executor", "make_cluster",
           "parse_scheduler_address", "add_executor_arguments", "executor_from_args", "MAX_ATTEMPTS"]

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
                  label: str = "jobs", local_env: dict[str, str] | None = None) -> Executor:
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
        local_env: environment of the local pool's processes (see :class:`LocalExecutor`).

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
    return LocalExecutor(workers, log=log, progress=progress, label=label, env=local_env)


def add_executor_arguments(parser: argparse.ArgumentParser) -> None:
    """``--scheduler``, ``--scheduler-file``, ``--cluster`` and ``--workers`` (alias ``--jobs``, ``-j``) for a
    command that runs jobs."""
    g = parser.add_argument_group("where jobs run (default: a local process pool)")
    where = g.add_mutually_exclusive_group()
    where.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                       help="a running Dask scheduler (default: $DASK_SCHEDULER_ADDRESS when set)")
    where.add_argument("--scheduler-file", metavar="PATH", help="the file `dask scheduler --scheduler-file` wrote")
    where.add_argument("--cluster", metavar="local:N|slurm:N",
                       help="start a Dask cluster: N local worker processes, or N SLURM jobs (needs dlgrade[slurm])")
    g.add_argument("--workers", "--jobs", "-j", dest="jobs", type=int, metavar="N",
                   help="local pool size (default: one process per core, at most one per job)")


def executor_from_args(args: argparse.Namespace, log: Callable[[str], None] = print, **kwargs) -> Executor:
    """:func:`make_executor` from the options :func:`add_executor_arguments` added."""
    return make_executor(scheduler=args.scheduler, scheduler_file=args.scheduler_file, cluster=args.cluster,
                         workers=args.jobs, log=log, **kwargs)
