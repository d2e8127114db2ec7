"""The common test every question passes (``dlgrade.question_checks.check_question``), like scikit-learn's
``check_estimator``: declaration, sandbox-safety of its training code, handout, hidden checks, rubric, and a smoke
run whose results validate, follow the metric naming rule, register their figures and render in both languages."""

from __future__ import annotations

import pytest

from dlgrade.question_checks import CHECK_NAMES, check_question
from dlgrade.questions import all_questions

QUESTIONS = [q.id for q in all_questions()]


@pytest.mark.parametrize("name", CHECK_NAMES)
@pytest.mark.parametrize("question_id", QUESTIONS)
def test_question(question_id, name, smoke_run):
    question = next(q for q in all_questions() if q.id == question_id)
    dict(check_question(question, lambda: smoke_run(question_id)))[name]()


def test_the_common_checks_can_fail(tmp_path):
    """A question with an unused student function, a rubric check without a step and sandboxed code importing
    its reference fails the matching checks."""
    from dataclasses import replace

    q = next(q for q in all_questions() if q.id == "hw6.q1")
    broken = replace(q, student_functions=q.student_functions + ("extra",), unchecked={})
    with pytest.raises(AssertionError, match="extra"):
        dict(check_question(broken, lambda: None))["reference_defines_student_functions"]()
    folder = tmp_path / "hw6_q1"
    folder.mkdir()
    (folder / "train.py").write_text("from .reference import batch_norm\nfrom dlgrade.questions import get_question\n")
    (folder / "rubric.yaml").write_text("task: hw6.q1\nchecks:\n  - {id: a, metric: x.y, range: [0, 1], points: 1, "
                                        "message: {en: a, fa: a}}\n")
    moved = replace(q, folder=folder)
    with pytest.raises(AssertionError, match="reference.*not available|not sandbox-safe"):
        dict(check_question(moved, lambda: None))["sandboxed_code_is_self_contained"]()
    with pytest.raises(AssertionError, match="without a step"):
        dict(check_question(moved, lambda: None))["rubric_valid"]()
