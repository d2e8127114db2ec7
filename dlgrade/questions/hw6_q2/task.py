"""hw6.q2's run: build BERT-base and BERT-large with the student's ``build_bert_encoder``, count their
parameters per component, and compare them with the closed form (ours, and the student's ``bert_param_count``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dlgrade.kit.question import Question, Step, TrainStep
from dlgrade.kit.runner import StepFailed, expect_output

from . import evaluate, train
from .spec import HEADLINE
from .spec import BERT_SIZES, COMPONENTS, CONFIGS, FORMULA, REFERENCE, SEED_OFFSETS, WORDS


def describe_setup(ctx, got) -> None:
    sizes = list(ctx.config.sizes)
    ctx.result.facts.update({"configs": {s: BERT_SIZES[s] for s in sizes}, "reference": REFERENCE, "sizes": sizes,
                             "formula": FORMULA})


def _layers(step: str, built: dict) -> tuple[list[str], np.ndarray, int]:
    """The layer names and parameter counts a build step returned, checked to be names and counts."""
    names = built.get("layer_names")
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise StepFailed(step, "wrong_type", "layer_names is not a list of layer names")
    params = expect_output(built.get("layer_params"), step, "layer_params", (len(names),))
    count = expect_output(built.get("count_params"), step, "count_params", ())
    if np.any(params < 0) or np.any(params != np.round(params)) or count < 0 or count != round(float(count)):
        raise StepFailed(step, "wrong", "parameter counts must be non-negative integers")
    return names, params.astype(np.int64), int(count)


def _evaluate(ctx, got, size: str) -> dict:
    built = got[f"build_{size}"]
    if not built:  # a size this profile does not build
        return {}
    names, params, count = _layers(f"build_{size}", built)
    counts = evaluate.component_counts(names, params, count)
    formula = evaluate.bert_param_breakdown(**BERT_SIZES[size])
    cfg = BERT_SIZES[size]
    build_s = float(expect_output(built.get("build_seconds"), f"build_{size}", "build_seconds", ()))
    m = ctx.result.metrics
    m.update({
        f"{size}.params": counts["total"],
        f"{size}.params_millions": round(counts["total"] / 1e6, 3),
        f"{size}.keras_count_params": count,
        f"{size}.formula_params": formula["total"],
        f"{size}.formula_abs_diff": abs(counts["total"] - formula["total"]),
        f"{size}.breakdown_abs_diff": sum(abs(counts[c] - formula[c]) for c in COMPONENTS),
        f"{size}.unassigned_params": counts["unassigned"],
        f"{size}.head_dim": cfg["hidden"] // cfg["heads"],
        f"{size}.per_layer_params": evaluate.per_layer_params(size),
        f"{size}.build_seconds": round(build_s, 2),
        **{f"{size}.{c}_params": counts[c] for c in COMPONENTS},
    })
    r = ctx.result
    rows = r.tables.get("configs", {}).get("rows", [])
    r.add_table("configs", ["model", "layers", "hidden", "heads", "head_dim", "ffn", "keras_params", "closed_form", "paper",
                            "build_seconds"], rows + [evaluate.config_row(size, counts, build_s)])
    r.facts.setdefault("keras_layers", {})[size] = int(expect_output(built.get("layers"), f"build_{size}", "layers", ()))
    r.facts.setdefault("share", {})[size] = evaluate.shares(counts)
    r.facts.setdefault("token_embedding_params", {})[size] = cfg["vocab"] * cfg["hidden"]
    return {"counts": counts}


def evaluate_base(ctx, got) -> dict:
    return _evaluate(ctx, got, "base")


def evaluate_large(ctx, got) -> dict:
    return _evaluate(ctx, got, "large")


def _match(ctx, got, size: str) -> None:
    keras_counts = got[f"evaluate_{size}"].get("counts")
    student = got["formula"].get("counts")
    if keras_counts is None:
        return
    if not isinstance(student, dict) or size not in student:
        raise StepFailed("formula", "missing", f"bert_param_count gave no count for BERT-{size}")
    n = int(expect_output(student[size], "formula", f"bert_param_count({size})", ()))
    ctx.result.metrics.update({f"{size}.student_formula_params": n,
                               f"{size}.student_formula_abs_diff": abs(keras_counts["total"] - n)})


def match_base(ctx, got) -> None:
    _match(ctx, got, "base")


def match_large(ctx, got) -> None:
    _match(ctx, got, "large")


def compare(ctx, got) -> None:
    counts = {s: got[f"evaluate_{s}"]["counts"] for s in ctx.config.sizes if "counts" in got[f"evaluate_{s}"]}
    cols = ["component"] + [f"{s}_{k}" for s in counts for k in ("params", "share")]
    ctx.result.add_table("breakdown", cols, evaluate.breakdown_rows(counts))
    if "base" in counts and "large" in counts:
        ctx.result.metrics["large.params_over_base"] = round(counts["large"]["total"] / counts["base"]["total"], 4)


QUESTION = Question(
    id="hw6.q2",
    title={"en": "BERT: architecture and the size of BERT-base and BERT-large",
           "fa": "BERT: معماری و اندازهٔ BERT-base و BERT-large"},
    datasets=(),
    configs=CONFIGS,
    steps=(
        Step("setup", describe_setup),
        TrainStep("formula", train.formula, uses=("bert_param_count",)),
        TrainStep("build_base", train.build_base, uses=("build_bert_encoder",)),
        Step("evaluate_base", evaluate_base, needs=("build_base",)),
        Step("match_base", match_base, needs=("formula", "evaluate_base")),
        TrainStep("build_large", train.build_large, uses=("build_bert_encoder",)),
        Step("evaluate_large", evaluate_large, needs=("build_large",)),
        Step("match_large", match_large, needs=("formula", "evaluate_large")),
        Step("compare", compare, needs=("evaluate_base", "evaluate_large")),
    ),
    student_functions=("bert_param_count", "build_bert_encoder"),
    seed_offsets=SEED_OFFSETS,
    package=__package__,
    folder=Path(__file__).parent,
    words=WORDS,
    unchecked={"build_bert_encoder": "checked through the run: the rubric compares the built encoders' parameters, per "
                                     "component, with the closed form"},
    headline=HEADLINE,
)
