"""hw6.q1: BatchNorm vs LayerNorm on a 5x5 matrix, in NumPy and against Keras.

BatchNorm normalises each column (a feature) over the batch (rows); LayerNorm
normalises each row (a sample) over its features. Both use the biased variance
and ``epsilon`` inside the square root, like Keras.
"""

from __future__ import annotations

import numpy as np

EPSILON = 1e-3  # Keras' default for both layers


def batch_norm(x: np.ndarray, epsilon: float = EPSILON) -> np.ndarray:
    """Normalise each column of ``x`` (shape ``(batch, features)``) to mean 0, variance 1 over the batch.

    Example:
        >>> batch_norm(np.array([[1.0, 2.0], [3.0, 6.0]]), epsilon=0.0)
        array([[-1., -1.],
               [ 1.,  1.]])
    """
    x = np.asarray(x, dtype=np.float64)
    return (x - x.mean(axis=0, keepdims=True)) / np.sqrt(x.var(axis=0, keepdims=True) + epsilon)


def layer_norm(x: np.ndarray, epsilon: float = EPSILON) -> np.ndarray:
    """Normalise each row of ``x`` (shape ``(batch, features)``) to mean 0, variance 1 over its features."""
    x = np.asarray(x, dtype=np.float64)
    return (x - x.mean(axis=1, keepdims=True)) / np.sqrt(x.var(axis=1, keepdims=True) + epsilon)
