"""hw14.q4 training steps: the baseline, the BayesianOptimization search over the student's ``build_model``,
and the best configuration retrained through that same hypermodel. Test images come without labels: the
steps return probabilities and the trusted side scores them."""

from __future__ import annotations

import numpy as np

from dlgrade.kit.keras_fit import fit
from dlgrade.kit.tuning import finished_trials, make_tuner, space_configs

from .spec import BASELINE_LEARNING_RATE, BASELINE_UNITS, VAL_FRACTION

SANDBOX_SAFE = True


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


def _fit_args(env) -> dict:
    return {"validation_split": VAL_FRACTION, "batch_size": env.config.batch_size}


def baseline(env, x_train, y_train, x_test) -> dict:
    """The baseline dense net: its history and its outputs on the test images."""
    model = build_dense(BASELINE_UNITS, BASELINE_LEARNING_RATE)
    hist = fit(env, model, x_train, y_train, "baseline", env.config.epochs_baseline, **_fit_args(env))
    return {"history": hist, "test_logits": model.predict(x_test, verbose=0)}


def search(env, x_train, y_train) -> dict:
    """BayesianOptimization over the student's ``build_model``: every trial's hyper-parameters and score."""
    cfg = env.config
    tuner = make_tuner("bayesian", env.fns.build_model, env.work_dir / "tuner", "search", cfg.trials,
                       env.seeds["tuner"], env.progress.log)
    tuner.search(x_train, y_train, epochs=cfg.epochs_trial, verbose=0,
                 callbacks=[env.progress.keras_callback("search", cfg.epochs_trial)], **_fit_args(env))
    trials = finished_trials(tuner)
    best = tuner.get_best_hyperparameters(1)[0]
    return {"trials": [{"trial": int(t.trial_id) + 1, "values": dict(t.hyperparameters.values),
                        "score": None if t.score is None else float(t.score), "status": str(t.status)} for t in trials],
            "best_values": dict(best.values), "space": space_configs(tuner.oracle.hyperparameters)}


def retrain(env, x_train, y_train, x_test, best_values) -> dict:
    """The best configuration retrained from scratch through the student's own hypermodel (their names)."""
    import keras_tuner as kt

    hp = kt.HyperParameters()
    for name, value in best_values.items():
        hp.Fixed(name, value)
    model = env.fns.build_model(hp)
    hist = fit(env, model, x_train, y_train, "retrain", env.config.epochs_retrain, **_fit_args(env))
    return {"history": hist, "test_logits": model.predict(x_test, verbose=0)}
