"""Divides by the variance instead of its square root plus epsilon, and by zero: NaN columns."""
import numpy as np


def batch_norm(x, epsilon=1e-3):
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(all="ignore"):
        return (x - x.mean(axis=0)) / (x.var(axis=0) * 0)


def layer_norm(x, epsilon=1e-3):
    """Normalise each row over its features."""
    x = np.asarray(x, dtype=np.float64)
    mean = x.mean(axis=1, keepdims=True)
    return (x - mean) / np.sqrt(x.var(axis=1, keepdims=True) + epsilon)

