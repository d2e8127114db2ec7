"""Rubric grading, pure: a results.json and a rubric give a grade. No processes, no training, no questions imported."""

from dlgrade.rubric.grade import Grade, GradedCheck, evaluate_check, format_table, grade_result
from dlgrade.rubric.parse import Check, Rubric, load_rubric, parse_rubric

__all__ = ["Grade", "GradedCheck", "evaluate_check", "format_table", "grade_result", "Check", "Rubric", "load_rubric",
           "parse_rubric"]
