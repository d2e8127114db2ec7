"""A class of 2022-era hand-ins (tests/submissions/class2022, written by make_class.py) graded in one batch, the
way an instructor runs it: code at the smoke profile against the reference run, results files at the assignment's
profile (full). Each student gets what a fair instructor would give, and the test says why.
"""

from __future__ import annotations

import csv
import json
import shutil
import sys
from pathlib import Path

import pytest

from dlgrade.autograde import sandbox
from dlgrade.autograde.submission import submitted_tasks

CLASS = Path(__file__).resolve().parents[1] / "submissions" / "class2022"
STUDENTS = ("leila_moradi", "mina_ahmadi", "neda_sadeghi", "omid_rahimi", "reza_tehrani", "sara_karimi")


def test_committed_class_is_what_the_script_writes(tmp_path):
    sys.path.insert(0, str(CLASS))
    try:
        import make_class
    finally:
        sys.path.remove(str(CLASS))
    for path in make_class.build(tmp_path):
        rel = path.relative_to(tmp_path)
        assert (CLASS / rel).read_bytes() == path.read_bytes(), f"{rel}: run python {CLASS / 'make_class.py'}"


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The whole class graded once (2 students at a time), with the feedback PDFs in both languages."""
    from dlgrade.pipeline import grade_students, grading_options
    from dlgrade.questions import all_questions

    root = tmp_path_factory.mktemp("class")
    subs, out = root / "subs", root / "out"
    for name in STUDENTS:
        shutil.copytree(CLASS / name, subs / name)
    held = {t.id for name in STUDENTS for t in submitted_tasks(subs / name)}
    questions = [q for q in all_questions() if q.id in held]
    options = grading_options("smoke", 0, questions, out, limits=sandbox.Limits(memory_mb=3072), log=lambda s: None)
    outcome = grade_students(subs, out, questions, options, jobs=2, langs=("en", "fa"), log=lambda s: None)
    grades = {g.student: g for g in outcome.grades}
    return grades, outcome, out


def _task(grades, student, task):
    return next(t for t in grades[student].tasks if t.task == task)


def _checks(task):
    return {c.id: c for c in task.checks}


def test_a_colab_notebook_with_its_own_helper_and_epsilon_gets_full_marks(graded):
    """mina: Q1.ipynb with !pip, drive.mount, %matplotlib and a helper of her own; epsilon 1e-5 (PyTorch's)."""
    grades, _, _ = graded
    t = _task(grades, "mina_ahmadi", "hw6.q1")
    assert t.mode == "code" and t.earned == t.total == 16.5
    notes = " | ".join(t.notes)
    assert "graded Q1.ipynb" in notes and "(shell): !pip install" in notes and "(colab): drive.mount('/content/drive')" in notes


def test_own_hyper_parameter_names_and_an_alias_of_the_asked_function_get_full_marks(graded):
    """sara: a Colab .py export; model_builder with 'dense_layer_units' and 'learning_rate_choice', and
    build_model = model_builder. The task run retrains through her own hypermodel."""
    grades, _, _ = graded
    t = _task(grades, "sara_karimi", "hw14.q4")
    assert t.mode == "code" and t.earned == t.total == 12, [(c.id, c.detail) for c in t.checks if not c.passed]
    assert any("tuner.search(img_train" in n for n in t.notes)  # top-level search listed, not run


def test_a_keras_2_optimizer_argument_fails_with_the_hint_in_both_languages(graded):
    """omid: Adam(lr=...) raises in Keras 3. No check can pass (the model is never built), but every failure
    carries the one-line hint, and his feedback states the failure once."""
    grades, _, out = graded
    t = _task(grades, "omid_rahimi", "hw14.q4")
    assert t.earned == 0 and t.total == 12
    failed = [c for c in t.checks if c.points]
    assert all("learning_rate=" in c.hint["en"] and "learning_rate=" in c.hint["fa"] for c in failed)
    assert any("HW14_Q4_keras2.ipynb cell 4, line 7" in c.detail for c in failed)  # his cell and line


def test_a_sequential_trunk_and_a_seaborn_import_do_not_cost_the_work(graded):
    """reza: one HW6 notebook. hw6.q3's trunk is a Keras 3 Sequential with no Input (no .output until called):
    full marks. hw6.q4 (Ali's cells) imports seaborn, not installed here: that import is not run and the rest is
    graded; its AveragePooling2D() (no pool_size, a Keras 2 habit) breaks every trial of the search, which
    costs the task run's checks, with the Keras 3 hint and his cell and line."""
    grades, _, _ = graded
    q3 = _task(grades, "reza_tehrani", "hw6.q3")
    assert q3.earned == q3.total == 19, [(c.id, c.detail) for c in q3.checks if not c.passed]
    q4 = _task(grades, "reza_tehrani", "hw6.q4")
    assert any("import seaborn as sns [not installed where grading runs]" in n for n in q4.notes)
    unit = [c for c in q4.checks if c.stage == "unit"]
    assert all(c.passed for c in unit) and q4.earned == sum(c.points for c in unit) == 3
    run = [c for c in q4.checks if c.stage == "rubric"]
    assert {c.verdict for c in run} == {"run_failed"}
    assert all("pool_size" in c.detail and "HW6.ipynb cell 12, line 6" in c.detail and "pool_size" in c.hint["fa"]
               for c in run)


def test_a_half_done_question_gets_the_credit_of_the_done_part(graded):
    """leila: HW14.ipynb. hw14.q1 complete (her error message names the unknown word without quotes: fine);
    hw14.q2 with batch_hard_triplet_loss unfinished (returns None) and batch_semi_hard_triplet_loss never
    written: the random-triplet part is credited, each mining strategy costs only its own checks, once."""
    grades, _, _ = graded
    q1 = _task(grades, "leila_moradi", "hw14.q1")
    assert q1.earned == q1.total == 20, [(c.id, c.detail) for c in q1.checks if not c.passed]
    q2 = _task(grades, "leila_moradi", "hw14.q2")
    c = _checks(q2)
    assert all(c[i].passed for i in ("triplet_loss_values", "accuracies_valid", "random_knn1_accuracy", "random_val_loss",
                                     "random_triplets_become_easy"))
    assert c["batch_hard_values"].verdict == "wrong_type" and "returned NoneType" in c["batch_hard_values"].detail
    assert c["hard_knn1_accuracy"].verdict == "run_failed" and "step batch_hard" in c["hard_knn1_accuracy"].detail
    semi = [c["semi_hard_knn1_accuracy"], c["semi_hard_vs_random"]]
    assert all("does not define batch_semi_hard_triplet_loss()" in s.detail for s in semi)
    assert q2.earned == 9 and q2.total == 17


def test_full_size_results_files_are_graded_at_the_assignments_profile(graded):
    """neda: results files of her own full-size runs, with the reference reports' numbers. hw14.q4 (best trial
    0.886, retrain 0.878) is right at full size; hw6.q3's multi-task model sat at chance (0.10 / 0.25), which
    the full profile's ranges fail, while her baseline 0.3253 and transfer 0.3699 pass."""
    grades, _, _ = graded
    q4 = _task(grades, "neda_sadeghi", "hw14.q4")
    assert q4.mode == "results" and q4.profile == "full" and q4.earned == q4.total
    assert q4.counted == q4.out_of == 12  # counted at the question's weight: one denominator per assignment
    q3 = _checks(_task(grades, "neda_sadeghi", "hw6.q3"))
    assert q3["results_profile"].passed and q3["baseline_test_accuracy"].passed and q3["transfer_test_accuracy"].passed
    assert not q3["joint_best_classifier"].passed and not q3["joint_rotator_learns"].passed
    assert "0.1 outside [0.325, 1]" in q3["joint_best_classifier"].detail


def test_the_gradebook_has_one_denominator_per_assignment(graded):
    grades, outcome, _ = graded
    rows = {r["student"]: r for r in csv.DictReader(open(outcome.gradebook, encoding="utf-8")) if r["student"] != "(max points)"}
    assert set(rows) == set(STUDENTS)
    hw6_max, hw14_max = rows["mina_ahmadi"]["hw6:max"], rows["mina_ahmadi"]["hw14:max"]
    assert all(r["hw6:max"] == hw6_max and r["hw14:max"] == hw14_max for r in rows.values())
    assert "percent" not in rows["mina_ahmadi"]  # no percentage mixes two assignments
    assert float(rows["neda_sadeghi"]["hw14:total"]) == 12 and float(rows["sara_karimi"]["hw14:total"]) == 12
    assert grades["mina_ahmadi"].per_assignment["hw6"] == (16.5, float(hw6_max))


def test_every_student_gets_feedback_in_both_languages(graded):
    grades, _, out = graded
    for name in STUDENTS:
        folder = out / name
        assert (folder / "feedback-en.pdf").stat().st_size > 5000 and (folder / "feedback-fa.pdf").stat().st_size > 5000
        assert json.loads((folder / "grade.json").read_text())["assignments"]
