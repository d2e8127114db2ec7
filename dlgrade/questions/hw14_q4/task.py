"""hw14.q4's run: baseline, BayesianOptimization search, retrain of the best configuration, all scored on the
official test images whose labels only the trusted side holds."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dlgrade.kit import plots
from dlgrade.kit.keras_fit import scale_images
from dlgrade.kit.compare import compare_accuracies
from dlgrade.kit.question import Question, Step, TrainStep, Witness
from dlgrade.kit.runner import StepFailed, expect_output
from dlgrade.kit.seeds import subset
from dlgrade.kit.tuning import find_choice, find_int

from . import train
from .spec import HEADLINE
from .spec import BASELINE_LEARNING_RATE, LEARNING_RATE_STUDY, BASELINE_UNITS, CONFIGS, LEARNING_RATES, REFERENCE, SEED_OFFSETS, UNITS, \
    VAL_FRACTION, WORDS


def prepare_data(ctx, got) -> dict:
    data = ctx.data.load("fashion-mnist")
    x_train, y_train = subset(scale_images(data["x_train"]), data["y_train"], ctx.config.train_samples, ctx.seeds["subset"])
    return {"x_train": x_train, "y_train": y_train, "x_test": scale_images(data["x_test"]), "y_test": data["y_test"]}


def test_accuracy(step: str, logits, y_test) -> float:
    out = expect_output(logits, step, "the test outputs", (len(y_test), 10))
    return float((out.argmax(axis=1) == np.asarray(y_test)).mean())


def evaluate_baseline(ctx, got) -> dict:
    hist = got["baseline"]["history"]
    acc = test_accuracy("baseline", got["baseline"]["test_logits"], got["data"]["y_test"])
    ctx.result.metrics.update({"baseline.train.accuracy": hist["accuracy"][-1], "baseline.val.accuracy": hist["val_accuracy"][-1],
                               "baseline.test.accuracy": acc})
    return {"history": hist, "test_accuracy": acc}


def evaluate_search(ctx, got) -> dict:
    trials = got["search"]["trials"]
    best = got["search"]["best_values"]
    # the student's own hyper-parameter names, recognised by what they range over
    units = find_int(got["search"].get("space", []), *UNITS) or "units"
    lr = find_choice(got["search"].get("space", []), LEARNING_RATES) or "learning_rate"
    rows = [[t["trial"], t["values"].get(units), t["values"].get(lr),
             None if t["score"] is None else round(float(t["score"]), 4), t["status"]] for t in trials]
    ctx.result.add_table("trials", ["trial", "units", "learning_rate", "best_val_accuracy", "status"], rows)
    scores = [r[3] for r in rows if r[3] is not None]
    if not scores:
        raise StepFailed("search", "error", "no trial produced a score")
    ctx.result.metrics.update({
        "tuner.trials": len(trials),
        "tuner.val.best_accuracy": float(max(scores)),
        "tuner.val.worst_accuracy": float(min(scores)),
        "tuner.best_units": int(best[units]) if units in best else None,
        "tuner.best_learning_rate": float(best[lr]) if lr in best else None,
    })
    ctx.result.facts.update({"best_values": best, "search_span": float(max(scores) - min(scores))})
    return {"units": units, "learning_rate": lr}


def evaluate_retrain(ctx, got) -> dict:
    hist = got["retrain"]["history"]
    base = got["evaluate_baseline"]["history"]
    acc = test_accuracy("retrain", got["retrain"]["test_logits"], got["data"]["y_test"])
    m = ctx.result.metrics
    m.update({
        "retrain.train.accuracy": hist["accuracy"][-1],
        "retrain.val.accuracy": hist["val_accuracy"][-1],
        "retrain.val.best_accuracy": max(hist["val_accuracy"]),
        "retrain.test.accuracy": acc,
        "retrain.val.gain_over_baseline": hist["val_accuracy"][-1] - base["val_accuracy"][-1],
        "retrain.test.gain_over_baseline": acc - got["evaluate_baseline"]["test_accuracy"],
    })
    cfg = ctx.config
    best = got["search"]["best_values"]
    names = got["evaluate_search"]
    ctx.result.add_table("summary", ["model", "units", "learning_rate", "epochs", "train_accuracy", "val_accuracy", "test_accuracy"], [
        ["baseline", BASELINE_UNITS, BASELINE_LEARNING_RATE, cfg.epochs_baseline, round(base["accuracy"][-1], 4),
         round(base["val_accuracy"][-1], 4), round(got["evaluate_baseline"]["test_accuracy"], 4)],
        ["tuned_retrained", best.get(names["units"]), best.get(names["learning_rate"]), cfg.epochs_retrain, round(hist["accuracy"][-1], 4),
         round(hist["val_accuracy"][-1], 4), round(acc, 4)],
    ])
    ctx.result.facts.update({
        # test against test, with the binomial band of the official test images
        "tuned_vs_baseline": compare_accuracies(acc, got["evaluate_baseline"]["test_accuracy"], len(got["data"]["y_test"])),
        "best_learning_rate_differs": best.get(names["learning_rate"]) != BASELINE_LEARNING_RATE,
        "overfitting": m["retrain.train.accuracy"] - m["retrain.val.accuracy"] > 0.03,
        "history": {"baseline": base, "retrain": hist},
    })
    return {}


def figures(ctx, got) -> None:
    plots.draw(ctx.figure("learning_curves", "learning_curves.png"), plots.learning_curves,
               {"baseline": got["baseline"]["history"], "tuned_retrained": got["retrain"]["history"]}, labels=WORDS["value"],
               title={"en": "Fashion-MNIST: baseline vs tuned dense net",
                      "fa": "Fashion-MNIST: مدل پایه در برابر شبکهٔ چگال تنظیم‌شده"})


def describe_setup(ctx, got) -> None:
    ctx.result.facts.update({
        "reference": REFERENCE,
        "search_space": {"units": {"min": UNITS[0], "max": UNITS[1], "step": UNITS[2]}, "learning_rate": list(LEARNING_RATES)},
        "train_samples": int(len(got["data"]["x_train"])), "val_fraction": VAL_FRACTION,
        "test_samples": int(len(got["data"]["x_test"])), "baseline_units": BASELINE_UNITS,
        "baseline_learning_rate": BASELINE_LEARNING_RATE, "learning_rate_study": LEARNING_RATE_STUDY,
    })


QUESTION = Question(
    id="hw14.q4",
    title={"en": "keras-tuner BayesianOptimization on Fashion-MNIST",
           "fa": "تنظیم ابرپارامتر با BayesianOptimization در keras-tuner روی Fashion-MNIST"},
    datasets=("fashion-mnist",),
    configs=CONFIGS,
    steps=(
        Step("data", prepare_data, held_out=("y_test",)),
        Step("setup", describe_setup, needs=("data",)),
        TrainStep("baseline", train.baseline, inputs=("data.x_train", "data.y_train", "data.x_test")),
        Step("evaluate_baseline", evaluate_baseline, needs=("data", "baseline")),
        # The search's and the retrain's reported scores (validation accuracies, which they hold the labels of) are
        # credited only when the retrained best configuration scores on the held-out test images.
        TrainStep("search", train.search, inputs=("data.x_train", "data.y_train"), uses=("build_model",),
                  witness=Witness("retrain.test.accuracy", below=0.10)),
        Step("evaluate_search", evaluate_search, needs=("search",)),
        TrainStep("retrain", train.retrain, inputs=("data.x_train", "data.y_train", "data.x_test", "search.best_values"),
                  uses=("build_model",), witness=Witness("retrain.test.accuracy", below=0.10)),
        Step("evaluate_retrain", evaluate_retrain, needs=("data", "search", "evaluate_search", "retrain", "evaluate_baseline")),
        Step("figures", figures, needs=("baseline", "retrain")),
    ),
    student_functions=("build_model",),
    seed_offsets=SEED_OFFSETS,
    package=__package__,
    folder=Path(__file__).parent,
    words=WORDS,
    headline=HEADLINE,
)
