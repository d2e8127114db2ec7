"""Helpers the Keras tasks share: fitting with progress, histories as plain data, scaling."""

from __future__ import annotations

from typing import Any

import numpy as np

from dlgrade.tasks.base import Context


def fit(ctx: Context, model, x, y, label: str, epochs: int, callbacks: list | None = None, **kwargs) -> dict[str, list[float]]:
    """``model.fit`` with per-epoch progress lines; returns the history as lists of floats."""
    history = model.fit(x, y, epochs=epochs, verbose=0,
                        callbacks=[ctx.progress.keras_callback(label, epochs)] + list(callbacks or []), **kwargs)
    return history_dict(history)


def history_dict(history: Any) -> dict[str, list[float]]:
    hist = history.history if hasattr(history, "history") else history
    return {k: [float(v) for v in vals] for k, vals in hist.items()}


def scale_images(x: np.ndarray) -> np.ndarray:
    """uint8 images to float32 in [0, 1]."""
    return np.asarray(x, dtype=np.float32) / 255.0


def subset(x: np.ndarray, y: np.ndarray, n: int | None, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A seeded random subset of ``n`` samples (all, shuffled, when ``n`` is None)."""
    idx = np.random.default_rng(seed).permutation(len(x))
    if n is not None:
        idx = idx[:n]
    return x[idx], y[idx]
