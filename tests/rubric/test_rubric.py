"""Rubric grading: rubric validation, range/equals/property checks, grade.json, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from dlgrade import cli, results
from dlgrade.errors import ResultsError, RubricError
from dlgrade.pipeline import grade_path
from dlgrade.questions import get_question
from dlgrade.questions.hw6_q1.reference import batch_norm, layer_norm
from dlgrade.rubric import grade_result, load_rubric, parse_rubric
from dlgrade.results import TaskResult

HW6_Q1 = load_rubric(get_question("hw6.q1").rubric_path)

MSG = "message: {en: 'an english message', fa: 'یک پیام فارسی'}"


def rubric(checks: str):
    return parse_rubric(f"task: hw6.q1\nchecks:\n{checks}", "test.yaml")


def hw6_q1_result(bn=batch_norm, ln=layer_norm, profile="quick") -> TaskResult:
    x = np.random.default_rng(0).integers(0, 10, (5, 5)).astype(float)
    r = TaskResult(task="hw6.q1", provenance={"profile": profile, "seed": 0})
    for name, m in (("input", x), ("batch_norm", bn(x)), ("layer_norm", ln(x))):
        r.add_table(name, list("abcde"), m.tolist())
    r.metrics.update({"bn.max_abs_diff_keras": 1e-7, "ln.max_abs_diff_keras": 2e-7, "bn_ln.max_abs_difference": 2.0})
    return r


def test_our_rubric_passes_a_correct_result_and_fails_a_wrong_one():
    good = grade_result(hw6_q1_result(), HW6_Q1)
    assert good.passed and good.earned == good.total == 8 + 1
    swapped = grade_result(hw6_q1_result(bn=layer_norm, ln=batch_norm), HW6_Q1)
    failed = {c.id for c in swapped.checks if not c.passed}
    assert failed == {"bn_columns_normalised", "ln_rows_normalised"}
    assert swapped.earned == swapped.total - 4


def test_range_checks_per_profile_and_missing_metric():
    rb = rubric(f"""  - id: acc
    metric: acc
    range: {{smoke: [0.1, 0.2], quick: [0.5, 0.9], full: [0.8, 1]}}
    points: 2
    {MSG}
""")
    r = TaskResult(task="hw6.q1", metrics={"acc": 0.6}, provenance={"profile": "quick", "seed": 0})
    assert grade_result(r, rb).passed
    assert not grade_result(r, rb, profile="full").passed
    r.metrics.pop("acc")
    check = grade_result(r, rb).checks[0]
    assert not check.passed and "not reported" in check.detail and check.verdict == "not_reported" and check.earned == 0


def test_the_graded_profile_is_never_taken_silently():
    rb = rubric(f"  - id: acc\n    metric: acc\n    range: [0, 1]\n    points: 1\n    {MSG}\n")
    r = TaskResult(task="hw6.q1", metrics={"acc": 0.5})
    with pytest.raises(ResultsError, match="no provenance.profile"):
        grade_result(r, rb)
    assert grade_result(r, rb, profile="full").profile == "full"


@pytest.mark.parametrize("value", [float("nan"), None, "0.7", True])
def test_non_numbers_fail_range_checks(value):
    rb = rubric(f"  - id: acc\n    metric: acc\n    range: [0, 1]\n    points: 1\n    {MSG}\n")
    r = TaskResult(task="hw6.q1", metrics={"acc": value}, provenance={"profile": "quick", "seed": 0})
    assert not grade_result(r, rb).passed


def test_unit_interval_property_catches_impossible_accuracy():
    rb = rubric(f"  - id: u\n    property: metrics_in_unit_interval\n    args: {{suffixes: [accuracy]}}\n    points: 1\n    {MSG}\n")
    r = TaskResult(task="hw6.q1", metrics={"m.val.accuracy": 1.3, "m.train.accuracy": 0.9}, provenance={"profile": "quick", "seed": 0})
    check = grade_result(r, rb).checks[0]
    assert not check.passed and "m.val.accuracy" in check.detail


@pytest.mark.parametrize("body, error", [
    ("  - id: a\n    metric: m\n    range: [1, 0]\n    points: 1\n    " + MSG, "low 1.0 is above high"),
    ("  - id: a\n    metric: m\n    range: {smoke: [0, 1]}\n    points: 1\n    " + MSG, "no entry for profiles"),
    ("  - id: a\n    metric: m\n    range: [0, 1]\n    points: -1\n    " + MSG, "'points' must be a number"),
    ("  - id: a\n    metric: m\n    range: [0, 1]\n    points: 1\n    message: {en: only english}", "'en' and 'fa'"),
    ("  - id: a\n    property: telepathy\n    points: 1\n    " + MSG, "unknown property 'telepathy'"),
    ("  - id: a\n    metric: m\n    range: [0, 1]\n    equals: 3\n    points: 1\n    " + MSG, "exactly one of"),
    ("  - id: a\n    metric: m\n    range: [0, 1]\n    points: 1\n    colour: red\n    " + MSG, "unknown keys"),
    ("  - id: a\n    metric: m\n    range: [0, 1]\n    points: 1\n    " + MSG + "\n  - id: a\n    metric: m\n    range: [0, 1]\n    points: 1\n    " + MSG, "duplicate check ids"),
])
def test_bad_rubrics_are_refused_with_the_reason(body, error):
    with pytest.raises(RubricError, match=error):
        rubric(body + "\n")


def test_bad_yaml_and_missing_rubric():
    with pytest.raises(RubricError, match="not valid YAML"):
        parse_rubric("task: [", "x.yaml")
    with pytest.raises(RubricError, match="no rubric at .*every question folder needs a rubric.yaml"):
        load_rubric(Path("/nonexistent/hw9_q9/rubric.yaml"))


def write_results(tmp_path, result: TaskResult):
    results.save(result, tmp_path)
    return tmp_path


def test_grade_command_writes_grade_json_and_exit_code(tmp_path, capsys):
    good = write_results(tmp_path / "good", hw6_q1_result())
    assert cli.main(["grade", str(good)]) == 0
    assert "all checks passed" in capsys.readouterr().out
    assert json.loads((good / "grade.json").read_text())["passed"] is True
    bad = write_results(tmp_path / "bad", hw6_q1_result(bn=layer_norm))
    assert cli.main(["grade", str(bad)]) == 1
    out = capsys.readouterr().out
    assert "FAIL" in out and "bn_columns_normalised" in out
    assert json.loads((bad / "grade.json").read_text())["earned"] < 9


def test_grade_command_explains_a_malformed_results_file(tmp_path, capsys):
    (tmp_path / "results.json").write_text(json.dumps({"task": "hw6.q1", "metrics": {}}))
    assert cli.main(["grade", str(tmp_path)]) == 2
    assert "field (top level)" in capsys.readouterr().err


def test_grading_accepts_a_results_file_path(tmp_path):
    d = write_results(tmp_path, hw6_q1_result())
    assert grade_path(d / "results.json").passed
