"""hw14.q4: keras-tuner BayesianOptimization of a dense net on Fashion-MNIST.

Baseline: Flatten -> Dense(128, relu) -> Dense(10) logits. Search space (the
homework's): units 16..512 step 16, learning rate in {1e-4, 5e-4, 1e-3, 5e-3, 1e-2};
Adam, sparse categorical cross-entropy from logits, objective ``val_accuracy`` with
``validation_split=0.2``. The best configuration is then retrained from scratch.
"""

from __future__ import annotations

import numpy as np

from dlgrade.reports import plots
from dlgrade.results import TaskResult
from dlgrade.tasks._keras import fit, scale_images, subset
from dlgrade.tasks._tuning import finished_trials, make_tuner
from dlgrade.tasks.base import Context, Task

UNITS = (16, 512, 16)  # min, max, step
LEARNING_RATES = (1e-4, 5e-4, 1e-3, 5e-3, 1e-2)
BASELINE_UNITS = 128
REFERENCE = {"baseline_val_accuracy": 0.8475, "best_val_accuracy": 0.886, "best_units": 32,
             "best_learning_rate": 1e-3, "retrain_val_accuracy": 0.878, "retrain_train_accuracy": 0.927}


def build_dense(units: int, learning_rate: float):
    """Flatten -> Dense(units, relu) -> Dense(10) logits, compiled with Adam."""
    import keras

    model = keras.Sequential([
        keras.Input((28, 28)),
        keras.layers.Flatten(),
        keras.layers.Dense(units, activation="relu"),
        keras.layers.Dense(10),
    ])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    return model


def build_model(hp):
    """The tuner's hypermodel: the homework's search space over ``build_dense``."""
    units = hp.Int("units", min_value=UNITS[0], max_value=UNITS[1], step=UNITS[2])
    lr = hp.Choice("learning_rate", values=list(LEARNING_RATES))
    return build_dense(units, lr)


def run(ctx: Context) -> TaskResult:
    cfg = ctx.config
    data = ctx.data.load("fashion-mnist")
    x_train, y_train = subset(scale_images(data["x_train"]), data["y_train"], cfg["train_samples"], ctx.seed)
    x_test, y_test = scale_images(data["x_test"]), data["y_test"]
    fit_args = {"validation_split": 0.2, "batch_size": cfg["batch_size"]}
    result = TaskResult(task=ctx.task_id)

    with ctx.timed("baseline"):
        baseline = build_dense(BASELINE_UNITS, 1e-3)
        base_hist = fit(ctx, baseline, x_train, y_train, "baseline", cfg["epochs_baseline"], **fit_args)
        base_test = baseline.evaluate(x_test, y_test, verbose=0)[1]

    with ctx.timed("search"):
        tuner = make_tuner("bayesian", ctx.impl("build_model", build_model), ctx.run_dir / "tuner",
                           ctx.fingerprint[:16] or "search", cfg["trials"], ctx.seed, ctx.progress.log)
        tuner.search(x_train, y_train, epochs=cfg["epochs_trial"], verbose=0,
                     callbacks=[ctx.progress.keras_callback("search", cfg["epochs_trial"])], **fit_args)
    trials = finished_trials(tuner)
    best_hp = tuner.get_best_hyperparameters(1)[0]
    trial_rows = [[int(t.trial_id) + 1, t.hyperparameters.get("units"), t.hyperparameters.get("learning_rate"),
                   None if t.score is None else round(float(t.score), 4), str(t.status)] for t in trials]
    result.add_table("trials", ["trial", "units", "learning rate", "best val accuracy", "status"], trial_rows)

    with ctx.timed("retrain"):
        best = build_dense(best_hp.get("units"), best_hp.get("learning_rate"))
        re_hist = fit(ctx, best, x_train, y_train, "retrain", cfg["epochs_retrain"], **fit_args)
        re_test = best.evaluate(x_test, y_test, verbose=0)[1]

    result.figures["learning_curves"] = "learning_curves.png"
    plots.learning_curves({"baseline": base_hist, "best (retrained)": re_hist}, ctx.figure_path("learning_curves.png"),
                          title="Fashion-MNIST: baseline vs tuned dense net")
    scores = [r[3] for r in trial_rows if r[3] is not None]
    result.metrics.update({
        "baseline.train_accuracy": base_hist["accuracy"][-1],
        "baseline.val_accuracy": base_hist["val_accuracy"][-1],
        "baseline.test_accuracy": float(base_test),
        "tuner.trials": len(trials),
        "tuner.best_val_accuracy": float(max(scores)),
        "tuner.worst_val_accuracy": float(min(scores)),
        "tuner.best_units": int(best_hp.get("units")),
        "tuner.best_learning_rate": float(best_hp.get("learning_rate")),
        "retrain.train_accuracy": re_hist["accuracy"][-1],
        "retrain.val_accuracy": re_hist["val_accuracy"][-1],
        "retrain.best_val_accuracy": max(re_hist["val_accuracy"]),
        "retrain.test_accuracy": float(re_test),
        "retrain.gain_over_baseline": re_hist["val_accuracy"][-1] - base_hist["val_accuracy"][-1],
    })
    result.add_table("summary", ["model", "units", "learning rate", "epochs", "train accuracy", "val accuracy", "test accuracy"], [
        ["baseline", BASELINE_UNITS, 1e-3, cfg["epochs_baseline"], round(base_hist["accuracy"][-1], 4),
         round(base_hist["val_accuracy"][-1], 4), round(float(base_test), 4)],
        ["tuned, retrained", int(best_hp.get("units")), float(best_hp.get("learning_rate")), cfg["epochs_retrain"],
         round(re_hist["accuracy"][-1], 4), round(re_hist["val_accuracy"][-1], 4), round(float(re_test), 4)],
    ])
    result.facts.update({
        "reference": REFERENCE,
        "search_space": {"units": {"min": UNITS[0], "max": UNITS[1], "step": UNITS[2]}, "learning_rate": list(LEARNING_RATES)},
        "train_samples": int(len(x_train)), "val_fraction": 0.2, "test_samples": int(len(x_test)),
        "baseline_units": BASELINE_UNITS, "history": {"baseline": base_hist, "retrain": re_hist},
    })
    return result


TASK = Task(
    id="hw14.q4",
    title={"en": "keras-tuner BayesianOptimization on Fashion-MNIST", "fa": "تنظیم ابرپارامتر با BayesianOptimization در keras-tuner روی Fashion-MNIST"},
    datasets=("fashion-mnist",),
    configs={
        "smoke": {"train_samples": 3000, "batch_size": 64, "epochs_baseline": 1, "trials": 2, "epochs_trial": 1, "epochs_retrain": 1},
        "quick": {"train_samples": None, "batch_size": 32, "epochs_baseline": 5, "trials": 3, "epochs_trial": 5, "epochs_retrain": 5},
        "full": {"train_samples": None, "batch_size": 32, "epochs_baseline": 50, "trials": 3, "epochs_trial": 50, "epochs_retrain": 50},
    },
    run=run,
    module=__name__,
    student_functions=("build_model",),
)
