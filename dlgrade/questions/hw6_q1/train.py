"""hw6.q1 steps that call the student's functions: normalise the matrix both ways."""

from __future__ import annotations

import numpy as np

SANDBOX_SAFE = True


def batch_norm(env, x: np.ndarray) -> dict:
    """The matrix normalised by the student's ``batch_norm`` (default epsilon)."""
    return {"output": np.asarray(env.fns.batch_norm(x.copy()), dtype=np.float64)}


def layer_norm(env, x: np.ndarray) -> dict:
    """The matrix normalised by the student's ``layer_norm`` (default epsilon)."""
    return {"output": np.asarray(env.fns.layer_norm(x.copy()), dtype=np.float64)}
