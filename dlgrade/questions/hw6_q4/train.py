"""hw6.q4 training steps: the RandomSearch over the student's ``build_model`` (every trial's hyper-parameters,
score and history), and the best configuration retrained from scratch through that same hypermodel. The test
images come without labels: the retrain returns class probabilities and the trusted side scores them."""

from __future__ import annotations

from dlgrade.kit.keras_fit import fit
from dlgrade.kit.tuning import finished_trials, make_tuner, trial_histories

from .spec import PATIENCE, PREDICT_BATCH_SIZE, describe

SANDBOX_SAFE = True


def search(env, x_train, y_train, x_val, y_val) -> dict:
    """RandomSearch (objective ``val_accuracy``, early stopping on ``val_loss``) over the student's ``build_model``.

    The tuner's state lives in the step's work folder, so an interrupted search resumes with the trials it
    already finished (``resumed_trials`` of them).
    """
    import keras

    cfg = env.config
    early = keras.callbacks.EarlyStopping(monitor="val_loss", patience=PATIENCE)
    tuner = make_tuner("random", env.fns.build_model, env.work_dir / "tuner", "search", cfg.trials, env.seeds["tuner"],
                       env.progress.log, describe)
    resumed = sum(1 for t in tuner.oracle.trials.values() if t.score is not None)
    if resumed:
        env.progress.log(f"resuming: {resumed} trial(s) already done in {tuner.project_dir}")
    tuner.search(x_train, y_train, epochs=cfg.epochs_trial, verbose=0,
                 callbacks=[early, env.progress.keras_callback("search", cfg.epochs_trial)],
                 validation_data=(x_val, y_val), batch_size=cfg.batch_size)
    trials = finished_trials(tuner)
    return {"trials": [{"trial": int(t.trial_id) + 1, "id": str(t.trial_id), "values": dict(t.hyperparameters.values),
                        "score": None if t.score is None else float(t.score), "status": str(t.status)} for t in trials],
            "histories": trial_histories(tuner), "resumed_trials": resumed}


def retrain(env, x_train, y_train, x_val, y_val, x_test, best_values) -> dict:
    """The best configuration retrained from scratch through the student's own hypermodel (their names), and
    its class probabilities on the test images."""
    return _train_fixed(env, "retrain", best_values, x_train, y_train, x_val, y_val, x_test)


def smallest(env, x_train, y_train, x_val, y_val, x_test) -> dict:
    """The student's hypermodel at its defaults (every Int at its minimum, every Choice at its first value: the
    smallest model of the homework's space, whatever the names), trained like the retrain: the baseline that
    says what the search bought."""
    return _train_fixed(env, "smallest", {}, x_train, y_train, x_val, y_val, x_test)


def _train_fixed(env, label: str, values: dict, x_train, y_train, x_val, y_val, x_test) -> dict:
    import keras_tuner as kt

    hp = kt.HyperParameters()
    for name, value in values.items():
        hp.Fixed(name, value)
    model = env.fns.build_model(hp)
    hist = fit(env, model, x_train, y_train, label, env.config.epochs_retrain, validation_data=(x_val, y_val),
               batch_size=env.config.batch_size)
    return {"history": hist, "test_probs": model.predict(x_test, batch_size=PREDICT_BATCH_SIZE, verbose=0),
            "values": dict(hp.values)}
