"""Keras helpers the questions' training steps share: fitting with progress, histories as plain data,
image scaling, putting a compiled model back to its initial state, and per-epoch predictions.

Sandbox-safe: training steps run where student code runs, so this imports nothing of the trusted side.
"""

from __future__ import annotations

from typing import Any

import numpy as np

SANDBOX_SAFE = True


def fit(env, model, x, y, label: str, epochs: int, callbacks: list | None = None, **kwargs) -> dict[str, list[float]]:
    """``model.fit`` with per-epoch progress lines; returns the history as lists of floats."""
    history = model.fit(x, y, epochs=epochs, verbose=0,
                        callbacks=[env.progress.keras_callback(label, epochs)] + list(callbacks or []), **kwargs)
    return history_dict(history)


def history_dict(history: Any) -> dict[str, list[float]]:
    """A Keras ``History`` (or its ``.history`` dict) as ``{name: [float per epoch]}``."""
    hist = history.history if hasattr(history, "history") else history
    return {k: [float(v) for v in vals] for k, vals in hist.items()}


def scale_images(x: np.ndarray) -> np.ndarray:
    """uint8 images to float32 in [0, 1]."""
    return np.asarray(x, dtype=np.float32) / 255.0


def optimizer_state(model) -> list[np.ndarray]:
    """A copy of the optimizer's variables (build the optimizer first), to restart from later."""
    return [np.array(v.numpy()) for v in model.optimizer.variables]


def reset(model, weights: list, optimizer_state: list | None = None) -> None:
    """Put a compiled ``model`` back to ``weights`` (BatchNorm statistics included) and its optimizer to
    ``optimizer_state``, or to a fresh state (zero moments, learning rate kept) when none is given.
    The same compiled model serves several trainings without retracing."""
    import keras

    model.set_weights(weights)
    if optimizer_state is not None:
        for v, value in zip(model.optimizer.variables, optimizer_state):
            v.assign(value)
        return
    for v in model.optimizer.variables:
        if not v.path.endswith("learning_rate"):
            v.assign(keras.ops.zeros(v.shape, v.dtype))


def predictions_per_epoch(x, batch_size: int = 32):
    """A callback that predicts ``x`` after every epoch (inference mode), for curves on held-out data
    whose labels the training side never sees; ``callback.outputs`` is a list of arrays, one per epoch."""
    import keras

    class _EpochPredictions(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.outputs: list = []

        def on_epoch_end(self, epoch, logs=None):
            self.outputs.append(self.model.predict(x, batch_size=batch_size, verbose=0))

    return _EpochPredictions()
