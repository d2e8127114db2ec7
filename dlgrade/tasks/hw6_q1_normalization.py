"""hw6.q1: BatchNorm vs LayerNorm on a 5x5 matrix, in NumPy and against Keras.

BatchNorm normalises each column (a feature) over the batch (rows); LayerNorm
normalises each row (a sample) over its features. Both use the biased variance
and ``epsilon`` inside the square root, like Keras.
"""

from __future__ import annotations

import numpy as np

from dlgrade.results import TaskResult
from dlgrade.tasks.base import Context, Task

EPSILON = 1e-3  # Keras' default for both layers


def batch_norm(x: np.ndarray, epsilon: float = EPSILON) -> np.ndarray:
    """Normalise each column of ``x`` (shape ``(batch, features)``) to mean 0, variance 1 over the batch.

    Example:
        >>> batch_norm(np.array([[1.0, 2.0], [3.0, 6.0]]), epsilon=0.0)
        array([[-1., -1.],
               [ 1.,  1.]])
    """
    x = np.asarray(x, dtype=np.float64)
    return (x - x.mean(axis=0, keepdims=True)) / np.sqrt(x.var(axis=0, keepdims=True) + epsilon)


def layer_norm(x: np.ndarray, epsilon: float = EPSILON) -> np.ndarray:
    """Normalise each row of ``x`` (shape ``(batch, features)``) to mean 0, variance 1 over its features."""
    x = np.asarray(x, dtype=np.float64)
    return (x - x.mean(axis=1, keepdims=True)) / np.sqrt(x.var(axis=1, keepdims=True) + epsilon)


def keras_norms(x: np.ndarray, epsilon: float = EPSILON) -> tuple[np.ndarray, np.ndarray]:
    """Keras' BatchNormalization (training mode) and LayerNormalization outputs for ``x``."""
    import keras

    x32 = np.asarray(x, dtype=np.float32)
    bn = keras.layers.BatchNormalization(epsilon=epsilon)
    ln = keras.layers.LayerNormalization(epsilon=epsilon)
    return (np.asarray(bn(x32, training=True), dtype=np.float64), np.asarray(ln(x32), dtype=np.float64))


def _matrix_rows(m: np.ndarray, digits: int = 12) -> list[list[float]]:
    return [[round(float(v), digits) for v in row] for row in m]


def run(ctx: Context) -> TaskResult:
    cfg = ctx.config
    rng = np.random.default_rng(ctx.seed)
    x = rng.integers(cfg["low"], cfg["high"], size=(cfg["size"], cfg["size"])).astype(np.float64)
    bn_impl = ctx.impl("batch_norm", batch_norm)
    ln_impl = ctx.impl("layer_norm", layer_norm)
    with ctx.timed("numpy"):
        bn, ln = np.asarray(bn_impl(x), dtype=np.float64), np.asarray(ln_impl(x), dtype=np.float64)
    with ctx.timed("keras"):
        bn_k, ln_k = keras_norms(x)

    result = TaskResult(task=ctx.task_id)
    cols = [f"c{j + 1}" for j in range(x.shape[1])]
    for name, m in (("input", x), ("batch_norm", bn), ("layer_norm", ln), ("keras_batch_norm", bn_k), ("keras_layer_norm", ln_k)):
        result.add_table(name, cols, _matrix_rows(m))
    # Std checks compare to the value epsilon allows: sqrt(var / (var + eps)).
    result.metrics.update({
        "bn.max_abs_column_mean": float(np.abs(bn.mean(axis=0)).max()),
        "bn.max_abs_column_std_error": float(np.abs(bn.std(axis=0) - np.sqrt(x.var(axis=0) / (x.var(axis=0) + EPSILON))).max()),
        "ln.max_abs_row_mean": float(np.abs(ln.mean(axis=1)).max()),
        "ln.max_abs_row_std_error": float(np.abs(ln.std(axis=1) - np.sqrt(x.var(axis=1) / (x.var(axis=1) + EPSILON))).max()),
        "bn.max_abs_diff_keras": float(np.abs(bn - bn_k).max()),
        "ln.max_abs_diff_keras": float(np.abs(ln - ln_k).max()),
        "bn_ln.max_abs_difference": float(np.abs(bn - ln).max()),
    })
    result.add_table("stats", ["matrix", "axis", "mean min", "mean max", "std min", "std max"], [
        ["batch_norm", "columns", *(round(float(f(bn.mean(axis=0))), 6) for f in (np.min, np.max)),
         *(round(float(f(bn.std(axis=0))), 6) for f in (np.min, np.max))],
        ["layer_norm", "rows", *(round(float(f(ln.mean(axis=1))), 6) for f in (np.min, np.max)),
         *(round(float(f(ln.std(axis=1))), 6) for f in (np.min, np.max))],
    ])
    result.facts.update({"epsilon": EPSILON, "shape": list(x.shape), "low": cfg["low"], "high": cfg["high"]})
    return result


TASK = Task(
    id="hw6.q1",
    title={"en": "Batch normalization vs layer normalization", "fa": "نرمال‌سازی دسته‌ای در برابر نرمال‌سازی لایه‌ای"},
    datasets=(),
    configs={p: {"size": 5, "low": 0, "high": 10} for p in ("smoke", "quick", "full")},
    run=run,
    module=__name__,
    student_functions=("batch_norm", "layer_norm"),
)
