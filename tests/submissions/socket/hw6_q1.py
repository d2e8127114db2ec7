"""batch_norm tries to download the answer; layer_norm is right."""
import socket
import urllib.request

import numpy as np


def batch_norm(x, epsilon=1e-3):
    s = socket.create_connection(("answers.example.com", 80), timeout=5)
    s.close()
    return np.asarray(x)


def layer_norm(x, epsilon=1e-3):
    """Normalise each row over its features."""
    x = np.asarray(x, dtype=np.float64)
    mean = x.mean(axis=1, keepdims=True)
    return (x - mean) / np.sqrt(x.var(axis=1, keepdims=True) + epsilon)

