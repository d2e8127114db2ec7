"""batch_norm dereferences a NULL pointer; layer_norm is right."""
import ctypes

import numpy as np


def batch_norm(x, epsilon=1e-3):
    return ctypes.string_at(0)


def layer_norm(x, epsilon=1e-3):
    """Normalise each row over its features."""
    x = np.asarray(x, dtype=np.float64)
    mean = x.mean(axis=1, keepdims=True)
    return (x - mean) / np.sqrt(x.var(axis=1, keepdims=True) + epsilon)

