"""hw6.q2: BERT-base and BERT-large encoders built in Keras (no weights) and their parameter counts.

The encoder follows Devlin et al. (2019): token + position + segment embeddings summed and
layer-normalised; ``layers`` identical blocks of multi-head self-attention (query, key, value
and output projections, each ``hidden x hidden`` with a bias) and a position-wise feed-forward
network (``hidden -> ffn -> hidden``, GELU), each followed by a residual connection and
LayerNorm; a pooler (``Dense(hidden, tanh)`` on the ``[CLS]`` position). The MLM/NSP heads
used in pre-training are not part of the encoder and are not counted.

The count of the Keras model is compared with your closed form, per component: name every layer
that has weights after the component it belongs to (``embeddings_...``, ``attention_...``,
``feed_forward_...``, ``norm_...``, ``pooler``).
"""

from __future__ import annotations

from .evaluate import bert_param_breakdown
from .spec import check_sizes


def bert_param_count(layers: int, hidden: int, heads: int, ffn: int, vocab: int = 30522,
                     positions: int = 512, segments: int = 2) -> int:
    """Total parameters of a BERT encoder with a pooler, in closed form.

    ``heads`` does not change the count (each head has ``hidden / heads`` dimensions), but it must
    divide ``hidden``. LayerNorms (one after the embeddings, two per layer) have a scale and a shift.
    Raises ValueError for sizes that are not positive integers or heads that do not divide ``hidden``.

    Example:
        >>> bert_param_count(12, 768, 12, 3072)
        109482240
    """
    return bert_param_breakdown(layers, hidden, heads, ffn, vocab, positions, segments)["total"]


def build_bert_encoder(layers: int, hidden: int, heads: int, ffn: int, vocab: int = 30522,
                       positions: int = 512, segments: int = 2, name: str = "bert"):
    """A Keras functional BERT encoder (random weights).

    Inputs: token ids and segment ids, ``(batch, length)`` int32. Outputs: the sequence output
    ``(batch, length, hidden)`` and the pooled ``[CLS]`` vector ``(batch, hidden)``.
    Layer names start with the component they belong to: ``embeddings_token``, ``embeddings_segment``,
    ``embeddings_position``, ``norm_...`` for every LayerNorm, ``attention_<i>``, ``feed_forward_in_<i>`` /
    ``feed_forward_out_<i>``, ``pooler``. Raises ValueError for sizes that are not positive integers.
    """
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

    check_sizes(layers, hidden, heads, ffn, vocab, positions, segments)
    L = keras.layers
    tokens = keras.Input((None,), dtype="int32", name="token_ids")
    segs = keras.Input((None,), dtype="int32", name="segment_ids")
    x = L.Embedding(vocab, hidden, name="embeddings_token")(tokens)
    x = x + L.Embedding(segments, hidden, name="embeddings_segment")(segs)
    x = PositionEmbedding(positions, name="embeddings_position")(x)
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
