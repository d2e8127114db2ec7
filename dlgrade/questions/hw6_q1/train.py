"""hw6.q1 steps that call the student's functions: normalise the matrix both ways."""

from __future__ import annotations

import numpy as np

from .spec import EPSILON

SANDBOX_SAFE = True


def batch_norm(env, x: np.ndarray) -> dict:
    """The matrix normalised by the student's ``batch_norm`` with Keras' epsilon (given explicitly: a student's own
    default, PyTorch's 1e-5 say, is not a mistake)."""
    return {"output": np.asarray(env.fns.batch_norm(x.copy(), epsilon=EPSILON), dtype=np.float64)}


def layer_norm(env, x: np.ndarray) -> dict:
    """The matrix normalised by the student's ``layer_norm`` with Keras' epsilon."""
    return {"output": np.asarray(env.fns.layer_norm(x.copy(), epsilon=EPSILON), dtype=np.float64)}
