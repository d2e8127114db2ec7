"""Scale-out of grade --batch, report/run and calibrate through the executor seam: a real Dask scheduler and
workers on 127.0.0.1 (started and stopped as process groups), the local spawn pool, workers that die under a
job, a client killed mid-batch and started again."""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import scaleout_test_jobs as SJ  # noqa: E402
from test_executors import DaskProcesses, _die_with_parent, _no_hang  # noqa: E402,F401 - the hang guard too

from dlgrade.autograde import sandbox  # noqa: E402
from dlgrade.autograde.executors import LocalExecutor, make_executor  # noqa: E402
from dlgrade.autograde.submission import Options  # noqa: E402
from dlgrade.questions import get_question  # noqa: E402

ROOT = HERE.parents[1]
SUBS = ROOT / "tests" / "submissions"
#: Hand-ins that grade in seconds: right, partly right, unimportable, a results hand-in, NaN output, and a
#: 2022-era Colab notebook.
SUBSET = ("correct", "partly_wrong", "import_error", "results_ok", "nan_output", "class2022/mina_ahmadi")
HW6 = get_question("hw6.q1")
UNIT = Options(stages=("unit",), check_timeout_s=8, limits=sandbox.Limits(memory_mb=1024))
ENV = {**os.environ, "DLGRADE_DATA": os.environ.get("DLGRADE_DATA", "/work/shared/datasets"), "DLGRADE_OFFLINE": "1",
       "TF_CPP_MIN_LOG_LEVEL": "2", "CI": "1"}


def _subset(into: Path, names=SUBSET) -> Path:
    into.mkdir(parents=True)
    for name in names:
        shutil.copytree(SUBS / name, into / Path(name).name)
    return into


def _rows(gradebook: Path) -> dict[str, dict]:
    with open(gradebook, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return {r["student"]: r for r in rows[1:]}


def _points(gradebook: Path) -> dict[str, dict]:
    """Every student's points per check and totals: the gradebook without where and how it was graded."""
    return {s: {k: v for k, v in r.items() if k not in ("workers", "retried", "protections")}
            for s, r in _rows(gradebook).items()}


def _cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dlgrade", *args], cwd=ROOT, env=ENV, capture_output=True, text=True,
                          timeout=timeout)


class ThisDask(DaskProcesses):
    """The ``dask`` command of this interpreter (``python -m dask``: a copied venv's ``dask`` script may start
    another checkout's interpreter), with this checkout first on the path."""

    def _spawn(self, name: str, *args: str) -> subprocess.Popen:
        log = open(self.tmp / f"{name}.log", "w")
        p = subprocess.Popen([sys.executable, "-m", "dask", *args], stdout=log, stderr=subprocess.STDOUT, env=self.env,
                             cwd=self.tmp, start_new_session=True, preexec_fn=_die_with_parent)
        log.close()
        self.procs.append(p)
        return p


@pytest.fixture(scope="module")
def dask2(tmp_path_factory):
    """``dask scheduler`` and two one-thread ``dask worker`` processes on 127.0.0.1."""
    procs = ThisDask(tmp_path_factory.mktemp("dask2"))
    procs.env.update({k: ENV[k] for k in ("DLGRADE_DATA", "DLGRADE_OFFLINE")})
    procs.env["PYTHONPATH"] = os.pathsep.join([str(ROOT), procs.env["PYTHONPATH"]])
    try:
        procs.scheduler()
        procs.worker("w1")
        procs.worker("w2")
        procs.wait_for_workers(2)
        yield procs
    finally:
        procs.stop()


def test_batch_on_a_dask_cluster_gives_the_local_gradebook(tmp_path, dask2):
    subs = _subset(tmp_path / "subs")
    local = _cli("grade", "--batch", str(subs), "--out", str(tmp_path / "local"), "--no-pdf", "--workers", "2")
    assert local.returncode == 0, local.stderr[-3000:]
    remote = _cli("grade", "--batch", str(subs), "--out", str(tmp_path / "dask"), "--no-pdf",
                  "--scheduler", dask2.address)
    assert remote.returncode == 0, remote.stderr[-3000:]
    assert "accepted" in remote.stderr and ("sandbox bwrap" in remote.stderr or "sandbox plain" in remote.stderr)
    a, b = _points(tmp_path / "local" / "gradebook.csv"), _points(tmp_path / "dask" / "gradebook.csv")
    assert set(a) == {Path(n).name for n in SUBSET} and a == b
    assert float(a["correct"]["hw6:total"]) == float(a["correct"]["hw6:max"]) > 0
    assert float(a["import_error"]["hw6:total"]) == 0
    rows = _rows(tmp_path / "dask" / "gradebook.csv")
    assert {r["workers"].split(" ")[0] for r in rows.values()} <= set(dask2.wait_for_workers(2))
    assert all(r["protections"] for r in rows.values())  # each worker said what its sandbox does
    g = json.loads((tmp_path / "dask" / "correct" / "grade.json").read_text())
    assert g["workers"]["hw6.q1"].startswith("tcp://127.0.0.1:") and g["protections"]["mode"]
    details = g["worker_details"]["hw6.q1"]
    assert details["versions"]["tensorflow"] and details["pid"] != os.getpid() and "gpus" in details


def test_dask_worker_killed_under_a_job_the_student_is_still_graded_and_marked(tmp_path, dask2):
    from dlgrade.pipeline import grade_students

    subs = _subset(tmp_path / "subs", ("correct", "partly_wrong", "results_ok"))
    (tmp_path / "markers").mkdir()
    with make_executor(scheduler=dask2.address, progress="off", log=lambda s: None) as ex:
        outcome = grade_students(subs, tmp_path / "out", [HW6], UNIT, langs=(), log=lambda s: None, executor=ex,
                                 job_fn=SJ.die_once_for,
                                 job_kwargs={"marker_dir": str(tmp_path / "markers"), "students": ("partly_wrong",)})
    assert (tmp_path / "markers" / "died-partly_wrong").exists()  # a worker really died under it
    rows = _rows(outcome.gradebook)
    assert set(rows) == {"correct", "partly_wrong", "results_ok"}
    assert rows["partly_wrong"]["retried"] == "hw6.q1" and rows["correct"]["retried"] == ""
    assert float(rows["partly_wrong"]["hw6:total"]) > 0 and rows["partly_wrong"]["status"] == "ok"
    dask2.wait_for_workers(2)  # the nanny restarted it


def test_local_pool_worker_lost_once_is_retried_and_twice_scores_zero_in_both_languages(tmp_path):
    from dlgrade.pipeline import grade_students

    subs = _subset(tmp_path / "subs", ("correct", "partly_wrong", "results_ok"))
    (tmp_path / "markers").mkdir()
    once = grade_students(subs, tmp_path / "once", [HW6], UNIT, langs=(), log=lambda s: None,
                          executor=LocalExecutor(2, progress="off", log=lambda s: None),
                          job_fn=SJ.die_once_for,
                          job_kwargs={"marker_dir": str(tmp_path / "markers"), "students": ("correct",)})
    rows = _rows(once.gradebook)
    assert rows["correct"]["retried"] == "hw6.q1" and float(rows["correct"]["hw6:percent"]) == 100.0

    twice = grade_students(subs, tmp_path / "twice", [HW6], UNIT, langs=("en", "fa"), log=lambda s: None,
                           executor=LocalExecutor(2, progress="off", log=lambda s: None),
                           job_fn=SJ.always_die_for, job_kwargs={"students": ("partly_wrong",)})
    rows = _rows(twice.gradebook)
    assert set(rows) == {"correct", "partly_wrong", "results_ok"}  # nobody dropped
    lost = rows["partly_wrong"]
    assert float(lost["hw6:total"]) == 0 and float(lost["hw6:max"]) == float(rows["correct"]["hw6:max"]) > 0
    assert lost["review"] == "yes" and lost["retried"] == "hw6.q1"
    g = json.loads((tmp_path / "twice" / "partly_wrong" / "grade.json").read_text())
    checks = g["tasks"][0]["checks"]
    assert checks and all(c["verdict"] == "worker_lost" and c["earned"] == 0 for c in checks)
    assert "worker lost twice" in checks[0]["detail"] and "دو بار" in checks[0]["detail_fa"]
    assert (tmp_path / "twice" / "partly_wrong" / "feedback-fa.pdf").stat().st_size > 0
    assert float(rows["correct"]["hw6:percent"]) == 100.0


def test_client_killed_mid_batch_then_started_again_grades_only_the_rest(tmp_path):
    names = ("correct", "partly_wrong", "import_error", "nan_output", "results_ok")
    subs = _subset(tmp_path / "subs", names)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "dlgrade", "grade", "--batch", str(subs), "--out", str(out), "--no-pdf",
           "--no-run", "--workers", "1"]
    log = open(tmp_path / "first.log", "w")
    first = subprocess.Popen(cmd, cwd=ROOT, env=ENV, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                             preexec_fn=_die_with_parent)
    deadline = time.monotonic() + 180
    try:
        while time.monotonic() < deadline and not list(out.glob("*/grade.json")):
            assert first.poll() is None, (tmp_path / "first.log").read_text()[-3000:]
            time.sleep(0.05)
    finally:
        os.killpg(first.pid, signal.SIGKILL)  # the client, its pool and its sandboxes
        first.wait()
        log.close()
    done_first = {p.parent.name: p.stat().st_mtime_ns for p in out.glob("*/grade.json")}
    assert 1 <= len(done_first) < len(names), "the client should have been killed mid-batch"
    assert not (out / "gradebook.csv").exists()
    again = _cli(*cmd[3:])
    assert again.returncode == 0, again.stderr[-3000:]
    text = again.stdout + again.stderr
    line = next(s for s in text.splitlines() if s.startswith("grading "))
    assert f"{len(names) - len(done_first)} job(s)" in line and f"{len(done_first)} already graded (resumed)" in line
    assert {s: (out / s / "grade.json").stat().st_mtime_ns for s in done_first} == done_first  # not graded again
    assert set(_rows(out / "gradebook.csv")) == set(names)
    fresh = _cli(*cmd[3:7], str(tmp_path / "fresh"), *cmd[8:])
    assert fresh.returncode == 0, fresh.stderr[-3000:]
    assert _points(out / "gradebook.csv") == _points(tmp_path / "fresh" / "gradebook.csv")


def test_calibrate_runs_its_seeds_through_the_executor(tmp_path):
    from dlgrade.autograde.calibrate import calibrate

    lines = []
    with LocalExecutor(2, progress="plain", log=lines.append, label="seeds") as ex:
        props = calibrate(HW6, 2, "smoke", out=tmp_path, log=lines.append, executor=ex)
    assert props and all(len(p.values) == 2 for p in props)
    assert "2 seeds to run" in lines and {"seed 0: ran", "seed 1: ran"} <= {s.split(" in ")[0] for s in lines}
    lines.clear()
    calibrate(HW6, 2, "smoke", out=tmp_path, log=lines.append, executor=LocalExecutor(2, log=lines.append))
    assert {"seed 0: cached", "seed 1: cached"} <= {s.split(" in ")[0] for s in lines}  # no job sent


def test_run_through_a_local_pool_of_two_matches_a_one_worker_run(tmp_path):
    from dlgrade.pipeline import run_questions
    from dlgrade.autograde.worker_jobs import ONE_THREAD_ENV

    questions = [get_question("hw6.q1"), get_question("hw6.q2")]
    results = {}
    for n in (1, 2):
        with LocalExecutor(n, progress="off", env=ONE_THREAD_ENV, log=lambda s: None) as ex:
            ran, failed = run_questions(questions, "smoke", 0, tmp_path / f"pool{n}", echo=lambda s: None, executor=ex)
        assert not failed and {r.question.id for r in ran} == {"hw6.q1", "hw6.q2"}
        assert all((tmp_path / f"pool{n}" / "runs" / "smoke" / q.id / "results.json").is_file() for q in questions)
        results[n] = {r.question.id: r.outcome.result.metrics for r in ran}
    for q in questions:
        assert set(results[1][q.id]) == set(results[2][q.id])
        timeless = {k for k in results[1][q.id] if not any(t in k for t in ("seconds", "per_second", "time"))}
        assert {k: results[1][q.id][k] for k in timeless} == pytest.approx(
            {k: results[2][q.id][k] for k in timeless}, rel=1e-4, abs=1e-6)


def test_pool_processes_get_one_tensorflow_thread_and_longest_questions_go_first(tmp_path):
    from dlgrade.autograde.executors import Job
    from dlgrade.autograde.worker_jobs import ONE_THREAD_ENV
    from dlgrade.pipeline import longest_first
    from dlgrade.results import write_json_atomic

    with LocalExecutor(1, progress="off", env=ONE_THREAD_ENV, log=lambda s: None) as ex:
        [o] = ex.run([Job("env", SJ.environment, {"names": tuple(ONE_THREAD_ENV)})])
    assert o.ok and o.value == ONE_THREAD_ENV
    qs = [get_question(q) for q in ("hw6.q1", "hw14.q4", "hw6.q4", "hw14.q2", "hw6.q3", "hw14.q3")]
    assert [q.id for q in longest_first(qs, "quick", tmp_path)] == ["hw6.q4", "hw6.q3", "hw14.q3", "hw14.q2",
                                                                   "hw14.q4", "hw6.q1"]
    write_json_atomic(tmp_path / "runs" / "quick" / "hw6.q1" / "results.json", {"provenance": {"duration_s": 5000}})
    assert longest_first(qs, "quick", tmp_path)[0].id == "hw6.q1"  # a measured duration wins over the table


def test_full_runs_ask_dask_for_a_gpu_and_the_local_pool_for_nothing(tmp_path, dask2):
    from dlgrade.autograde.question_runs import question_jobs

    with make_executor(scheduler=dask2.address, progress="off", log=lambda s: None) as ex:
        [full] = question_jobs([HW6], "full", 0, tmp_path, False, ex)
        [quick] = question_jobs([HW6], "quick", 0, tmp_path, False, ex)
    assert dict(full.resources) == {"GPU": 1} and not quick.resources and full.kwargs["run_dir"] is None
    [local] = question_jobs([HW6], "full", 0, tmp_path, False, LocalExecutor(1))
    assert not local.resources and local.kwargs["run_dir"]


def test_cli_executor_options_on_every_command(capsys):
    from dlgrade.cli import build_parser

    parser = build_parser()
    for argv in (["grade", "--batch", "x"], ["run", "--all"], ["report"], ["calibrate", "hw6.q1"]):
        args = parser.parse_args([*argv, "--cluster", "local:3"])
        assert args.cluster == "local:3" and args.scheduler is None
        assert parser.parse_args([*argv, "--workers", "2"]).jobs == 2
        assert parser.parse_args([*argv, "--scheduler-file", "s.json"]).scheduler_file == "s.json"
        with pytest.raises(SystemExit):
            parser.parse_args([*argv, "--scheduler", "tcp://h:1", "--cluster", "local:2"])
    assert "not allowed with argument" in capsys.readouterr().err


def test_keras_tuner_distributed_search_with_a_chief_and_one_worker_on_loopback(tmp_path):
    """keras-tuner's distributed mode (the oracle served by the chief over gRPC) at smoke size on CPU: the way
    full hw6.q4 / hw14.q4 searches spread over GPU workers (README, Scale-out)."""
    pytest.importorskip("grpc")
    from test_executors import _free_port

    port = str(_free_port())
    script = str(HERE / "kt_distributed_search.py")
    base = {**ENV, "KERASTUNER_ORACLE_IP": "127.0.0.1", "KERASTUNER_ORACLE_PORT": port}
    procs = {}
    try:
        for role in ("chief", "tuner0"):
            procs[role] = subprocess.Popen([sys.executable, script, str(tmp_path / role)], env={**base, "KERASTUNER_TUNER_ID": role},
                                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                           start_new_session=True, preexec_fn=_die_with_parent)
        outs = {role: p.communicate(timeout=120)[0] for role, p in procs.items()}
    finally:
        for p in procs.values():
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
    assert procs["tuner0"].returncode == 0, outs["tuner0"][-2000:]
    assert procs["chief"].returncode == 0, outs["chief"][-2000:]
    assert "chief: 3 trials" in outs["chief"] and "tuner0: done" in outs["tuner0"]
    assert list((tmp_path / "tuner0" / "tiny").glob("trial_*")), "the worker ran the trials"


def test_cli_slurm_and_scheduler_environment_fail_before_any_grading(tmp_path, monkeypatch, capsys):
    """``--cluster slurm:N`` and ``$DASK_SCHEDULER_ADDRESS`` reach make_executor from the command line (the SLURM
    cluster itself is tested with a stand-in SLURMCluster in test_executors.py: configuration path only)."""
    import builtins

    from dlgrade.cli import main
    from test_executors import _free_port

    subs = _subset(tmp_path / "subs", ("results_ok",))
    real_import = builtins.__import__

    def no_jobqueue(name, *a, **kw):
        if name.startswith("dask_jobqueue"):
            raise ImportError(name)
        return real_import(name, *a, **kw)

    monkeypatch.setattr(builtins, "__import__", no_jobqueue)
    assert main(["grade", "--batch", str(subs), "--out", str(tmp_path / "o1"), "--cluster", "slurm:2"]) == 2
    assert "pip install 'dlgrade[slurm]'" in capsys.readouterr().err
    monkeypatch.setattr(builtins, "__import__", real_import)
    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", f"tcp://127.0.0.1:{_free_port()}")
    assert main(["report", "--tasks", "hw6.q1", "--profile", "smoke", "--out", str(tmp_path / "o2")]) == 2
    err = capsys.readouterr().err
    assert "could not reach the Dask scheduler" in err and "DASK_SCHEDULER_ADDRESS" in err
    assert not (tmp_path / "o1" / "gradebook.csv").exists() and not (tmp_path / "o2").exists()


def test_run_on_dask_returns_results_and_figures_the_client_writes(tmp_path, dask2):
    """A Dask worker runs the question in a folder of its own (its dataset resolved there, from its own
    DLGRADE_DATA); its results.json and figure bytes come back through the scheduler and are written here."""
    from dlgrade.pipeline import run_questions
    from dlgrade.results import figure_files, load, missing_figures

    with make_executor(scheduler=dask2.address, progress="off", log=lambda s: None) as ex:
        ran, failed = run_questions([get_question("hw14.q1")], "smoke", 0, tmp_path, echo=lambda s: None, executor=ex)
    assert not failed and [r.question.id for r in ran] == ["hw14.q1"] and not ran[0].outcome.cached
    run_dir = tmp_path / "runs" / "smoke" / "hw14.q1"
    result = load(run_dir)
    assert result.figures and not missing_figures(result, run_dir)  # every language's figure file
    assert all((run_dir / f).stat().st_size > 0 for f in figure_files(result))
    assert (run_dir / "grade.json").is_file() and ran[0].grade.total > 0
    assert not list(run_dir.glob("*.tmp"))
    ran, _ = run_questions([get_question("hw14.q1")], "smoke", 0, tmp_path, echo=lambda s: None,
                           executor=LocalExecutor(1, log=lambda s: None))
    assert ran[0].outcome.cached  # what the client wrote is a valid run-store entry
