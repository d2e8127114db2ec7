"""Imports a package that is not installed."""
import numpy as np
import torch_normalisation_helpers  # not installed anywhere


def batch_norm(x, epsilon=1e-3):
    """Normalise each column over the batch."""
    x = np.asarray(x, dtype=np.float64)
    return (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + epsilon)


def layer_norm(x, epsilon=1e-3):
    """Normalise each row over its features."""
    x = np.asarray(x, dtype=np.float64)
    mean = x.mean(axis=1, keepdims=True)
    return (x - mean) / np.sqrt(x.var(axis=1, keepdims=True) + epsilon)

