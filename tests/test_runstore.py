"""Run store: provenance, atomic results, cache hits and misses."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from dlgrade.kit.config import Config
from dlgrade.kit.question import Question, Step
from dlgrade.progress import Progress
from dlgrade.questions import get_question
from dlgrade.runstore import run_question

CALLS = {"n": 0}


@dataclass(frozen=True)
class SizeConfig(Config):
    size: int


def _count(ctx, got):
    CALLS["n"] += 1
    ctx.result.metrics["run.answer"] = ctx.config.size * 2 + ctx.seed


def counting(folder: Path, fn=_count) -> Question:
    folder.mkdir(exist_ok=True)
    (folder / "code.py").write_text("# the question's code\n")
    return Question(id="hw0.q1", title={"en": "test", "fa": "آزمون"}, datasets=(),
                    configs={"smoke": SizeConfig(1), "quick": SizeConfig(2), "full": SizeConfig(3)},
                    steps=(Step("count", fn),), student_functions=(), seed_offsets={}, package=__name__, folder=folder)


@pytest.fixture
def run(tmp_path):
    q = counting(tmp_path / "q")

    def go(**kw):
        kw.setdefault("profile", "smoke")
        kw.setdefault("seed", 0)
        return run_question(kw.pop("question", q), out=tmp_path, progress=Progress("t", quiet=True), **kw)

    return go


def test_second_run_is_served_from_cache_and_force_reruns(run):
    CALLS["n"] = 0
    first = run()
    second = run()
    assert (first.cached, second.cached, CALLS["n"]) == (False, True, 1)
    assert second.result.metrics == first.result.metrics
    run(force=True)
    assert CALLS["n"] == 2


@pytest.mark.parametrize("change", [{"seed": 1}, {"profile": "quick"}])
def test_changed_seed_or_profile_reruns(run, change):
    CALLS["n"] = 0
    run()
    again = run(**change)
    assert not again.cached and CALLS["n"] == 2


def test_changed_code_reruns(run, tmp_path):
    CALLS["n"] = 0
    run()
    (tmp_path / "q" / "code.py").write_text("# edited\n")
    assert not run().cached and CALLS["n"] == 2


def test_provenance_names_the_commit_the_run_started_from(tmp_path, monkeypatch):
    head = {"now": "a" * 40}
    monkeypatch.setattr("dlgrade.runstore.git_commit", lambda: head["now"])

    def run_while_checkout_moves(ctx, got):
        head["now"] = "b" * 40 + "-dirty"  # someone commits or edits while a full run trains
        _count(ctx, got)

    q = counting(tmp_path / "q", run_while_checkout_moves)
    outcome = run_question(q, profile="smoke", out=tmp_path, progress=Progress("t", quiet=True))
    assert outcome.result.provenance["git_commit"] == "a" * 40


def test_corrupt_cached_results_are_rerun_not_trusted(run):
    CALLS["n"] = 0
    out = run()
    (out.run_dir / "results.json").write_text("{ half a file")
    assert not run().cached and CALLS["n"] == 2
    json.loads((out.run_dir / "results.json").read_text())


def test_provenance_is_recorded(run):
    prov = run(seed=7).result.provenance
    assert prov["seed"] == 7 and prov["profile"] == "smoke" and prov["config"] == {"size": 1}
    assert prov["duration_s"] >= 0 and len(prov["fingerprint"]) == 64
    assert {"python", "numpy", "tensorflow", "keras"} <= set(prov["versions"])
    assert "git_commit" in prov and prov["steps"]["status"] == {"count": "done"}


def test_real_question_cache_hit_does_not_retrain(tmp_path):
    q = get_question("hw6.q1")
    first = run_question(q, "smoke", 0, tmp_path, progress=Progress("t", quiet=True))
    stamp = (first.run_dir / "results.json").stat().st_mtime_ns
    second = run_question(q, "smoke", 0, tmp_path, progress=Progress("t", quiet=True))
    assert second.cached and (first.run_dir / "results.json").stat().st_mtime_ns == stamp


def test_force_starts_from_an_empty_run_folder(run):
    out = run()
    leftover = out.run_dir / "steps" / "search" / "trial.json"
    leftover.parent.mkdir(parents=True)
    leftover.write_text("{}")
    run()
    assert leftover.exists(), "a cached run keeps resumable state"
    run(force=True)
    assert not leftover.exists(), "--force must not resume old state"
