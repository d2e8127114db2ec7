"""hw6.q2 steps that call the student's functions: the closed-form count of each BERT size, and each encoder
built in Keras, returned as the name and parameter count of every layer (the trusted side sorts them into
components and compares them with the closed form)."""

from __future__ import annotations

import gc
import time

from .spec import BERT_SIZES

SANDBOX_SAFE = True


def formula(env) -> dict:
    """The student's ``bert_param_count`` for every configured size: ``{"counts": {size: int}}``."""
    counts = {}
    for size in env.config.sizes:
        got = env.fns.bert_param_count(**BERT_SIZES[size])
        if isinstance(got, bool) or not hasattr(got, "__int__"):
            raise TypeError(f"bert_param_count({size}) returned {type(got).__name__}, expected an int")
        counts[size] = int(got)
    return {"counts": counts}


def _build(env, size: str) -> dict:
    """Build the ``size`` encoder with the student's ``build_bert_encoder`` and describe its layers."""
    if size not in env.config.sizes:
        return {}
    import keras

    t0 = time.perf_counter()
    model = env.fns.build_bert_encoder(**BERT_SIZES[size], name=f"bert_{size}")
    if not isinstance(model, keras.Model):
        raise TypeError(f"build_bert_encoder returned {type(model).__name__}, expected a keras.Model")
    names, params = layer_params(model)
    out = {"layer_names": names, "layer_params": params, "count_params": int(model.count_params()),
           "layers": len(model.layers), "build_seconds": time.perf_counter() - t0}
    del model
    keras.backend.clear_session()  # BERT-large holds 1.3 GB of weights; free them before the next step
    gc.collect()
    return out


def layer_params(model) -> tuple[list[str], list[int]]:
    """The name and parameter count of every layer of ``model`` that has weights."""
    names, params = [], []
    for layer in model.layers:
        n = sum(_size(w) for w in layer.weights)
        if n:
            names.append(str(layer.name))
            params.append(n)
    return names, params


def _size(weight) -> int:
    n = 1
    for d in weight.shape:
        n *= int(d)
    return n


def build_base(env) -> dict:
    """BERT-base built by the student's ``build_bert_encoder``: its layers' names and parameter counts."""
    return _build(env, "base")


def build_large(env) -> dict:
    """BERT-large built by the student's ``build_bert_encoder``: its layers' names and parameter counts."""
    return _build(env, "large")
