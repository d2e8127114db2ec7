"""hw6.q2: BERT-base and BERT-large encoders built in Keras (no weights) and their parameter counts.

The encoder follows Devlin et al. (2019): token + position + segment embeddings summed and
layer-normalised; ``layers`` identical blocks of multi-head self-attention (query, key, value
and output projections, each ``hidden x hidden`` with a bias) and a position-wise feed-forward
network (``hidden -> ffn -> hidden``, GELU), each followed by a residual connection and
LayerNorm; a pooler (``Dense(hidden, tanh)`` on the ``[CLS]`` position). The MLM/NSP heads
used in pre-training are not part of the encoder and are not counted.

The count measured on the Keras model is checked against the closed form
:func:`bert_param_breakdown`.
"""

from __future__ import annotations

import gc
import time
from typing import Any

from dlgrade.results import TaskResult
from dlgrade.tasks.base import Context, Task

COMPONENTS = ("embeddings", "attention", "feed_forward", "layer_norms", "pooler")
CONFIGS = {
    "base": {"layers": 12, "hidden": 768, "heads": 12, "ffn": 3072, "vocab": 30522, "positions": 512, "segments": 2},
    "large": {"layers": 24, "hidden": 1024, "heads": 16, "ffn": 4096, "vocab": 30522, "positions": 512, "segments": 2},
}
REFERENCE = {"base": 110_000_000, "large": 340_000_000}  # the paper's rounded sizes


def _check_config(layers: int, hidden: int, heads: int, ffn: int, vocab: int, positions: int, segments: int) -> None:
    values = {"layers": layers, "hidden": hidden, "heads": heads, "ffn": ffn, "vocab": vocab,
              "positions": positions, "segments": segments}
    bad = {k: v for k, v in values.items() if not isinstance(v, int) or isinstance(v, bool) or v < 1}
    if bad:
        raise ValueError(f"BERT sizes must be positive integers, got {bad}")
    if hidden % heads:
        raise ValueError(f"hidden size {hidden} is not divisible by the number of heads {heads}")


def bert_param_breakdown(layers: int, hidden: int, heads: int, ffn: int, vocab: int = 30522,
                         positions: int = 512, segments: int = 2) -> dict[str, int]:
    """Closed-form parameter count of a BERT encoder, per component.

    ``heads`` does not change the count (each head has ``hidden / heads`` dimensions), but it must
    divide ``hidden``. LayerNorms (one after the embeddings, two per layer) have a scale and a shift.

    Example:
        >>> bert_param_breakdown(12, 768, 12, 3072)["total"]
        109482240
    """
    _check_config(layers, hidden, heads, ffn, vocab, positions, segments)
    h = hidden
    parts = {
        "embeddings": (vocab + positions + segments) * h,
        "attention": layers * 4 * (h * h + h),
        "feed_forward": layers * (h * ffn + ffn + ffn * h + h),
        "layer_norms": (1 + 2 * layers) * 2 * h,
        "pooler": h * h + h,
    }
    parts["total"] = sum(parts.values())
    return parts


def bert_param_count(layers: int, hidden: int, heads: int, ffn: int, vocab: int = 30522,
                     positions: int = 512, segments: int = 2) -> int:
    """Total parameters of a BERT encoder with a pooler (the student's closed form)."""
    return bert_param_breakdown(layers, hidden, heads, ffn, vocab, positions, segments)["total"]


def _position_embedding_layer():
    import keras

    class PositionEmbedding(keras.layers.Layer):
        """Learned absolute position embeddings added to the input (``positions x hidden``)."""

        def __init__(self, positions: int, **kwargs):
            super().__init__(**kwargs)
            self.positions = positions

        def build(self, input_shape):
            self.table = self.add_weight(shape=(self.positions, input_shape[-1]), initializer="glorot_uniform", name="table")

        def call(self, x):
            length = keras.ops.shape(x)[1]
            return x + keras.ops.expand_dims(self.table[:length], 0)

    return PositionEmbedding


def build_bert_encoder(layers: int, hidden: int, heads: int, ffn: int, vocab: int = 30522,
                       positions: int = 512, segments: int = 2, name: str = "bert"):
    """A Keras functional BERT encoder (random weights): inputs token and segment ids, outputs the
    sequence output and the pooled ``[CLS]`` vector. Layer names start with the component they belong to
    (see :func:`component_of`)."""
    import keras

    _check_config(layers, hidden, heads, ffn, vocab, positions, segments)
    L = keras.layers
    tokens = keras.Input((None,), dtype="int32", name="token_ids")
    segs = keras.Input((None,), dtype="int32", name="segment_ids")
    x = L.Embedding(vocab, hidden, name="embeddings_token")(tokens)
    x = x + L.Embedding(segments, hidden, name="embeddings_segment")(segs)
    x = _position_embedding_layer()(positions, name="embeddings_position")(x)
    x = L.LayerNormalization(epsilon=1e-12, name="norm_embeddings")(x)
    x = L.Dropout(0.1)(x)
    for i in range(layers):
        att = L.MultiHeadAttention(heads, hidden // heads, dropout=0.1, name=f"attention_{i}")(x, x)
        x = L.LayerNormalization(epsilon=1e-12, name=f"norm_attention_{i}")(x + L.Dropout(0.1)(att))
        f = L.Dense(ffn, activation="gelu", name=f"feed_forward_in_{i}")(x)
        f = L.Dense(hidden, name=f"feed_forward_out_{i}")(f)
        x = L.LayerNormalization(epsilon=1e-12, name=f"norm_output_{i}")(x + L.Dropout(0.1)(f))
    pooled = L.Dense(hidden, activation="tanh", name="pooler")(x[:, 0, :])
    return keras.Model([tokens, segs], [x, pooled], name=name)


def component_of(layer_name: str) -> str | None:
    """The component a layer of :func:`build_bert_encoder` belongs to (None for layers without weights)."""
    for prefix, comp in (("embeddings_", "embeddings"), ("attention_", "attention"), ("feed_forward_", "feed_forward"),
                         ("norm_", "layer_norms"), ("pooler", "pooler")):
        if layer_name.startswith(prefix):
            return comp
    return None


def count_keras_params(model) -> dict[str, int]:
    """Parameters of a built Keras model per component (by layer name) and in total."""
    parts = {c: 0 for c in COMPONENTS}
    for layer in model.layers:
        n = sum(_size(w) for w in layer.weights)
        if not n:
            continue
        comp = component_of(layer.name)
        if comp is None:
            raise ValueError(f"layer {layer.name!r} has {n} parameters but belongs to no known component")
        parts[comp] += n
    parts["total"] = sum(parts[c] for c in COMPONENTS)
    parts["keras_count_params"] = int(model.count_params())
    return parts


def _size(weight) -> int:
    n = 1
    for d in weight.shape:
        n *= int(d)
    return n


def run(ctx: Context) -> TaskResult:
    import keras

    count_impl = ctx.impl("bert_param_count", bert_param_count)
    build_impl = ctx.impl("build_bert_encoder", build_bert_encoder)
    result = TaskResult(task=ctx.task_id)
    measured: dict[str, dict[str, Any]] = {}
    for size in ctx.config["sizes"]:
        cfg = CONFIGS[size]
        with ctx.timed(f"build {size}"):
            t0 = time.perf_counter()
            model = build_impl(**cfg, name=f"bert_{size}")
            counts = count_keras_params(model)
            build_s = time.perf_counter() - t0
            n_layers = len(model.layers)
            del model
            keras.backend.clear_session()
            gc.collect()
        formula = bert_param_breakdown(**cfg)
        student = int(count_impl(**cfg))
        measured[size] = {"keras": counts, "formula": formula, "student": student, "build_s": build_s, "keras_layers": n_layers}
        total = counts["total"]
        result.metrics.update({
            f"{size}.params": total,
            f"{size}.params_millions": round(total / 1e6, 3),
            f"{size}.keras_count_params": counts["keras_count_params"],
            f"{size}.formula_params": formula["total"],
            f"{size}.student_formula_params": student,
            f"{size}.formula_abs_diff": abs(total - formula["total"]),
            f"{size}.student_formula_abs_diff": abs(total - student),
            f"{size}.breakdown_abs_diff": sum(abs(counts[c] - formula[c]) for c in COMPONENTS),
            f"{size}.unassigned_params": counts["keras_count_params"] - total,
            f"{size}.head_dim": cfg["hidden"] // cfg["heads"],
            f"{size}.per_layer_params": (formula["attention"] + formula["feed_forward"]) // cfg["layers"] + 4 * cfg["hidden"],
            f"{size}.build_seconds": round(build_s, 2),
        })
        for c in COMPONENTS:
            result.metrics[f"{size}.{c}_params"] = counts[c]

    sizes = list(ctx.config["sizes"])
    result.add_table("configs", ["model", "layers", "hidden", "heads", "head dim", "feed-forward", "Keras params",
                                 "closed form", "paper", "build s"], [
        [s, CONFIGS[s]["layers"], CONFIGS[s]["hidden"], CONFIGS[s]["heads"], CONFIGS[s]["hidden"] // CONFIGS[s]["heads"],
         CONFIGS[s]["ffn"], measured[s]["keras"]["total"], measured[s]["formula"]["total"], REFERENCE[s],
         round(measured[s]["build_s"], 1)] for s in sizes])
    rows = []
    for c in COMPONENTS + ("total",):
        row: list[Any] = [c.replace("_", "-")]
        for s in sizes:
            n = measured[s]["keras"][c]
            row += [n, round(100 * n / measured[s]["keras"]["total"], 2)]
        rows.append(row)
    cols = ["component"] + [f"{s} {k}" for s in sizes for k in ("params", "%")]
    result.add_table("breakdown", cols, rows)
    if "base" in measured and "large" in measured:
        result.metrics["large_over_base"] = round(measured["large"]["keras"]["total"] / measured["base"]["keras"]["total"], 4)
    result.facts.update({
        "configs": {s: CONFIGS[s] for s in sizes}, "reference": REFERENCE, "sizes": sizes,
        "formula": {
            "embeddings": "(V + P + S) * H", "attention": "L * 4 * (H^2 + H)", "feed_forward": "L * (2 * H * F + F + H)",
            "layer_norms": "(1 + 2L) * 2H", "pooler": "H^2 + H"},
        "keras_layers": {s: measured[s]["keras_layers"] for s in sizes},
    })
    return result


TASK = Task(
    id="hw6.q2",
    title={"en": "BERT: architecture and the size of BERT-base and BERT-large",
           "fa": "BERT: معماری و اندازهٔ BERT-base و BERT-large"},
    datasets=(),
    configs={p: {"sizes": ["base", "large"]} for p in ("smoke", "quick", "full")},
    run=run,
    module=__name__,
    student_functions=("bert_param_count", "build_bert_encoder"),
)
