"""hw14.q3 training steps: the student's ResNet-14 trained three ways (plain loss, class-weighted loss with the
student's ``class_weights``, class-balanced resampling), each from the same initial weights for every seed.
Validation and test images come without labels: the steps return probabilities, and the trusted side scores
them against labels only it holds.

Sandbox-safe: the training loop and the resampling are the grader's, not answers.
"""

from __future__ import annotations

import numpy as np

from dlgrade.kit.keras_fit import history_dict, optimizer_state, predictions_per_epoch, reset

from .spec import INPUT_SHAPE, NUM_CLASSES, PREDICT_BATCH, VARIANTS

SANDBOX_SAFE = True


def balanced_indices(labels, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` indices drawn so that every present class is equally likely (with replacement inside a class)."""
    y = np.asarray(labels).reshape(-1)
    present = np.unique(y)
    cls = rng.choice(present, size=n)
    out = np.empty(n, dtype=np.int64)
    for k in present:
        pool = np.flatnonzero(y == k)
        where = np.flatnonzero(cls == k)
        out[where] = rng.choice(pool, size=len(where))
    return out


def checked_class_weights(fn, y_train: np.ndarray) -> np.ndarray:
    """The student's ``class_weights(y_train, 7)`` as 7 finite, non-negative floats.

    Raises:
        ValueError: another shape, NaN/inf or negative weights.
    """
    w = np.asarray(fn(y_train.copy(), NUM_CLASSES), dtype=np.float64)
    if w.shape != (NUM_CLASSES,):
        raise ValueError(f"class_weights returned shape {w.shape}, expected ({NUM_CLASSES},): one weight per class")
    if not np.all(np.isfinite(w)) or (w < 0).any():
        raise ValueError(f"class_weights returned {w.tolist()}, expected finite weights >= 0")
    return w


def _compiled(env):
    """The student's ResNet compiled once (Adam, sparse cross-entropy) and its optimizer's initial state, so
    every seed restarts the same compiled model without retracing."""
    import keras

    model = env.fns.build_resnet14(INPUT_SHAPE, NUM_CLASSES)
    model.compile(optimizer=keras.optimizers.Adam(env.config.learning_rate), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"], jit_compile=False)
    model.optimizer.build(model.trainable_variables)
    return model, optimizer_state(model)  # step 0, zero moments, the learning rate


def _train(env, model, variant: str, x, y, weights_per_class, seed: int, callbacks=()) -> dict[str, list[float]]:
    """Train ``variant`` for the configured epochs: each epoch is one pass of ``len(y)`` samples (resampled
    afresh for ``oversampling``, weighted per class for ``class_weights``). The history also records the
    model's regularisation loss after each epoch (it is part of Keras' validation loss)."""
    import keras

    cfg = env.config
    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng([seed, VARIANTS.index(variant)])
    logger = env.progress.keras_callback(f"{variant} seed {seed}", cfg.epochs)
    history: dict[str, list[float]] = {}
    for epoch in range(cfg.epochs):
        if variant == "oversampling":
            idx = balanced_indices(y, len(y), rng)
            xe, ye = x[idx], y[idx]
        else:
            xe, ye = x, y
        sw = weights_per_class[ye] if variant == "class_weights" else np.ones(len(ye), np.float32)
        h = model.fit(xe, ye, sample_weight=sw.astype(np.float32), batch_size=cfg.batch_size, epochs=epoch + 1,
                      initial_epoch=epoch, verbose=0, callbacks=[logger, *callbacks])
        for k, v in history_dict(h).items():
            history.setdefault(k, []).extend(v)
        history.setdefault("regularization_loss", []).append(float(sum(float(loss) for loss in model.losses)))
    return history


def _variant(env, variant: str, x_train, y_train, x_val, x_test, weights_per_class=None) -> dict:
    """Every seed's training of ``variant``: per seed the probabilities on the three splits; for the first seed
    the history and the validation probabilities after every epoch."""
    import keras

    model, initial_state = _compiled(env)
    y = np.asarray(y_train).astype(np.int64)
    runs, first = [], {}
    for i in range(env.config.seeds):
        seed = env.seeds[f"repeat_{i}"]
        keras.utils.set_random_seed(seed)
        reset(model, env.fns.build_resnet14(INPUT_SHAPE, NUM_CLASSES).get_weights(), initial_state)
        val = [predictions_per_epoch(x_val, env.config.batch_size)] if i == 0 else []
        history = _train(env, model, variant, x_train, y, weights_per_class, seed, val)
        if i == 0:
            first = {"history": history, "val_probabilities": val[0].outputs}
        runs.append({"seed": seed, "probabilities": {split: model.predict(x, batch_size=PREDICT_BATCH, verbose=0)
                                                     for split, x in (("train", x_train), ("val", x_val), ("test", x_test))}})
    return {"runs": runs, **first, "parameters": int(model.count_params())}


def baseline(env, x_train, y_train, x_val, x_test) -> dict:
    """The plain loss."""
    return _variant(env, "baseline", x_train, y_train, x_val, x_test)


def class_weights(env, x_train, y_train, x_val, x_test) -> dict:
    """The loss weighted per class by the student's ``class_weights`` (returned too)."""
    w = checked_class_weights(env.fns.class_weights, np.asarray(y_train))
    return {**_variant(env, "class_weights", x_train, y_train, x_val, x_test, w), "class_weights": w}


def oversampling(env, x_train, y_train, x_val, x_test) -> dict:
    """Every epoch a class-balanced resample of the training set (as many samples as it has)."""
    return _variant(env, "oversampling", x_train, y_train, x_val, x_test)
