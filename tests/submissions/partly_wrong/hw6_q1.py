"""batch_norm is right; layer_norm uses the sample variance (ddof=1) and forgets epsilon."""
import numpy as np


def batch_norm(x, epsilon=1e-3):
    """Normalise each column over the batch."""
    x = np.asarray(x, dtype=np.float64)
    return (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + epsilon)


def layer_norm(x, epsilon=1e-3):
    x = np.asarray(x, dtype=np.float64)
    return (x - x.mean(axis=1, keepdims=True)) / x.std(axis=1, ddof=1, keepdims=True)
