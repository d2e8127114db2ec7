"""The executor seam: a local spawn pool and real Dask clusters on 127.0.0.1 (scheduler and workers started
as subprocesses with the ``dask`` command, stopped with their process groups)."""

from __future__ import annotations

import ctypes
import faulthandler
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import types
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # the job functions' module, importable here and (via PYTHONPATH) on the workers
    sys.path.insert(0, str(HERE))

import executor_test_jobs as J  # noqa: E402

from dlgrade.autograde import executors  # noqa: E402
from dlgrade.autograde.executors import Job, LocalExecutor, make_cluster, make_executor  # noqa: E402
from dlgrade.autograde.executors.workers import library_versions  # noqa: E402
from dlgrade.errors import UsageError  # noqa: E402

DASK = Path(sys.executable).with_name("dask")
#: A test of this module that runs longer than this ends the test process, with every thread's traceback
#: (a hung cluster must not hang CI); the Dask processes die with it (parent-death signal).
HANG_LIMIT_S = 240


@pytest.fixture(autouse=True)
def _no_hang():
    faulthandler.dump_traceback_later(HANG_LIMIT_S, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()


def _die_with_parent() -> None:
    """In a child, before exec: get SIGTERM when the test process dies (Linux)."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class DaskProcesses:
    """A ``dask scheduler`` and ``dask worker`` processes on 127.0.0.1, each in its own process group."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.procs: list[subprocess.Popen] = []
        self.env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")])),
                    "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "1", "TF_CPP_MIN_LOG_LEVEL": "2"}
        self.port = _free_port()
        self.address = f"tcp://127.0.0.1:{self.port}"
        self.scheduler_file = tmp / "scheduler.json"
        self._stopped = threading.Event()

    def _spawn(self, name: str, *args: str) -> subprocess.Popen:
        log = open(self.tmp / f"{name}.log", "w")
        p = subprocess.Popen([str(DASK), *args], stdout=log, stderr=subprocess.STDOUT, env=self.env,
                             cwd=self.tmp, start_new_session=True, preexec_fn=_die_with_parent)
        log.close()
        self.procs.append(p)
        return p

    def scheduler(self) -> None:
        self._spawn("scheduler", "scheduler", "--host", "127.0.0.1", "--port", str(self.port), "--no-dashboard",
                    "--dashboard-address", "127.0.0.1:0", "--scheduler-file", str(self.scheduler_file))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"dask scheduler did not listen on {self.address}: {(self.tmp / 'scheduler.log').read_text()}")

    def worker(self, name: str, *extra: str) -> subprocess.Popen:
        (self.tmp / name).mkdir(exist_ok=True)
        return self._spawn(name, "worker", self.address, "--host", "127.0.0.1", "--nthreads", "1", "--no-dashboard",
                           "--dashboard-address", "127.0.0.1:0",
                           "--name", name, "--local-directory", str(self.tmp / name), *extra)

    def worker_later(self, delay_s: float, name: str, *extra: str) -> None:
        """Start a worker ``delay_s`` from now, from a thread that lives until :meth:`stop` (the parent-death
        signal follows the spawning thread, not the process)."""
        def spawn():
            time.sleep(delay_s)
            self.worker(name, *extra)
            self._stopped.wait()

        threading.Thread(target=spawn, daemon=True).start()

    def wait_for_workers(self, n: int, timeout: float = 60) -> dict:
        from distributed import Client

        with Client(self.address, set_as_default=False, timeout=30) as c:
            c.wait_for_workers(n, timeout=timeout)
            return c.scheduler_info(n_workers=-1)["workers"]

    def stop(self) -> None:
        for p in reversed(self.procs):
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for p in self.procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
            deadline = time.monotonic() + 10  # the nanny's children go with it
            while time.monotonic() < deadline:
                try:
                    os.killpg(p.pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.1)
            else:
                os.killpg(p.pid, signal.SIGKILL)
        self._stopped.set()


@pytest.fixture
def dask_processes(tmp_path):
    procs = DaskProcesses(tmp_path)
    yield procs
    procs.stop()
    for p in procs.procs:  # nothing left behind
        with pytest.raises(ProcessLookupError):
            os.killpg(p.pid, 0)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A scheduler, a CPU worker and a worker started with ``--resources GPU=1``."""
    procs = DaskProcesses(tmp_path_factory.mktemp("dask"))
    try:
        procs.scheduler()
        procs.worker("cpu")
        procs.worker("gpu", "--resources", "GPU=1")
        workers = procs.wait_for_workers(2)
        procs.gpu_address = next(a for a, w in workers.items() if w.get("resources", {}).get("GPU"))
        procs.cpu_address = next(a for a in workers if a != procs.gpu_address)
        yield procs
    finally:
        procs.stop()


def _summary(outcomes):
    return [(o.key, o.ok, o.value, (o.error.strip().splitlines() or [""])[-1], o.attempts, o.retried) for o in outcomes]


def _batch():
    return [Job(f"square-{i}", J.square, {"x": i}) for i in range(8)] + [Job("bad", J.fail, {"message": "bad input"})]


# --------------------------------------------------------------------------------------------------
# Dask and the local pool agree


def test_dask_cluster_gives_the_same_outcomes_as_the_local_pool(cluster):
    seen = {"dask": [], "local": []}
    with make_executor(scheduler=cluster.address, progress="off", log=lambda m: None) as dask:
        dask_out = dask.run(_batch(), on_done=lambda o: seen["dask"].append(o.key))
        infos = dask.workers(describe=J.describe_here)
    local_out = LocalExecutor(2, progress="off").run(_batch(), on_done=lambda o: seen["local"].append(o.key))

    assert _summary(dask_out) == _summary(local_out)
    assert [o.value for o in dask_out[:8]] == [i * i for i in range(8)]
    assert not dask_out[-1].ok and dask_out[-1].error.strip().endswith("ValueError: bad input")
    assert dask_out[-1].attempts == 1 and not dask_out[-1].retried  # a job's own error is not retried
    assert sorted(seen["dask"]) == sorted(seen["local"]) == sorted(j.key for j in _batch())
    assert {o.worker for o in dask_out} <= {cluster.cpu_address, cluster.gpu_address}
    assert all(o.worker.startswith("local:") for o in local_out)

    assert sorted(i.address for i in infos) == sorted([cluster.cpu_address, cluster.gpu_address])
    for info in infos:
        assert info.accepted and not info.refusal
        assert info.versions == library_versions()
        assert info.described["probe"] == "sandbox-ok" and info.described["pid"] > 0
        assert info.gpus == []  # no nvidia-smi here
    assert {i.address: i.resources for i in infos} == {cluster.cpu_address: {}, cluster.gpu_address: {"GPU": 1}}


def test_scheduler_file_and_environment_address_reach_the_same_cluster(cluster, monkeypatch):
    lines = []
    with make_executor(scheduler_file=str(cluster.scheduler_file), progress="off", log=lines.append) as ex:
        assert [o.value for o in ex.run([Job("nine", J.square, {"x": 3})])] == [9]
    assert lines[0] == f"jobs go to the Dask scheduler at {cluster.address} (from {cluster.scheduler_file})"
    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", cluster.address)
    with make_executor(progress="off", log=lines.append) as ex:
        assert len(ex.workers()) == 2


def test_results_come_back_unchanged_through_the_scheduler(cluster):
    with make_executor(scheduler=cluster.address, progress="off", log=lambda m: None) as ex:
        [out] = ex.run([Job("figure", J.blob, {"n": 4 << 20})])
    assert out.ok and out.value == J.blob(4 << 20)  # 4 MiB of bytes, and the tuple is still a tuple


def test_gpu_jobs_land_only_on_the_worker_started_with_a_gpu_resource(cluster):
    jobs = [Job(f"gpu-{i}", J.square, {"x": i, "sleep_s": 0.05}, resources={"GPU": 1}) for i in range(5)]
    jobs += [Job(f"cpu-{i}", J.square, {"x": i, "sleep_s": 0.05}) for i in range(5)]
    with make_executor(scheduler=cluster.address, progress="off", log=lambda m: None) as ex:
        out = ex.run(jobs)
    assert all(o.ok for o in out)
    assert {o.worker for o in out if o.key.startswith("gpu")} == {cluster.gpu_address}


def _timed_run(ex, jobs):
    stamps = []
    t0 = time.perf_counter()
    out = ex.run(jobs, on_done=lambda o: stamps.append(time.perf_counter()))
    assert len(out) == len(jobs) and all(o.ok for o in out)
    return time.perf_counter() - t0, stamps


def test_per_job_overhead_of_the_scheduler_and_the_local_pool(cluster):
    """200 jobs that do nothing, on 2 one-thread Dask workers and on a 2-process local pool."""
    jobs = [Job(f"nothing-{i}", J.nothing) for i in range(200)]
    with make_executor(scheduler=cluster.address, progress="off", log=lambda m: None) as dask:
        dask.run(jobs[:10])  # the workers import the job module once
        wall, stamps = _timed_run(dask, jobs)
    gap_ms = 1000 * statistics.median(b - a for a, b in zip(stamps, stamps[1:]))
    print(f"\nper-job overhead, Dask (2 workers): {1000 * wall / 200:.2f} ms of wall time per job, "
          f"median {gap_ms:.2f} ms between two completions (200 no-op jobs)")
    pool = LocalExecutor(2, progress="off")
    start, _ = _timed_run(pool, jobs[:1])  # starting the pool: spawned interpreters
    wall, _ = _timed_run(pool, jobs)
    print(f"per-job overhead, local pool (2 processes): {1000 * (wall - start) / 199:.2f} ms per job "
          f"after {1000 * start:.0f} ms to start the pool (200 no-op jobs)")
    assert 1000 * (wall - start) / 199 < 50 and gap_ms < 100  # generous: a shared 2-core machine


# --------------------------------------------------------------------------------------------------
# Faults


def _fault_batch(tmp_path):
    return ([Job(f"square-{i}", J.square, {"x": i, "sleep_s": 0.1}) for i in range(8)]
            + [Job("dies-once", J.die_once, {"marker": str(tmp_path / "died-once"), "value": 42}),
               Job("always-dies", J.always_die), Job("raises", J.fail, {"message": "deterministic"})])


def _check_fault_outcomes(out):
    by = {o.key: o for o in out}
    assert len(out) == 11  # nothing lost
    for i in range(8):
        assert by[f"square-{i}"].ok and by[f"square-{i}"].value == i * i
    once = by["dies-once"]
    assert once.ok and once.value == 42 and once.retried and once.attempts == 2
    assert len(once.lost_workers) == 1 and once.lost_workers[0] != once.worker
    always = by["always-dies"]
    assert not always.ok and always.error.startswith("worker lost twice (") and always.attempts == 2
    assert always.retried and len(set(always.lost_workers)) == 2
    raises = by["raises"]  # (the local pool may stop it, innocent, when another process dies: not charged)
    assert not raises.ok and "ValueError: deterministic" in raises.error and not raises.lost_workers
    return by


def test_dask_retries_a_job_whose_worker_died_and_gives_up_on_one_that_always_kills_it(dask_processes, tmp_path):
    dask_processes.scheduler()
    dask_processes.worker("w1")
    dask_processes.worker("w2")
    dask_processes.wait_for_workers(2)
    lines = []
    with make_executor(scheduler=dask_processes.address, progress="plain", log=lines.append) as ex:
        out = ex.run(_fault_batch(tmp_path))
    by = _check_fault_outcomes(out)
    assert by["raises"].attempts == 1 and not by["raises"].retried  # one-thread workers: nothing innocent dies
    assert any("always-dies: FAILED: worker lost twice" in line for line in lines)
    assert lines[-1].startswith("11/11 jobs done") and "2 failed" in lines[-1]


def test_local_pool_retries_a_job_whose_process_died_and_gives_up_on_one_that_always_kills_it(tmp_path):
    lines = []
    out = LocalExecutor(2, progress="plain", log=lines.append).run(_fault_batch(tmp_path))
    _check_fault_outcomes(out)
    assert any("restarting the pool" in line for line in lines)


# --------------------------------------------------------------------------------------------------
# Version gate


def test_a_worker_with_other_library_versions_is_refused_also_when_it_joins_later(dask_processes):
    dask_processes.scheduler()
    lines = []
    ex = make_executor(scheduler=dask_processes.address, progress="off", log=lines.append, no_worker_timeout=60)
    try:
        dask_processes.worker("old-numpy", "--preload", "executor_test_old_numpy")  # joins after the client
        deadline = time.monotonic() + 60
        while not any("refused" in line for line in lines) and time.monotonic() < deadline:
            time.sleep(0.1)
        refusal = next((line for line in lines if "refused" in line), None)
        assert refusal, (lines, ex.client.get_events("dlgrade-environment-gate"))
        assert f"numpy {library_versions()['numpy']} on the client but 1.26.4 here" in refusal

        # the jobs wait; a matching worker that joins while they wait gets all of them
        dask_processes.worker_later(0.5, "matching")
        out = ex.run([Job(f"pid-{i}", J.where_am_i) for i in range(6)])
        infos = {i.address: i for i in ex.workers()}
    finally:
        ex.close()
    old = next(i for i in infos.values() if not i.accepted)
    good = next((i for i in infos.values() if i.accepted), None)
    assert good, (infos, out, lines)
    assert "numpy" in old.refusal and old.versions["numpy"] == "1.26.4"
    assert all(o.ok for o in out) and {o.worker for o in out} == {good.address}


# --------------------------------------------------------------------------------------------------
# Choosing an executor


def test_local_cluster_spec_starts_a_dask_local_cluster_with_one_allowed_failure():
    with make_executor(cluster="local:2", progress="off", log=lambda m: None) as ex:
        assert ex.client.run_on_scheduler(lambda dask_scheduler: dask_scheduler.allowed_failures) == 1
        assert len(ex.workers()) == 2
        out = ex.run([Job(f"square-{i}", J.square, {"x": i}) for i in range(4)])
        cluster = ex.cluster
    assert [o.value for o in out] == [0, 1, 4, 9]
    assert cluster.status.name == "closed"


def test_default_is_the_local_pool():
    ex = make_executor(workers=3)
    assert isinstance(ex, LocalExecutor) and ex.n == 3


@pytest.mark.parametrize("address", ["tcp://10.0.0.5", "http://10.0.0.5:8786", "not an address", "tcp://h:99999"])
def test_a_malformed_scheduler_address_is_a_usage_error(address):
    with pytest.raises(UsageError, match=r"not a Dask scheduler address; expected tcp://HOST:PORT"):
        make_executor(scheduler=address)


def test_an_unreachable_scheduler_is_a_usage_error_after_the_timeout():
    port = _free_port()  # nothing listens there
    t0 = time.monotonic()
    with pytest.raises(UsageError, match=rf"could not reach the Dask scheduler at tcp://127.0.0.1:{port} "
                                         r"\(from --scheduler\) within 1 s"):
        make_executor(scheduler=f"127.0.0.1:{port}", connect_timeout=1)
    assert time.monotonic() - t0 < 15


def test_dask_scheduler_address_from_the_environment(monkeypatch):
    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", "nowhere")
    with pytest.raises(UsageError, match="DASK_SCHEDULER_ADDRESS 'nowhere': not a Dask scheduler address"):
        make_executor()


@pytest.mark.parametrize("kwargs, message", [
    ({"cluster": "local:0"}, "the number of workers must be at least 1"),
    ({"cluster": "gpu:2"}, "expected local:N .* or slurm:N"),
    ({"cluster": "local"}, "expected local:N"),
    ({"cluster": "local:2", "scheduler": "tcp://127.0.0.1:8786"}, "were both given"),
    ({"scheduler": "tcp://127.0.0.1:8786", "workers": 4}, "only applies to the local pool"),
    ({"scheduler_file": "/nonexistent/scheduler.json"}, "no such file"),
    ({"workers": 0}, "expected a whole number of processes >= 1"),
])
def test_bad_options_are_usage_errors(kwargs, message):
    with pytest.raises(UsageError, match=message):
        make_executor(**kwargs)


def test_slurm_without_dask_jobqueue_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "dask_jobqueue", None)  # import fails as if not installed
    with pytest.raises(UsageError, match=r"dask-jobqueue is not installed; install it with `pip install 'dlgrade\[slurm\]'`"):
        make_executor(cluster="slurm:4")


class _FakeSLURMCluster:
    """Stands in for dask_jobqueue.SLURMCluster (configuration only: no SLURM here)."""

    made: list = []

    def __init__(self, **kwargs):
        import dask

        self.kwargs = kwargs
        self.allowed_failures = dask.config.get("distributed.scheduler.allowed-failures")
        self.scaled = []
        self.closed = False
        _FakeSLURMCluster.made.append(self)

    def scale(self, n=None, jobs=0, **kw):
        self.scaled.append(jobs)

    def close(self):
        self.closed = True


def test_slurm_cluster_configuration_with_a_fake_slurmcluster(monkeypatch):
    monkeypatch.setitem(sys.modules, "dask_jobqueue", types.SimpleNamespace(SLURMCluster=_FakeSLURMCluster))
    cluster = make_cluster("slurm:3", log=lambda m: None)
    assert isinstance(cluster, _FakeSLURMCluster)
    assert cluster.scaled == [3] and cluster.allowed_failures == 1

    # make_executor connects a client to it and hands the cluster to the executor, which closes it
    made = {}

    class FakeClient:
        def __init__(self, target, **kw):
            made["client_target"] = target

    class FakeDaskExecutor:
        def __init__(self, client, cluster=None, **kw):
            made["cluster"] = cluster

    import distributed

    monkeypatch.setattr(distributed, "Client", FakeClient)
    monkeypatch.setattr(executors, "DaskExecutor", FakeDaskExecutor)
    make_executor(cluster="slurm:2", log=lambda m: None)
    assert made["client_target"] is made["cluster"] and made["cluster"].scaled == [2]


def test_slurm_cluster_without_configuration_is_a_usage_error(monkeypatch):
    class Unconfigured:
        def __init__(self, **kw):
            raise ValueError("You must specify how many cores to use per job like ``cores=8``")

    monkeypatch.setitem(sys.modules, "dask_jobqueue", types.SimpleNamespace(SLURMCluster=Unconfigured))
    with pytest.raises(UsageError, match=r"not configured: You must specify how many cores.*jobqueue\.slurm\.cores"):
        make_cluster("slurm:1")


# --------------------------------------------------------------------------------------------------
# Jobs, skipping, callbacks


def test_a_job_needs_an_importable_function_and_a_unique_key():
    with pytest.raises(ValueError, match="top-level function of an importable module"):
        Job("k", lambda: 1)

    def nested():
        return 1

    with pytest.raises(ValueError, match="top-level function"):
        Job("k", nested)
    with pytest.raises(ValueError, match="resources must map names to positive numbers"):
        Job("k", J.nothing, resources={"GPU": 0})
    with pytest.raises(ValueError, match="two jobs share the key 'k'"):
        LocalExecutor(1, progress="off").run([Job("k", J.nothing), Job("k", J.nothing)])


def test_skip_leaves_out_finished_jobs_and_a_failing_on_done_marks_the_outcome():
    jobs = [Job("a", J.square, {"x": 2}, fingerprint="fp-a"), Job("b", J.square, {"x": 3}, fingerprint="fp-b"),
            Job("c", J.square, {"x": 4}), Job("d", J.square, {"x": 5})]
    written, lines = [], []

    def on_done(outcome):
        if outcome.key == "d":
            raise OSError("disk full")
        written.append((outcome.key, outcome.value, outcome.fingerprint))

    out = LocalExecutor(1, progress="plain", log=lines.append).run(jobs, on_done=on_done, skip={"fp-a", "c", "b"})
    # "b" has a fingerprint, so its key does not skip it; "c" has none, so its key does
    assert [o.key for o in out] == ["b", "d"]
    assert written == [("b", 9, "fp-b")]
    d = out[1]
    assert not d.ok and d.value == 25 and "on_done failed: OSError: disk full" in d.error
    assert lines[0] == "2 jobs to run (2 already done, skipped)"
    assert lines[-1].startswith("2/2 jobs done") and lines[-1].endswith("2 skipped")


def test_progress_lines_count_done_running_retried_failed_with_an_eta():
    from dlgrade.autograde.executors.progress import JobProgress

    lines = []
    p = JobProgress(10, skipped=1, mode="plain", log=lines.append)
    for i in range(10):
        p.started(f"j{i}")
        if i == 3:
            p.retrying("j3")
        p.finished(f"j{i}", ok=i != 5, error="Traceback ...\nValueError: five" if i == 5 else "")
    p.started("j9")  # a late start notice does not count as running
    assert p.running == 0
    p.close()
    assert lines[0] == "10 jobs to run (1 already done, skipped)"
    assert "j5: FAILED: ValueError: five" in lines
    assert any(line.startswith("5/10 jobs done, 0 running, 1 retried, 0 failed, ETA ") for line in lines)
    assert lines[-1].startswith("10/10 jobs done in ") and lines[-1].endswith("1 failed, 1 retried, 1 skipped")


def test_command_line_options_map_to_make_executor():
    import argparse

    from dlgrade.autograde.executors import add_executor_arguments, executor_from_args

    parser = argparse.ArgumentParser(prog="dlgrade grade")
    add_executor_arguments(parser)
    assert isinstance(executor_from_args(parser.parse_args(["--jobs", "2"])), LocalExecutor)
    with pytest.raises(UsageError, match="--cluster 'slurm:x': expected local:N"):
        executor_from_args(parser.parse_args(["--cluster", "slurm:x"]))
    with pytest.raises(SystemExit):  # argparse: not allowed with argument --scheduler
        parser.parse_args(["--scheduler", "tcp://127.0.0.1:8786", "--cluster", "local:2"])


def test_arguments_that_cannot_be_pickled_fail_their_job_only(cluster):
    jobs = [Job("lock", J.square, {"x": threading.Lock()}), Job("fine", J.square, {"x": 7})]
    local = {o.key: o for o in LocalExecutor(1, progress="off").run(jobs)}
    with make_executor(scheduler=cluster.address, progress="off", log=lambda m: None) as ex:
        dask = {o.key: o for o in ex.run(jobs)}
    for out in (local, dask):
        assert out["fine"].ok and out["fine"].value == 49
        assert not out["lock"].ok and "argument 'x' (lock) cannot be pickled" in out["lock"].error
