"""Grader: rubrics (YAML), checks on metrics and properties, grades and feedback."""

from dlgrade.grader.grade import Grade, grade_result, grade_run_dir, format_table
from dlgrade.grader.rubric import Rubric, load_rubric, parse_rubric

__all__ = ["Grade", "grade_result", "grade_run_dir", "format_table", "Rubric", "load_rubric", "parse_rubric"]
