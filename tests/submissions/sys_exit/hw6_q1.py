"""layer_norm calls sys.exit; batch_norm is right."""
import sys

import numpy as np


def batch_norm(x, epsilon=1e-3):
    """Normalise each column over the batch."""
    x = np.asarray(x, dtype=np.float64)
    return (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + epsilon)


def layer_norm(x, epsilon=1e-3):
    print("giving up")
    sys.exit(3)
