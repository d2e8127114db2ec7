"""hw14.q2, deliberately broken (``dlgrade calibrate hw14.q2 --variant broken``): a collapsed embedding (every
image maps to the same point: the input is scaled by 0, so no gradient can move it apart), trained with the
reference's losses. The ranges of the k-NN accuracies and of the embedding's spread must fail it."""

from __future__ import annotations

from .reference import batch_hard_triplet_loss, batch_semi_hard_triplet_loss, triplet_loss  # noqa: F401
from .spec import EMBEDDING_DIM


def build_embedding_net():
    import keras

    return keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Rescaling(0.0), keras.layers.Flatten(),
                             keras.layers.Dense(EMBEDDING_DIM)], name="embedding")
