"""hw6.q1 measurements: Keras' layers on the same matrix, and how normalised each output is."""

from __future__ import annotations

import numpy as np

from .spec import EPSILON


def keras_norms(x: np.ndarray, epsilon: float = EPSILON) -> tuple[np.ndarray, np.ndarray]:
    """Keras' BatchNormalization (training mode) and LayerNormalization outputs for ``x``."""
    import keras

    x32 = np.asarray(x, dtype=np.float32)
    bn = keras.layers.BatchNormalization(epsilon=epsilon)
    ln = keras.layers.LayerNormalization(epsilon=epsilon)
    return (np.asarray(bn(x32, training=True), dtype=np.float64), np.asarray(ln(x32), dtype=np.float64))


def matrix_rows(m: np.ndarray, digits: int = 12) -> list[list[float]]:
    return [[round(float(v), digits) for v in row] for row in m]


def normalisation_errors(x: np.ndarray, out: np.ndarray, axis: int) -> tuple[float, float]:
    """Largest |mean| and largest |std - target| along ``axis``; the target std is sqrt(var / (var + eps))."""
    var = x.var(axis=axis)
    return (float(np.abs(out.mean(axis=axis)).max()),
            float(np.abs(out.std(axis=axis) - np.sqrt(var / (var + EPSILON))).max()))


def stats_row(name: str, axis_name: str, out: np.ndarray, axis: int) -> list:
    """``[matrix, axis, mean min, mean max, std min, std max]`` of ``out`` along ``axis`` (6 decimals)."""
    means, stds = out.mean(axis=axis), out.std(axis=axis)
    return [name, axis_name, *(round(float(f(means)), 6) for f in (np.min, np.max)),
            *(round(float(f(stds)), 6) for f in (np.min, np.max))]
