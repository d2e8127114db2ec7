"""hw6.q2: the closed-form BERT parameter count and the Keras encoder agree per component; the run's steps
cost only their own checks when a student function is broken."""

from __future__ import annotations

import types

import numpy as np
import pytest

from dlgrade.kit import harness
from dlgrade.kit.config import ConfigError
from dlgrade.kit.runner import StepFailed
from dlgrade.progress import Progress
from dlgrade.questions.hw6_q2 import QUESTION, evaluate, reference, spec, task, train
from dlgrade.questions.hw6_q2.evaluate import bert_param_breakdown, component_counts, component_of
from dlgrade.questions.hw6_q2.reference import bert_param_count, build_bert_encoder
from dlgrade.questions.hw6_q2.spec import BERT_SIZES, COMPONENTS
from dlgrade.results import metric_name_problem

TINY = {"layers": 1, "hidden": 32, "heads": 2, "ffn": 64, "vocab": 50, "positions": 16, "segments": 2}


def test_known_sizes():
    assert bert_param_count(**BERT_SIZES["base"]) == 109_482_240
    assert bert_param_count(**BERT_SIZES["large"]) == 335_141_888


def test_breakdown_adds_up_and_heads_do_not_change_the_count():
    parts = bert_param_breakdown(**BERT_SIZES["base"])
    assert sum(parts[c] for c in COMPONENTS) == parts["total"]
    assert bert_param_count(12, 768, 6, 3072) == bert_param_count(12, 768, 12, 3072)
    # one layer more adds exactly one block: 4(H^2+H) + 2HF + F + H + 4H
    h, f = 768, 3072
    assert bert_param_count(13, h, 12, f) - bert_param_count(12, h, 12, f) == 4 * (h * h + h) + 2 * h * f + f + h + 4 * h
    assert evaluate.per_layer_params("base") == 4 * (h * h + h) + 2 * h * f + f + h + 4 * h


@pytest.mark.parametrize("cfg", [
    dict(layers=2, hidden=64, heads=4, ffn=128, vocab=100, positions=32, segments=2),
    dict(layers=1, hidden=48, heads=3, ffn=96, vocab=57, positions=16, segments=3),
])
def test_keras_model_matches_closed_form_per_component(cfg):
    model = build_bert_encoder(**cfg)
    counts = component_counts(*train.layer_params(model), model.count_params())
    formula = bert_param_breakdown(**cfg)
    for c in COMPONENTS + ("total",):
        assert counts[c] == formula[c], c
    assert counts["unassigned"] == 0


def test_small_encoder_runs_forward():
    model = build_bert_encoder(layers=1, hidden=32, heads=2, ffn=64, vocab=50, positions=16)
    seq, pooled = model([np.zeros((2, 7), "int32"), np.zeros((2, 7), "int32")])
    assert tuple(seq.shape) == (2, 7, 32) and tuple(pooled.shape) == (2, 32)


def test_component_names():
    assert component_of("attention_3") == "attention" and component_of("norm_output_0") == "layer_norms"
    assert component_of("embeddings_position") == "embeddings" and component_of("pooler") == "pooler"
    assert component_of("dropout") is None and component_of("dense_7") is None


def test_layers_named_outside_the_components_are_unassigned_not_fatal():
    counts = component_counts(["embeddings_token", "dense_7", "pooler"], [100, 40, 12], 152)
    assert counts["embeddings"] == 100 and counts["pooler"] == 12 and counts["total"] == 152
    assert counts["unassigned"] == 40
    rows = evaluate.breakdown_rows({"base": counts})
    assert [r[0] for r in rows] == [*COMPONENTS, "unassigned", "total"]
    assert rows[-1] == ["total", 152, 100.0]


@pytest.mark.parametrize("bad", [dict(hidden=770), dict(layers=0), dict(vocab=-1), dict(heads=1.5), dict(ffn=True)])
def test_bad_sizes_are_rejected(bad):
    cfg = {**BERT_SIZES["base"], **bad}
    with pytest.raises(ValueError):
        bert_param_count(**cfg)
    with pytest.raises(ValueError):
        build_bert_encoder(**{**cfg, "layers": 1} if "layers" not in bad else cfg)


def test_config_rejects_unknown_sizes():
    assert spec.Config(sizes=("base",)).sizes == ("base",)
    with pytest.raises(ConfigError, match="huge"):
        spec.Config(sizes=("base", "huge"))
    with pytest.raises(ConfigError):
        spec.Config(sizes=())


def test_question_declares_steps_by_student_function():
    assert QUESTION.problems() == []
    uses = {s.name: s.uses for s in QUESTION.steps if s.sandboxed}
    assert uses == {"formula": ("bert_param_count",), "build_base": ("build_bert_encoder",),
                    "build_large": ("build_bert_encoder",)}
    import yaml

    rubric = yaml.safe_load(QUESTION.rubric_path.read_text())
    names = {s.name for s in QUESTION.steps}
    assert all(c["step"] in names for c in rubric["checks"])


def _run_step(name: str, fns, sizes=("base", "large")) -> dict:
    step = QUESTION.step(name)
    return harness.run_step(fns, target=step.target, config_class="dlgrade.questions.hw6_q2.spec:Config",
                            config={"sizes": list(sizes)}, seed=0, seed_offsets={}, inputs={},
                            progress=Progress(quiet=True))


def test_formula_step_returns_the_student_counts():
    assert _run_step("formula", reference) == {"counts": {"base": 109_482_240, "large": 335_141_888}}
    cheat = types.SimpleNamespace(bert_param_count=lambda *a, **k: "110M")
    with pytest.raises(TypeError, match="expected an int"):
        _run_step("formula", cheat)


def test_build_step_skips_a_size_the_profile_does_not_build_and_rejects_non_models():
    assert _run_step("build_large", reference, sizes=("base",)) == {}
    not_a_model = types.SimpleNamespace(build_bert_encoder=lambda **k: {"params": 110_000_000})
    with pytest.raises(TypeError, match="expected a keras.Model"):
        _run_step("build_base", not_a_model)


class _Ctx:
    def __init__(self):
        from dlgrade.results import TaskResult

        self.result = TaskResult("hw6.q2")
        self.config = spec.CONFIGS["smoke"]


@pytest.mark.parametrize("built, verdict", [
    ({"layer_names": "embeddings_token", "layer_params": [1], "count_params": 1, "layers": 1, "build_seconds": 0.1}, "wrong_type"),
    ({"layer_names": ["pooler"], "layer_params": [1, 2], "count_params": 3, "layers": 1, "build_seconds": 0.1}, "shape"),
    ({"layer_names": ["pooler"], "layer_params": [-5], "count_params": 3, "layers": 1, "build_seconds": 0.1}, "wrong"),
    ({"layer_names": ["pooler"], "layer_params": [float("nan")], "count_params": 3, "layers": 1, "build_seconds": 0.1}, "nan"),
])
def test_malformed_build_outputs_fail_the_step_with_a_reason(built, verdict):
    with pytest.raises(StepFailed) as e:
        task.evaluate_base(_Ctx(), {"build_base": built})
    assert e.value.verdict == verdict


def test_a_broken_function_costs_only_its_own_steps(tmp_path, monkeypatch):
    """A bert_param_count that raises fails the formula step and the two match steps; the encoders are still
    built, counted and graded (tiny sizes stand in for base and large to keep the test fast)."""
    from dlgrade.pipeline import grade_outcome
    from dlgrade.runstore import run_question

    monkeypatch.setitem(BERT_SIZES, "base", dict(TINY))
    monkeypatch.setitem(BERT_SIZES, "large", {**TINY, "layers": 2, "hidden": 48, "heads": 3})

    def broken(*args, **kwargs):
        raise StepFailed("formula", "error", "bert_param_count raised ZeroDivisionError")

    fns = types.SimpleNamespace(bert_param_count=broken, build_bert_encoder=reference.build_bert_encoder)
    outcome = run_question(QUESTION, "smoke", 0, tmp_path, force=True, fns=fns, keep_going=True,
                           progress=Progress(quiet=True), overrides_digest="broken")
    assert outcome.steps.status["formula"] == "failed"
    assert outcome.steps.status["match_base"] == outcome.steps.status["match_large"] == "skipped"
    assert all(outcome.steps.ok(s) for s in ("build_base", "evaluate_base", "build_large", "evaluate_large", "compare"))
    m = outcome.result.metrics
    assert m["base.params"] == bert_param_breakdown(**TINY)["total"] and m["base.breakdown_abs_diff"] == 0
    assert "base.student_formula_abs_diff" not in m
    grade = grade_outcome(QUESTION, outcome, write=False)
    failed = {c.id for c in grade.checks if not c.passed}
    assert {"base_matches_formula", "large_matches_formula"} <= failed
    assert "breakdown_matches" not in failed and "no_unassigned_params" not in failed
    assert all(metric_name_problem(k) is None for k in m)


def test_hidden_check_passes_the_reference_and_gives_partial_credit():
    from dlgrade.kit.hidden import CheckFailed, collect
    from dlgrade.questions.hw6_q2 import hidden

    check = {c.id: c for c in collect(hidden)}["param_count_values"]
    assert check.functions == ("bert_param_count",)
    assert check.fn(reference, reference) is None
    no_pooler = types.SimpleNamespace(bert_param_count=lambda L, H, A, F, *a, **k: bert_param_count(L, H, A, F) - (H * H + H))
    with pytest.raises(CheckFailed):
        check.fn(no_pooler, reference)
    always_base = types.SimpleNamespace(bert_param_count=lambda *a, **k: 109_482_240)
    part = check.fn(always_base, reference)
    assert part.fraction == pytest.approx(1 / 3) and "instead of" in part.detail
    with pytest.raises(CheckFailed) as e:
        check.fn(types.SimpleNamespace(bert_param_count=lambda *a, **k: "110M"), reference)
    assert e.value.verdict == "wrong_type"
