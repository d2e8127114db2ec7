"""hw6.q1's run: draw the matrix, normalise it with the student's (or reference) functions, compare with Keras."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dlgrade.kit.question import Question, Step, TrainStep
from dlgrade.kit.runner import expect_output

from . import evaluate, train
from .spec import HEADLINE
from .spec import CONFIGS, EPSILON, SEED_OFFSETS, WORDS


def make_matrix(ctx, got) -> dict:
    cfg = ctx.config
    x = ctx.seeds.rng("matrix").integers(cfg.low, cfg.high, size=(cfg.size, cfg.size)).astype(np.float64)
    ctx.result.add_table("input", [f"c{j + 1}" for j in range(x.shape[1])], evaluate.matrix_rows(x))
    ctx.result.facts.update({"epsilon": EPSILON, "shape": list(x.shape), "low": cfg.low, "high": cfg.high})
    return {"x": x}


def keras_reference(ctx, got) -> dict:
    bn, ln = evaluate.keras_norms(got["data"]["x"])
    cols = [f"c{j + 1}" for j in range(bn.shape[1])]
    ctx.result.add_table("keras_batch_norm", cols, evaluate.matrix_rows(bn))
    ctx.result.add_table("keras_layer_norm", cols, evaluate.matrix_rows(ln))
    return {"batch_norm": bn, "layer_norm": ln}


def _evaluate(ctx, got, name: str, prefix: str, axis: int, axis_name: str, what: str) -> dict:
    x = got["data"]["x"]
    out = expect_output(got[name]["output"], f"evaluate_{prefix}", f"{name}(x)", x.shape, finite=False)
    mean_err, std_err = evaluate.normalisation_errors(x, out, axis)
    r = ctx.result
    r.add_table(name, [f"c{j + 1}" for j in range(x.shape[1])], evaluate.matrix_rows(out))
    r.metrics[f"{prefix}.max_abs_{what}_mean"] = mean_err
    r.metrics[f"{prefix}.max_abs_{what}_std_error"] = std_err
    r.metrics[f"{prefix}.max_abs_diff_keras"] = float(np.abs(out - got["keras"][name]).max())
    rows = r.tables.get("stats", {}).get("rows", [])
    r.facts["smallest_std"] = min(r.facts.get("smallest_std", np.inf), float(out.std(axis=axis).min()))
    r.add_table("stats", ["matrix", "axis", "mean_min", "mean_max", "std_min", "std_max"],
                rows + [evaluate.stats_row(name, axis_name, out, axis)])
    return {"output": out}


def evaluate_bn(ctx, got) -> dict:
    return _evaluate(ctx, got, "batch_norm", "bn", 0, "columns", "column")


def evaluate_ln(ctx, got) -> dict:
    return _evaluate(ctx, got, "layer_norm", "ln", 1, "rows", "row")


def compare(ctx, got) -> None:
    ctx.result.metrics["bn_ln.max_abs_difference"] = float(
        np.abs(got["evaluate_bn"]["output"] - got["evaluate_ln"]["output"]).max())


QUESTION = Question(
    id="hw6.q1",
    title={"en": "Batch normalization vs layer normalization", "fa": "نرمال‌سازی دسته‌ای در برابر نرمال‌سازی لایه‌ای"},
    datasets=(),
    configs=CONFIGS,
    steps=(
        Step("data", make_matrix),
        TrainStep("batch_norm", train.batch_norm, inputs=("data.x",), uses=("batch_norm",)),
        TrainStep("layer_norm", train.layer_norm, inputs=("data.x",), uses=("layer_norm",)),
        Step("keras", keras_reference, needs=("data",)),
        Step("evaluate_bn", evaluate_bn, needs=("data", "batch_norm", "keras")),
        Step("evaluate_ln", evaluate_ln, needs=("data", "layer_norm", "keras")),
        Step("compare", compare, needs=("evaluate_bn", "evaluate_ln")),
    ),
    student_functions=("batch_norm", "layer_norm"),
    seed_offsets=SEED_OFFSETS,
    package=__package__,
    folder=Path(__file__).parent,
    words=WORDS,
    headline=HEADLINE,
)
