"""Run store: provenance, atomic results, cache hits and misses."""

from __future__ import annotations

import json

import pytest

from dlgrade.progress import Progress
from dlgrade.results import TaskResult
from dlgrade.runstore import run_task
from dlgrade.tasks import get_task
from dlgrade.tasks.base import Task

CALLS = {"n": 0}


def _counting_run(ctx):
    CALLS["n"] += 1
    r = TaskResult(task=ctx.task_id)
    r.metrics["answer"] = ctx.config["size"] * 2 + ctx.seed
    return r


COUNTING = Task(id="hw0.q1", title={"en": "test", "fa": "آزمون"}, datasets=(), module=__name__, run=_counting_run,
                configs={"smoke": {"size": 1}, "quick": {"size": 2}, "full": {"size": 3}})


def run(tmp_path, **kw):
    kw.setdefault("profile", "smoke")
    kw.setdefault("seed", 0)
    return run_task(COUNTING, out=tmp_path, progress=Progress("t", quiet=True), **kw)


def test_second_run_is_served_from_cache_and_force_reruns(tmp_path):
    CALLS["n"] = 0
    first = run(tmp_path)
    second = run(tmp_path)
    assert (first.cached, second.cached, CALLS["n"]) == (False, True, 1)
    assert second.result.metrics == first.result.metrics
    run(tmp_path, force=True)
    assert CALLS["n"] == 2


@pytest.mark.parametrize("change", [{"seed": 1}, {"profile": "quick"}])
def test_changed_seed_or_profile_reruns(tmp_path, change):
    CALLS["n"] = 0
    run(tmp_path)
    again = run(tmp_path, **change)
    assert not again.cached and CALLS["n"] == 2


def test_changed_code_reruns(tmp_path, monkeypatch):
    CALLS["n"] = 0
    run(tmp_path)
    monkeypatch.setattr("dlgrade.runstore.code_digest", lambda task: "different code")
    assert not run(tmp_path).cached and CALLS["n"] == 2


def test_provenance_names_the_commit_the_run_started_from(tmp_path, monkeypatch):
    head = {"now": "a" * 40}
    monkeypatch.setattr("dlgrade.runstore.git_commit", lambda: head["now"])

    def run_while_checkout_moves(ctx):
        head["now"] = "b" * 40 + "-dirty"  # someone commits or edits while a full run trains
        return _counting_run(ctx)

    task = Task(id="hw0.q1", title=COUNTING.title, datasets=(), module=__name__, run=run_while_checkout_moves,
                configs=COUNTING.configs)
    outcome = run_task(task, profile="smoke", out=tmp_path, progress=Progress("t", quiet=True))
    assert outcome.result.provenance["git_commit"] == "a" * 40


def test_corrupt_cached_results_are_rerun_not_trusted(tmp_path):
    CALLS["n"] = 0
    out = run(tmp_path)
    (out.run_dir / "results.json").write_text("{ half a file")
    assert not run(tmp_path).cached and CALLS["n"] == 2
    json.loads((out.run_dir / "results.json").read_text())


def test_provenance_is_recorded(tmp_path):
    prov = run(tmp_path, seed=7).result.provenance
    assert prov["seed"] == 7 and prov["profile"] == "smoke" and prov["config"] == {"size": 1}
    assert prov["duration_s"] >= 0 and len(prov["fingerprint"]) == 64
    assert {"python", "numpy", "tensorflow", "keras"} <= set(prov["versions"])
    assert "git_commit" in prov


def test_real_task_cache_hit_does_not_retrain(tmp_path):
    task = get_task("hw6.q1")
    first = run_task(task, "smoke", 0, tmp_path, progress=Progress("t", quiet=True))
    stamp = (first.run_dir / "results.json").stat().st_mtime_ns
    second = run_task(task, "smoke", 0, tmp_path, progress=Progress("t", quiet=True))
    assert second.cached and (first.run_dir / "results.json").stat().st_mtime_ns == stamp


def test_force_starts_from_an_empty_run_folder(tmp_path):
    out = run(tmp_path)
    leftover = out.run_dir / "tuner" / "trial.json"
    leftover.parent.mkdir()
    leftover.write_text("{}")
    run(tmp_path)
    assert leftover.exists(), "a cached run keeps resumable state"
    run(tmp_path, force=True)
    assert not leftover.exists(), "--force must not resume old state"
