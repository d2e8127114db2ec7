"""Instructor grading: hidden checks in the sandbox, the task run with partial credit per step, results hand-ins,
the batch and its outputs, the handout and calibration.

The example submissions live in ``tests/submissions/<case>/``; each case gets the verdicts and points it should.
Most cases use hw6.q1 (fast); hw14.q4 is graded with its tuner.
"""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dlgrade.autograde import sandbox
from dlgrade.autograde.staging import stage
from dlgrade.autograde.submission import Options, grade_question, grade_submission
from dlgrade.questions import get_question

SUBS = Path(__file__).resolve().parent.parent / "submissions"
UNIT = Options(stages=("unit",), check_timeout_s=6, limits=sandbox.Limits(memory_mb=1024))

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
                    "ln_values": "shape", "ln_input_untouched": "wrong"}, 0.0),
    "nan_output": ({"bn_shape": "nan", "bn_values": "nan", "bn_epsilon": "nan", "ln_input_untouched": "wrong"}, 3.0),
    "socket": ({c: "network" for c in BN}, 3.0),
}


def unit_grade(case: str, options: Options = UNIT):
    return grade_question(get_question("hw6.q1"), stage(SUBS / case), options)


@pytest.mark.parametrize("case", sorted(UNIT_CASES))
def test_hidden_checks_give_each_failure_its_verdict(case):
    expected, points = UNIT_CASES[case]
    tg = unit_grade(case)
    got = {c.id: c for c in tg.checks}
    assert list(got) == list(HW6_UNIT_POINTS)
    for cid, c in got.items():
        if cid in expected:
            assert not c.passed and c.verdict == expected[cid], (cid, c.verdict, c.detail)
            assert c.earned == 0
        else:
            assert c.passed and c.earned == HW6_UNIT_POINTS[cid], (cid, c.verdict, c.detail)
    assert tg.earned == points and tg.total == 7.5
    for c in tg.checks:
        assert c.detail or c.passed  # every failure says why


def test_failure_details_are_specific_and_in_both_languages():
    loop = {c.id: c for c in unit_grade("infinite_loop").checks}
    assert "time limit" in loop["bn_shape"].detail and loop["bn_shape"].detail_fa
    # not called again after the limit: the later checks repeat the first sentence (the feedback states it once)
    assert loop["bn_values"].detail == loop["bn_shape"].detail and loop["bn_values"].verdict == "timeout"
    exit_ = {c.id: c for c in unit_grade("sys_exit").checks}
    assert "sys.exit" in exit_["ln_shape"].detail and "hw6_q1.py line " in exit_["ln_shape"].detail
    imp = unit_grade("import_error").checks[0]
    assert "torch_normalisation_helpers" in imp.detail and "importing your module failed" in imp.detail


def test_partial_credit_per_step_of_the_task_run():
    """A function that breaks costs its own steps: layer_norm's rubric checks still pass when batch_norm is a
    memory bomb, and the task run still runs."""
    options = Options(check_timeout_s=10, limits=sandbox.Limits(memory_mb=1024))
    tg = grade_question(get_question("hw6.q1"), stage(SUBS / "memory_bomb"), options)
    rubric = {c.id: c for c in tg.checks if c.stage == "rubric"}
    assert rubric["ln_rows_normalised"].passed and rubric["ln_matches_keras"].passed
    assert {rubric[c].verdict for c in ("bn_columns_normalised", "bn_matches_keras", "bn_differs_from_ln")} == {"run_failed"}
    assert "step batch_norm failed (memory)" in rubric["bn_columns_normalised"].detail
    assert tg.total == 16.5 and tg.earned == 3.0 + 4.0


def test_results_handins_are_graded_at_the_assignment_profile():
    ok = grade_submission(SUBS / "results_ok", options=Options(handin_profile="smoke"))
    assert [t.mode for t in ok.tasks] == ["results"] and ok.tasks[0].earned == ok.tasks[0].total == 9
    # one denominator per assignment: a results hand-in counts at the question's weight (the code hand-in's 16.5)
    assert ok.earned == ok.total == 16.5
    bad = grade_submission(SUBS / "results_malformed").tasks[0]
    valid = bad.checks[0]
    assert valid.id == "results_valid" and valid.verdict == "invalid_results"
    assert "field metrics/bn.max_abs_diff_keras" in valid.detail and "is not of type" in valid.detail
    assert bad.earned == 0 and bad.total == 9 and all(c.verdict == "invalid_results" for c in bad.checks if c.points)
    fake = {c.id: c for c in grade_submission(SUBS / "results_fake_bn").tasks[0].checks}
    assert not fake["bn_columns_normalised"].passed and fake["ln_rows_normalised"].passed
    smoke_file = grade_submission(SUBS / "results_ok").tasks[0]  # a smoke-profile file, graded at the default "full"
    prof = next(c for c in smoke_file.checks if c.id == "results_profile")
    assert prof.verdict == "profile_mismatch" and "'smoke'" in prof.detail and "'full'" in prof.detail
    imp = grade_submission(SUBS / "results_impossible").tasks[0]
    checks = {c.id: c for c in imp.checks}
    assert imp.task == "hw14.q4" and not checks["accuracies_valid"].passed
    assert not checks["claims_confusion_total"].passed and checks["claims_confusion_total"].stage == "integrity"


def test_wrong_question_and_nothing_submitted(tmp_path):
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
    g = grade_submission(empty, [get_question("hw6.q1")], UNIT)
    assert g.earned == 0 and g.total == 7.5 and {c.verdict for c in g.tasks[0].checks} == {"not_submitted"}


def test_batch_writes_the_gradebook_feedback_and_gradescope_files(tmp_path):
    from dlgrade.pipeline import grade_students, grading_options

    root = tmp_path / "subs"
    for case in ("correct", "partly_wrong", "import_error", "results_fake_bn"):
        shutil.copytree(SUBS / case, root / case)
    (root / "not_a_student.txt").write_text("ignored")
    q = get_question("hw6.q1")
    options = grading_options("smoke", 0, [q], tmp_path / "out", limits=sandbox.Limits(memory_mb=1024),
                              check_timeout_s=10, handin_profile="smoke", log=lambda s: None)
    outcome = grade_students(root, tmp_path / "out", [q], options, jobs=2, langs=("en", "fa"), log=lambda s: None)
    grades = {g.student: g for g in outcome.grades}
    assert sorted(grades) == ["correct", "import_error", "partly_wrong", "results_fake_bn"]
    assert outcome.skipped == {"not_a_student.txt": "a file, not a student's folder"}
    assert grades["correct"].earned == grades["correct"].total == 16.5
    rub = {c.id: c for c in grades["partly_wrong"].tasks[0].checks if c.stage == "rubric"}
    assert rub["bn_columns_normalised"].passed and not rub["ln_rows_normalised"].passed and not rub["ln_matches_keras"].passed
    assert grades["partly_wrong"].earned == 10.5
    imp = [c for c in grades["import_error"].tasks[0].checks if c.stage == "rubric"]
    assert imp and all(c.verdict == "run_failed" and "torch_normalisation_helpers" in c.detail for c in imp)
    fake = grades["results_fake_bn"]
    assert fake.tasks[0].earned == 7 and fake.tasks[0].mode == "results"
    assert fake.earned == pytest.approx(7 / 9 * 16.5, abs=1e-3) and fake.total == 16.5  # scaled to the one denominator

    rows = list(csv.reader(open(outcome.gradebook, encoding="utf-8")))
    header = rows[0]
    assert header[0] == "student" and "hw6.q1:bn_values" in header and "hw6.q1:bn_columns_normalised" in header
    assert header[-8:] == ["hw6:total", "hw6:max", "hw6:percent", "review", "protections", "retried", "workers", "status"]
    by_student = {r[0]: dict(zip(header, r)) for r in rows[2:]}
    assert by_student["correct"]["hw6:total"] == "16.5" and by_student["correct"]["hw6:percent"] == "100.0"
    assert by_student["correct"]["protections"] == sandbox.protections().mode
    assert by_student["results_fake_bn"]["hw6.q1:bn_values"] == ""  # not applicable to a results hand-in
    gs = json.loads((tmp_path / "out" / "partly_wrong" / "results.json").read_text())
    assert gs["score"] == 10.5 and sum(t["max_score"] for t in gs["tests"]) == 16.5
    assert {t["status"] for t in gs["tests"]} == {"passed", "failed"}
    folder = tmp_path / "out" / "partly_wrong"
    assert oct(folder.stat().st_mode & 0o777) == "0o700" and oct((folder / "grade.json").stat().st_mode & 0o777) == "0o600"
    for lang in ("en", "fa"):
        assert (folder / f"feedback-{lang}.pdf").stat().st_size > 5000

    import pdfplumber

    with pdfplumber.open(folder / "feedback-en.pdf") as pdf:
        text = "\n".join(p.extract_text() or "" for p in pdf.pages)
    assert "Grading feedback" in text and "ln_values" in text and "What to fix" in text


def test_hw14_q4_tuner_graded_with_the_students_own_hyperparameter_names(tmp_path):
    """The hidden checks recognise the search space by its ranges, and the retrain goes through the student's
    hypermodel: renaming "units" costs nothing."""
    sub = tmp_path / "renamed"
    sub.mkdir()
    code = (SUBS / "tuner" / "hw14_q4.py").read_text().replace('"units"', '"dense_layer_units"').replace(
        '"learning_rate"', '"lr"')
    (sub / "hw14_q4.py").write_text(code)
    q = get_question("hw14.q4")
    tg = grade_question(q, stage(sub), Options(stages=("unit",), check_timeout_s=120))
    assert [c.id for c in tg.checks] == ["build_model_defined", "model_io", "search_space", "logits_loss"]
    assert all(c.passed for c in tg.checks), [(c.id, c.detail) for c in tg.checks]
    assert tg.earned == tg.total == 4.0


def test_handout_stubs_and_public_tests(tmp_path):
    from dlgrade.autograde.handout import write_handout
    from dlgrade.questions import all_questions

    files = write_handout(tmp_path)
    names = {p.name for p in files}
    for task in all_questions():
        if task.student_functions:
            assert f"{task.slug}.py" in names and f"test_{task.slug}.py" in names
    src = (tmp_path / "hw6_q1.py").read_text()
    assert "def batch_norm(x: np.ndarray, epsilon: float = 0.001) -> np.ndarray:" in src  # PEP 8 spacing
    assert "raise NotImplementedError" in src and "Normalise each column" in src
    assert "hp.Int(name, 16, 512, step=16)" in (tmp_path / "hw14_q4.py").read_text()
    run = lambda: subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_hw6_q1.py"],  # noqa: E731
                                 cwd=tmp_path, capture_output=True, text=True, timeout=120)
    stub = run()
    assert stub.returncode == 1 and "3 failed, 2 passed" in stub.stdout, stub.stdout[-800:]
    shutil.copy(SUBS / "correct" / "hw6_q1.py", tmp_path / "hw6_q1.py")
    solved = run()
    assert solved.returncode == 0 and "5 passed" in solved.stdout, solved.stdout[-800:]


def test_calibrate_proposes_ranges_from_measurements(tmp_path):
    from dlgrade.autograde.calibrate import calibrate, format_proposals, propose

    mean, std, low, high = propose("x.val.accuracy", [0.80, 0.82, 0.84], k=2)
    assert mean == pytest.approx(0.82) and std == pytest.approx(0.02) and (low, high) == pytest.approx((0.78, 0.86))
    assert propose("x.val.accuracy", [0.98, 0.99, 1.0], k=5)[3] == 1.0  # clipped to [0, 1]
    props = calibrate(get_question("hw6.q1"), 2, "smoke", k=3, out=tmp_path, log=lambda s: None)
    by = {p.metric: p for p in props}
    assert set(by) == {"bn.max_abs_diff_keras", "ln.max_abs_diff_keras", "bn_ln.max_abs_difference"}
    p = by["bn_ln.max_abs_difference"]
    assert len(p.values) == 2 and p.low <= min(p.values) and p.high >= max(p.values) and p.current == (0.1, 1000)
    text = format_proposals(props, "hw6.q1", "smoke", 3)
    assert "bn_differs_from_ln" in text and "measured" in text
    with pytest.raises(Exception, match="at least 2"):
        calibrate(get_question("hw6.q1"), 1, "smoke", out=tmp_path)


def test_confusion_totals_property():
    from dlgrade.results import TaskResult
    from dlgrade.rubric.properties import PROPERTIES

    r = TaskResult("x", metrics={"test_samples": 10}, tables={"confusion_matrix": {"columns": ["c", "a", "b"], "rows": [["a", 4, 1], ["b", 2, 3]]}})
    assert PROPERTIES["confusion_totals"](r)[0]
    r.metrics["test_samples"] = 11
    ok, _, detail = PROPERTIES["confusion_totals"](r)
    assert not ok and "sums to 10" in detail


def test_cli_grade_options(tmp_path, capsys):
    from dlgrade.cli import main

    assert main(["grade", "--submission", str(SUBS / "results_fake_bn"), "--out", str(tmp_path), "--no-pdf",
                 "--handin-profile", "smoke"]) == 1
    out = capsys.readouterr().out
    assert "bn_columns_normalised" in out and "7/9 = 12.8333/16.5" in out and "sandbox protections" in out
    assert json.loads((tmp_path / "results_fake_bn" / "results.json").read_text())["score"] == pytest.approx(7 / 9 * 16.5, abs=1e-3)
    assert main(["handout", str(tmp_path / "kit"), "--tasks", "hw6.q1"]) == 0
    assert (tmp_path / "kit" / "hw6_q1.py").is_file() and not (tmp_path / "kit" / "hw14_q4.py").exists()
    assert main(["grade"]) == 2


@pytest.mark.parametrize("task_id", ["hw6.q2", "hw6.q3", "hw6.q4", "hw14.q1", "hw14.q2", "hw14.q3", "hw14.q4"])
def test_reference_passes_hidden_checks_and_the_handout_stub_earns_nothing(tmp_path, task_id):
    from dlgrade.autograde.handout import write_handout

    task = get_question(task_id)
    ref = tmp_path / "ref"
    ref.mkdir()
    # The reference's source, as a student would hand it in (the sandbox cannot import dlgrade's questions).
    (ref / f"{task.slug}.py").write_text(_standalone_reference(task))
    write_handout(tmp_path / "stub", [task])
    options = Options(stages=("unit",), check_timeout_s=60)
    good = grade_question(task, stage(ref), options)
    assert good.total > 0 and good.earned == good.total, [(c.id, c.detail) for c in good.checks if not c.passed]
    stub = grade_question(task, stage(tmp_path / "stub"), options)
    assert stub.earned == 0 and {c.verdict for c in stub.checks if c.points} == {"not_implemented"}


def _standalone_reference(task) -> str:
    """The question's reference module with its relative imports inlined (spec constants, helper modules), so it
    runs as a student's file would."""
    from autograde.references import standalone

    return standalone(task)
