"""Instructor grading: sandboxed code checks, results hand-ins, batch, handout, calibration.

The example submissions live in ``tests/submissions/<case>/``; each case gets the verdicts and
points it should. Most cases use hw6.q1 (fast); hw14.q4 is checked at the unit stage only.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dlgrade.autograde import sandbox
from dlgrade.autograde.submission import grade_submission, grade_task
from dlgrade.questions import get_question as get_task

SUBS = Path(__file__).resolve().parent.parent / "submissions"
FAST = sandbox.Limits(wall_s=6, startup_s=90, memory_mb=1024)

HW6_UNIT_POINTS = {"batch_norm_defined": 0, "layer_norm_defined": 0, "bn_shape": 1, "bn_values": 2, "bn_epsilon": 1,
                   "ln_shape": 1, "ln_values": 2, "ln_input_untouched": 0.5}
BN = ("bn_shape", "bn_values", "bn_epsilon", "ln_input_untouched")
LN = ("ln_shape", "ln_values", "ln_input_untouched")

# case -> (expected verdict per failing check, earned points of the unit stage)
UNIT_CASES = {
    "correct": ({}, 7.5),
    "partly_wrong": ({"ln_values": "wrong"}, 5.5),
    "infinite_loop": ({c: "timeout" for c in BN}, 3.0),
    "memory_bomb": ({c: "memory" for c in BN}, 3.0),
    "sys_exit": ({c: "sys_exit" for c in LN}, 4.0),
    "segfault": ({c: "crash" for c in BN}, 3.0),
    "import_error": ({c: "import_error" for c in HW6_UNIT_POINTS}, 0.0),
    "wrong_type": ({"bn_shape": "wrong_type", "bn_values": "wrong_type", "bn_epsilon": "wrong_type", "ln_shape": "shape",
                    "ln_values": "shape"}, 0.5),
    "nan_output": ({"bn_shape": "nan", "bn_values": "nan", "bn_epsilon": "nan"}, 3.5),
    "socket": ({c: "network" for c in BN}, 3.0),
}


@pytest.mark.parametrize("case", sorted(UNIT_CASES))
def test_hidden_unit_checks_give_each_failure_its_verdict(case):
    expected, points = UNIT_CASES[case]
    limits = sandbox.Limits(wall_s=40, startup_s=90, memory_mb=600) if case == "memory_bomb" else FAST
    tg = grade_task(get_task("hw6.q1"), SUBS / case, limits=limits, stages=("unit",))
    got = {c.id: c for c in tg.checks}
    assert list(got) == list(HW6_UNIT_POINTS)
    for cid, c in got.items():
        if cid in expected:
            assert not c.passed and c.verdict == expected[cid], (cid, c.verdict, c.detail)
            assert c.earned == 0
        else:
            assert c.passed and c.earned == HW6_UNIT_POINTS[cid], (cid, c.verdict, c.detail)
    assert tg.earned == points
    for c in tg.checks:
        assert c.detail or c.passed  # every failure says why


def test_failure_details_are_specific():
    tg = grade_task(get_task("hw6.q1"), SUBS / "infinite_loop", limits=FAST, stages=("unit",))
    assert "6 s wall-clock limit" in next(c for c in tg.checks if c.id == "bn_shape").detail
    tg = grade_task(get_task("hw6.q1"), SUBS / "sys_exit", limits=FAST, stages=("unit",))
    assert "sys.exit(3)" in next(c for c in tg.checks if c.id == "ln_shape").detail
    tg = grade_task(get_task("hw6.q1"), SUBS / "import_error", limits=FAST, stages=("unit",))
    assert "torch_normalisation_helpers" in tg.checks[0].detail


def test_sandbox_layers_on_this_machine():
    caps = sandbox.capabilities()
    text = sandbox.describe()
    assert "wall-clock limit: enforced" in text and "socket audit hook enforced" in text
    if os.geteuid() == 0 and shutil.which("unshare"):
        assert caps["drop_uid"] and caps["netns"], caps


def test_sandboxed_child_cannot_write_instructor_files_or_reach_the_network(tmp_path):
    """A raw child (no audit hook): the uid drop and the network namespace themselves must hold."""
    if not sandbox.capabilities()["drop_uid"]:
        pytest.skip("not root: the uid drop is not available here")
    target = Path(__file__).resolve().parent.parent.parent / "dlgrade" / "autograde" / "_sandbox_probe.txt"
    code = ("import os, socket\n"
            f"try:\n open({str(target)!r}, 'w').write('x'); print('WROTE')\nexcept OSError as e: print('nowrite', e.errno)\n"
            "s = socket.socket(); s.settimeout(2)\n"
            "try:\n s.connect(('1.1.1.1', 53)); print('NET')\nexcept OSError as e: print('nonet', e.errno)\n"
            "print(os.getuid(), os.getcwd())\n")
    with sandbox.Workdir() as wd:
        (wd.path / "probe.py").write_text(code)
        proc = sandbox.start([str(wd.path / "probe.py")], wd.path, FAST)
        sandbox.watch(proc, FAST, lambda: float("inf"))
        out = (wd.path / "stdout.txt").read_text().split()
        home = str(wd.path / "home")
    assert not target.exists()
    assert out[:2] == ["nowrite", "13"] and out[2] == "nonet" and out[4] == str(sandbox.NOBODY) and out[5] == home, out


def test_rss_watchdog_stops_memory_rlimit_data_does_not_count(tmp_path):
    """Shared anonymous memory is outside RLIMIT_DATA: the RSS watchdog must stop it."""
    limits = sandbox.Limits(wall_s=60, memory_mb=300)
    code = "import mmap, time\nm = mmap.mmap(-1, 2 << 30)\nfor i in range(0, 2 << 30, 4096): m[i] = 1\nprint('survived')\n"
    with sandbox.Workdir() as wd:
        (wd.path / "bomb.py").write_text(code)
        proc = sandbox.start([str(wd.path / "bomb.py")], wd.path, limits)
        reason = sandbox.watch(proc, limits, lambda: float("inf"))
        end = sandbox.classify(proc, wd.path, reason, limits, 0.0)
        assert "survived" not in (wd.path / "stdout.txt").read_text()
    assert reason == "memory" and end.cause == "memory" and "300 MiB" in end.detail


def test_cpu_time_limit_stops_a_busy_loop():
    limits = sandbox.Limits(wall_s=120, cpu_s=1)
    with sandbox.Workdir() as wd:
        (wd.path / "spin.py").write_text("while True:\n    pass\n")
        proc = sandbox.start([str(wd.path / "spin.py")], wd.path, limits)
        reason = sandbox.watch(proc, limits, lambda: float("inf"))
        end = sandbox.classify(proc, wd.path, reason, limits, 0.0)
    assert reason is None and end.cause == "cpu" and "1 s CPU-time limit" in end.detail, end


def test_results_handins():
    ok = grade_submission(SUBS / "results_ok")
    assert [t.mode for t in ok.tasks] == ["results"] and ok.earned == ok.total == 9
    bad = grade_submission(SUBS / "results_malformed").tasks[0]
    valid = bad.checks[0]
    assert valid.id == "results_valid" and valid.verdict == "invalid_results"
    assert "field metrics/bn.max_abs_diff_keras" in valid.detail and "is not of type" in valid.detail
    assert bad.earned == 0 and all(c.verdict == "invalid_results" for c in bad.checks)
    fake = {c.id: c for c in grade_submission(SUBS / "results_fake_bn").tasks[0].checks}
    assert not fake["bn_columns_normalised"].passed and fake["ln_rows_normalised"].passed
    imp = grade_submission(SUBS / "results_impossible").tasks[0]
    assert imp.task == "hw14.q4"
    checks = {c.id: c for c in imp.checks}
    assert not checks["accuracies_valid"].passed and "retrain.test_accuracy" in checks["accuracies_valid"].detail
    assert not checks["claims_confusion_total"].passed and "sums to 3000" in checks["claims_confusion_total"].detail
    assert checks["claims_confusion_total"].stage == "integrity"
    assert "claims_unit_interval" not in checks  # the rubric already checks accuracies


def test_wrong_task_and_missing_file(tmp_path):
    sub = tmp_path / "mixup"
    sub.mkdir()
    data = json.loads((SUBS / "results_ok" / "hw6_q1.results.json").read_text())
    (sub / "hw14_q4.results.json").write_text(json.dumps(data))
    t = grade_submission(sub).tasks[0]
    assert t.checks[0].verdict == "invalid_results" and "expected 'hw14.q4'" in t.checks[0].detail
    empty = tmp_path / "empty"
    empty.mkdir()
    g = grade_submission(empty)
    assert g.tasks == [] and "no question found" in g.error
    g = grade_submission(empty, [get_task("hw6.q1")], stages=("unit",))
    assert g.earned == 0 and {c.verdict for c in g.tasks[0].checks} == {"not_submitted"}


def test_batch_runs_tasks_with_student_code_and_writes_everything(tmp_path):
    from dlgrade.pipeline import grade_students

    root = tmp_path / "subs"
    for case in ("correct", "partly_wrong", "import_error", "results_fake_bn"):
        shutil.copytree(SUBS / case, root / case)
    (root / "not_a_student.txt").write_text("ignored")
    outcome = grade_students(root, tmp_path / "out", jobs=2, limits=sandbox.Limits(wall_s=10, memory_mb=2048), langs=("en", "fa"),
                             log=lambda s: None)
    grades = {g.student: g for g in outcome.grades}
    assert sorted(grades) == ["correct", "import_error", "partly_wrong", "results_fake_bn"]
    assert grades["correct"].earned == grades["correct"].total == 16.5
    rub = {c.id: c for c in grades["partly_wrong"].tasks[0].checks if c.stage == "rubric"}
    assert rub["bn_columns_normalised"].passed and not rub["ln_rows_normalised"].passed and not rub["ln_matches_keras"].passed
    assert grades["partly_wrong"].earned == 10.5
    imp = [c for c in grades["import_error"].tasks[0].checks if c.stage == "rubric"]
    assert imp and all(c.verdict == "run_failed" and "torch_normalisation_helpers" in c.detail for c in imp)
    assert grades["results_fake_bn"].earned == 7 and grades["results_fake_bn"].tasks[0].mode == "results"

    rows = list(csv.reader(open(outcome.gradebook, encoding="utf-8")))
    header = rows[0]
    assert header[0] == "student" and "hw6.q1:bn_values" in header and "hw6.q1:bn_columns_normalised" in header
    assert header[-4:] == ["total", "max", "percent", "status"]
    by_student = {r[0]: dict(zip(header, r)) for r in rows[2:]}
    assert by_student["correct"]["total"] == "16.5" and by_student["correct"]["percent"] == "100.0"
    assert by_student["results_fake_bn"]["hw6.q1:bn_values"] == ""  # not applicable to a results hand-in
    gs = json.loads((tmp_path / "out" / "partly_wrong" / "results.json").read_text())
    assert gs["score"] == 10.5 and sum(t["max_score"] for t in gs["tests"]) == 16.5
    assert {t["status"] for t in gs["tests"]} == {"passed", "failed"}
    for lang in ("en", "fa"):
        assert (tmp_path / "out" / "partly_wrong" / f"feedback-{lang}.pdf").stat().st_size > 5000

    import pdfplumber

    with pdfplumber.open(tmp_path / "out" / "partly_wrong" / "feedback-en.pdf") as pdf:
        text = "\n".join(p.extract_text() or "" for p in pdf.pages)
    assert "Grading feedback" in text and "ln_values" in text and "What to fix" in text


def test_hw14_q4_build_model_unit_checks():
    tg = grade_task(get_task("hw14.q4"), SUBS / "tuner", limits=sandbox.Limits(wall_s=120, startup_s=120), stages=("unit",))
    assert [c.id for c in tg.checks] == ["build_model_defined", "model_io", "search_space", "logits_loss"]
    assert all(c.passed for c in tg.checks), [(c.id, c.detail) for c in tg.checks]
    assert tg.earned == 4.0


def test_handout_stubs_and_public_tests(tmp_path):
    from dlgrade.autograde.handout import write_handout
    from dlgrade.questions import all_questions

    files = write_handout(tmp_path)
    names = {p.name for p in files}
    for task in all_questions():
        if task.student_functions:
            assert f"{task.slug}.py" in names and f"test_{task.slug}.py" in names
    src = (tmp_path / "hw6_q1.py").read_text()
    assert "def batch_norm(x: np.ndarray, epsilon: float=0.001) -> np.ndarray:" in src
    assert "raise NotImplementedError" in src and "Normalise each column" in src
    assert "hp.Int(\"units\", 16, 512, step=16)" in (tmp_path / "hw14_q4.py").read_text()
    run = lambda: subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_hw6_q1.py"],  # noqa: E731
                                 cwd=tmp_path, capture_output=True, text=True, timeout=120)
    stub = run()
    assert stub.returncode == 1 and "3 failed, 2 passed" in stub.stdout, stub.stdout[-800:]
    shutil.copy(SUBS / "correct" / "hw6_q1.py", tmp_path / "hw6_q1.py")
    solved = run()
    assert solved.returncode == 0 and "5 passed" in solved.stdout, solved.stdout[-800:]


def test_calibrate_proposes_ranges_from_measurements(tmp_path):
    from dlgrade.autograde.calibrate import calibrate, format_proposals, propose

    mean, std, low, high = propose("x.val_accuracy", [0.80, 0.82, 0.84], k=2)
    assert mean == pytest.approx(0.82) and std == pytest.approx(0.02) and (low, high) == pytest.approx((0.78, 0.86))
    assert propose("x.val_accuracy", [0.98, 0.99, 1.0], k=5)[3] == 1.0  # clipped to [0, 1]
    props = calibrate(get_task("hw6.q1"), 2, "smoke", k=3, out=tmp_path, log=lambda s: None)
    by = {p.metric: p for p in props}
    assert set(by) == {"bn.max_abs_diff_keras", "ln.max_abs_diff_keras", "bn_ln.max_abs_difference"}
    p = by["bn_ln.max_abs_difference"]
    assert len(p.values) == 2 and p.low <= min(p.values) and p.high >= max(p.values) and p.current == (0.1, 1000)
    text = format_proposals(props, "hw6.q1", "smoke", 3)
    assert "bn_differs_from_ln" in text and "measured" in text
    with pytest.raises(Exception, match="at least 2"):
        calibrate(get_task("hw6.q1"), 1, "smoke", out=tmp_path)


def test_confusion_totals_property():
    from dlgrade.rubric.properties import PROPERTIES
    from dlgrade.results import TaskResult

    r = TaskResult("x", metrics={"test_samples": 10}, tables={"confusion_matrix": {"columns": ["c", "a", "b"], "rows": [["a", 4, 1], ["b", 2, 3]]}})
    assert PROPERTIES["confusion_totals"](r)[0]
    r.metrics["test_samples"] = 11
    ok, _, detail = PROPERTIES["confusion_totals"](r)
    assert not ok and "sums to 10" in detail


def test_cli_grade_options(tmp_path, capsys):
    from dlgrade.cli import main

    assert main(["grade", "--submission", str(SUBS / "results_fake_bn"), "--out", str(tmp_path), "--no-pdf"]) == 1
    out = capsys.readouterr().out
    assert "bn_columns_normalised" in out and "7/9" in out
    assert json.loads((tmp_path / "results_fake_bn" / "results.json").read_text())["score"] == 7
    assert main(["handout", str(tmp_path / "kit"), "--tasks", "hw6.q1"]) == 0
    assert (tmp_path / "kit" / "hw6_q1.py").is_file() and not (tmp_path / "kit" / "hw14_q4.py").exists()
    assert main(["grade"]) == 2


@pytest.mark.parametrize("task_id", ["hw6.q2", "hw6.q3", "hw6.q4", "hw14.q1", "hw14.q2", "hw14.q3"])
def test_reference_passes_hidden_checks_and_the_handout_stub_earns_nothing(tmp_path, task_id):
    from dlgrade.autograde.handout import write_handout

    task = get_task(task_id)
    ref = tmp_path / "ref"
    ref.mkdir()
    (ref / f"{task.slug}.py").write_text(f"from {task.package}.reference import {', '.join(task.student_functions)}\n")
    write_handout(tmp_path / "stub", [task])
    limits = sandbox.Limits(wall_s=60, startup_s=120)
    good = grade_task(task, ref, limits=limits, stages=("unit",))
    assert good.total > 0 and good.earned == good.total, [(c.id, c.detail) for c in good.checks if not c.passed]
    stub = grade_task(task, tmp_path / "stub", limits=limits, stages=("unit",))
    assert stub.earned == 0 and {c.verdict for c in stub.checks if c.points} == {"not_implemented"}


@pytest.mark.skipif(not sandbox.capabilities()["drop_uid"], reason="RLIMIT_NPROC needs the unprivileged uid (root only)")
def test_process_limit_stops_a_fork_bomb():
    limits = sandbox.Limits(wall_s=30, processes=32)
    bomb = ("import os, time\nmade = 0\ntry:\n    for _ in range(200):\n        if os.fork() == 0:\n            time.sleep(20)\n"
            "            os._exit(0)\n        made += 1\nexcept OSError as e:\n    print('refused after', made, e.errno)\n")
    with sandbox.Workdir() as wd:
        (wd.path / "bomb.py").write_text(bomb)
        proc = sandbox.start([str(wd.path / "bomb.py")], wd.path, limits)
        sandbox.watch(proc, limits, lambda: float("inf"))
        out = (wd.path / "stdout.txt").read_text()
    assert out.startswith("refused after"), out
    assert int(out.split()[2]) < 32
