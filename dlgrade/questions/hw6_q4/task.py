"""hw6.q4's run: RandomSearch over the student's hypermodel, the best configuration retrained through it, and a
per-class report on the official test images whose labels only the trusted side holds."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dlgrade.kit.compare import compare_accuracies
from dlgrade.kit.question import Question, Step, TrainStep, Witness
from dlgrade.kit.runner import StepFailed, expect_output

from . import evaluate, figures as draw, train
from .data import split_data
from .spec import HEADLINE
from .spec import (BN_MOMENTUM, CHANCE_ACCURACY, CONFIGS, NEAR_CHANCE_ACCURACY, NUM_CLASSES, OVERFIT_GAP, PATIENCE,
                   REFERENCE, SEED_OFFSETS, UNIFORM_LOSS, WORDS, describe, search_space)


def prepare_data(ctx, got) -> dict:
    data = ctx.data.load("cifar10")
    return {**split_data(data, ctx.config, ctx.seeds), "test_images_total": int(len(data["x_test"]))}


def describe_setup(ctx, got) -> None:
    d = got["data"]
    ctx.result.facts.update({
        "reference": REFERENCE, "bn_momentum": BN_MOMENTUM, "search_space": search_space(), "patience": PATIENCE,
        "train_samples": int(len(d["x_train"])), "val_samples": int(len(d["x_val"])), "test_samples": int(len(d["y_test"])),
        "test_is_full": ctx.config.test_samples is None, "test_images_total": d["test_images_total"],
        "full_epochs_retrain": CONFIGS["full"].epochs_retrain, "chance_accuracy": CHANCE_ACCURACY,
        "uniform_loss": UNIFORM_LOSS,
    })


def evaluate_search(ctx, got) -> dict:
    trials = evaluate.checked_trials(got["search"].get("trials"))
    histories = got["search"].get("histories")
    if not isinstance(histories, dict):
        raise StepFailed("search", "wrong_type", "histories is not a dict of trial histories")
    r = ctx.result
    r.add_table("trials", evaluate.TRIAL_COLUMNS, evaluate.trial_rows(trials, histories))
    best = evaluate.best_trial(trials)
    shown = describe(best["values"])
    r.add_table("best_hyperparameters", ["hyperparameter", "value"], [[k, v] for k, v in shown.items()])
    scores = [float(t["score"]) for t in trials if t["score"] is not None]
    r.metrics.update({"tuner.trials": len(scores), "tuner.resumed_trials": int(expect_output(got["search"].get("resumed_trials"), "search", "resumed_trials", ())),
                      "tuner.val.best_accuracy": max(scores), "tuner.val.worst_accuracy": min(scores)})
    r.metrics.update({f"tuner.best_{k}": v for k, v in shown.items() if v is not None})
    r.facts["search_span"] = max(scores) - min(scores)
    try:
        best_history = _history("search", histories.get(best["id"]))
    except StepFailed:  # a curve only for the figure: a trial without one is drawn without it
        best_history = None
    return {"best_values": dict(best["values"]), "best_history": best_history}


HISTORY_KEYS = ("accuracy", "loss", "val_accuracy", "val_loss")


def _history(step: str, hist) -> dict[str, list[float]]:
    """A Keras history a training step returned, checked: accuracy/loss and their validation curves, one value per epoch."""
    if not isinstance(hist, dict) or not all(k in hist for k in HISTORY_KEYS):
        raise StepFailed(step, "wrong_type", f"the history lacks one of {list(HISTORY_KEYS)}")
    out = {k: [float(v) for v in expect_output(hist[k], step, k)] for k in HISTORY_KEYS}
    if len({len(v) for v in out.values()}) != 1 or not out["accuracy"]:
        raise StepFailed(step, "shape", "the history's curves are empty or of different lengths")
    return out


def evaluate_retrain(ctx, got) -> dict:
    hist = _history("retrain", got["retrain"].get("history"))
    ctx.result.metrics.update({"retrain.train.accuracy": hist["accuracy"][-1], "retrain.val.accuracy": hist["val_accuracy"][-1],
                               "retrain.val.best_accuracy": max(hist["val_accuracy"])})
    ctx.result.facts["retrain_peak_val_loss"] = max(hist["val_loss"])
    return {"history": hist}


def evaluate_test(ctx, got) -> dict:
    y_test = got["data"]["y_test"]
    probs = expect_output(got["retrain"].get("test_probs"), "retrain", "the test probabilities", (len(y_test), NUM_CLASSES))
    rep, y_pred = evaluate.test_report(y_test, probs)
    r = ctx.result
    r.add_table("classification_report", ["class", "precision", "recall", "f1", "support"],
                rep.rows(evaluate.CIFAR10_CLASSES))
    r.add_table("confusion_matrix", ["true_class", *evaluate.CIFAR10_CLASSES], evaluate.confusion_rows(rep.confusion))
    ranked = evaluate.ranked_by_f1(rep)
    names = evaluate.CIFAR10_CLASSES
    accuracy = float((y_pred == y_test).mean())
    r.metrics.update({
        "retrain.test.accuracy": accuracy, "retrain.test.samples": int(len(y_test)),
        "retrain.test.macro_precision": rep.macro("precision"), "retrain.test.macro_recall": rep.macro("recall"),
        "retrain.test.macro_f1": rep.macro("f1"), "retrain.test.weighted_f1": rep.weighted("f1"),
        "retrain.test.weakest_class": names[ranked[0]], "retrain.test.weakest_f1": float(rep.f1[ranked[0]]),
        "retrain.test.strongest_class": names[ranked[-1]], "retrain.test.strongest_f1": float(rep.f1[ranked[-1]]),
    })
    hist = got["evaluate_retrain"]["history"]
    near_chance = accuracy < NEAR_CHANCE_ACCURACY
    r.facts.update({
        "classes_predicted": int(len(np.unique(y_pred))),
        "weakest": {"class": names[ranked[0]], "precision": float(rep.precision[ranked[0]]),
                    "recall": float(rep.recall[ranked[0]]), "f1": float(rep.f1[ranked[0]])},
        "next_weakest": [{"class": names[k], "f1": float(rep.f1[k])} for k in ranked[1:3]],
        "top_confusion": evaluate.top_confusion(rep.confusion),
        "near_chance": near_chance,
        "overfitting": hist["accuracy"][-1] - hist["val_accuracy"][-1] > OVERFIT_GAP and not near_chance,
    })
    return {"confusion": rep.confusion}


def evaluate_smallest(ctx, got) -> dict:
    """The smallest model's test accuracy, and the retrain compared with it inside the binomial noise band of the
    test images (the verdict the discussion's sentence is chosen from)."""
    y_test = got["data"]["y_test"]
    hist = _history("smallest", got["smallest"].get("history"))
    probs = expect_output(got["smallest"].get("test_probs"), "smallest", "the test probabilities", (len(y_test), NUM_CLASSES))
    accuracy = float((probs.argmax(axis=1) == y_test).mean())
    m = ctx.result.metrics
    m.update({"smallest.test.accuracy": accuracy, "smallest.val.accuracy": hist["val_accuracy"][-1],
              "retrain.test.gain_over_smallest": m["retrain.test.accuracy"] - accuracy})
    ctx.result.facts["smallest"] = {"values": describe(got["smallest"].get("values") or {}),
                                    "vs_retrain": compare_accuracies(m["retrain.test.accuracy"], accuracy, len(y_test))}
    return {"history": hist}


def figures(ctx, got) -> None:
    draw.learning_curves(ctx, got["evaluate_search"]["best_history"], got["evaluate_retrain"]["history"],
                         got["evaluate_smallest"]["history"])
    draw.confusion_matrix(ctx, got["evaluate_test"]["confusion"])


QUESTION = Question(
    id="hw6.q4",
    title={"en": "keras-tuner RandomSearch of a CNN on CIFAR-10",
           "fa": "جست‌وجوی تصادفی ابرپارامترهای یک شبکهٔ کانولوشنی با keras-tuner روی CIFAR-10"},
    datasets=("cifar10",),
    configs=CONFIGS,
    steps=(
        Step("data", prepare_data, held_out=("y_test",)),
        Step("setup", describe_setup, needs=("data",)),
        # The search's and the retrain's reported scores (validation accuracies: they hold those labels) count only
        # when the retrained model's held-out test recall, scored here, stands up to the reference run's.
        TrainStep("search", train.search, inputs=("data.x_train", "data.y_train", "data.x_val", "data.y_val"),
                  uses=("build_model",), witness=Witness("retrain.test.macro_recall")),
        Step("evaluate_search", evaluate_search, needs=("search",)),
        TrainStep("retrain", train.retrain, inputs=("data.x_train", "data.y_train", "data.x_val", "data.y_val", "data.x_test",
                                                    "evaluate_search.best_values"), uses=("build_model",),
                  witness=Witness("retrain.test.macro_recall")),
        Step("evaluate_retrain", evaluate_retrain, needs=("retrain",)),
        Step("evaluate_test", evaluate_test, needs=("data", "retrain", "evaluate_retrain")),
        TrainStep("smallest", train.smallest, inputs=("data.x_train", "data.y_train", "data.x_val", "data.y_val", "data.x_test"),
                  uses=("build_model",)),
        Step("evaluate_smallest", evaluate_smallest, needs=("data", "smallest", "evaluate_test")),
        Step("figures", figures, needs=("evaluate_search", "evaluate_retrain", "evaluate_test", "evaluate_smallest")),
    ),
    student_functions=("build_model",),
    seed_offsets=SEED_OFFSETS,
    package=__package__,
    folder=Path(__file__).parent,
    words=WORDS,
    headline=HEADLINE,
)
