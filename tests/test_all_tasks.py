"""The common contract every registered task must meet (like scikit-learn's check_estimator)."""

from __future__ import annotations

import json

import pytest

from dlgrade import results
from dlgrade.grader import grade_result, load_rubric
from dlgrade.profiles import PROFILES
from dlgrade.tasks import all_tasks

TASK_IDS = [t.id for t in all_tasks()]


@pytest.mark.parametrize("task_id", TASK_IDS)
def test_task_declares_everything(task_id):
    task = next(t for t in all_tasks() if t.id == task_id)
    assert set(task.configs) == set(PROFILES), "every task needs smoke, quick and full settings"
    assert task.title["en"] and task.title["fa"]
    rubric = load_rubric(task_id)
    assert rubric.task == task_id and rubric.checks
    for lang in ("en", "fa"):
        from dlgrade.reports.render import TEMPLATES

        assert (TEMPLATES / "partials" / f"{task.slug}.{lang}.html.j2").is_file()


@pytest.mark.parametrize("task_id", TASK_IDS)
def test_smoke_run_writes_valid_results_and_passes_its_rubric(task_id, smoke_run):
    outcome = smoke_run(task_id)
    data = json.loads((outcome.run_dir / results.RESULTS_FILE).read_text())
    results.validate(data)
    assert data["provenance"]["profile"] == "smoke" and data["provenance"]["seed"] == 0
    assert data["provenance"]["versions"]["tensorflow"] != "not installed"
    for name in data["figures"].values():
        assert (outcome.run_dir / name).stat().st_size > 1000, f"figure {name} looks empty"
    grade = grade_result(outcome.result)
    failed = [(c.id, c.detail) for c in grade.checks if not c.passed]
    assert not failed, f"{task_id} smoke run failed checks: {failed}"
