"""Imports a name that an installed package does not have: importing the module fails.

(An import of a package that is not installed at all is not run while grading, and listed; only the functions
that use it fail.)"""
import numpy as np
from numpy import torch_normalisation_helpers  # numpy has no such name


def batch_norm(x, epsilon=1e-3):
    """Normalise each column over the batch."""
    x = np.asarray(x, dtype=np.float64)
    return (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + epsilon)


def layer_norm(x, epsilon=1e-3):
    """Normalise each row over its features."""
    x = np.asarray(x, dtype=np.float64)
    mean = x.mean(axis=1, keepdims=True)
    return (x - mean) / np.sqrt(x.var(axis=1, keepdims=True) + epsilon)

