"""batch_norm returns a string; layer_norm returns the row means (wrong shape)."""
import numpy as np


def batch_norm(x, epsilon=1e-3):
    return "normalised!"


def layer_norm(x, epsilon=1e-3):
    return np.asarray(x, dtype=float).mean(axis=1)
