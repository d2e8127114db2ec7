"""Full-profile runs kept with their question (dlgrade ship) and shown beside this run and the reference."""

from __future__ import annotations

import json

import pytest

from dlgrade import results as results_mod
from dlgrade.errors import DlgradeError
from dlgrade.pipeline import measured, ship_measured, side_by_side
from dlgrade.questions import all_questions, get_question


def test_every_shipped_run_is_a_valid_trimmed_results_file_of_its_question():
    for q in all_questions():
        path = q.measured_path("full")
        if path.is_file():
            r = results_mod.load(path)
            assert r.task == q.id and r.provenance["profile"] == "full" and r.metrics
            assert not r.tables and not r.figures  # metrics and provenance only
            assert path.stat().st_mode & 0o044, "package data must be readable by everyone"


def test_ship_keeps_metrics_and_provenance_and_refuses_another_questions_run(tmp_path, monkeypatch):
    q = get_question("hw6.q1")
    run = tmp_path / "run"
    run.mkdir()
    r = results_mod.TaskResult("hw6.q1", metrics={"bn.max_abs_diff_keras": 2e-7}, tables={"t": {"columns": ["a"], "rows": [[1]]}},
                               provenance={"profile": "full", "seed": 0, "git_commit": "abc", "started_at": "2026-11-24T06:00:00"})
    results_mod.save(r, run)
    monkeypatch.setattr(type(q), "measured_path", lambda self, profile: tmp_path / "measured" / f"{profile}.results.json")
    kept = json.loads(ship_measured(q, run).read_text())
    assert kept["metrics"] == {"bn.max_abs_diff_keras": 2e-7} and kept["tables"] == {} and kept["provenance"]["seed"] == 0
    assert measured(q, "full").metrics["bn.max_abs_diff_keras"] == 2e-7
    sbs = side_by_side(q, results_mod.TaskResult("hw6.q1", metrics={"bn.max_abs_diff_keras": 3e-7}), "quick")
    assert ["bn.max_abs_diff_keras", 3e-7, 2e-7, None] in sbs["rows"] and sbs["full"]["started_at"] == "2026-11-24"
    assert side_by_side(q, results_mod.TaskResult("hw6.q1"), "full")["full"] is None  # a full run is not shown twice
    with pytest.raises(DlgradeError, match="holds a run of hw6.q1, not of hw6.q2"):
        ship_measured(get_question("hw6.q2"), run)


def test_headline_reference_keys_name_numbers_the_question_reports():
    for q in all_questions():
        for metric, key in q.headline:
            assert metric.count(".") >= 1, (q.id, metric)
            if key is not None:
                ref = q.module("spec").REFERENCE
                node = ref
                for part in key.split("."):
                    node = node[part]
                assert isinstance(node, (int, float)), (q.id, key)
