"""hw14.q2: triplet-loss embeddings of MNIST digits, random triplets vs online mining.

Random triplets (anchor, positive of the same digit, negative of another digit) train an embedding net
Conv32(3x3, relu) -> Conv32(3x3, relu) -> MaxPool 2 -> Dropout 0.25 -> Flatten -> Dense 128 relu ->
Dropout 0.5 -> Dense 10 with the loss ``max(d(a,p) - d(a,n) + 0.4, 0)`` on squared Euclidean distances
(Adam 1e-4, batch 256). The same network is also trained with two online mining strategies that pick
triplets inside a batch of labelled images: batch-hard (Hermans et al. 2017) and batch-semi-hard
(Schroff et al. 2015). Losses are written with TensorFlow ops.
"""

from __future__ import annotations

from .mining import batch_hard_losses, batch_semi_hard_losses, masked_mean
from .spec import EMBEDDING_DIM, MARGIN


def build_embedding_net():
    """The embedding network: a 28x28x1 image -> a 10-d embedding (no normalisation), not compiled.

    Conv2D(32, 3, relu) -> Conv2D(32, 3, relu) -> MaxPooling2D(2) -> Dropout(0.25) -> Flatten ->
    Dense(128, relu) -> Dropout(0.5) -> Dense(10).
    """
    import keras

    return keras.Sequential([
        keras.Input((28, 28, 1)),
        keras.layers.Conv2D(32, 3, activation="relu"),
        keras.layers.Conv2D(32, 3, activation="relu"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Dropout(0.25),
        keras.layers.Flatten(),
        keras.layers.Dense(128, activation="relu"),
        keras.layers.Dropout(0.5),
        keras.layers.Dense(EMBEDDING_DIM),
    ], name="embedding")


def triplet_loss(anchor, positive, negative, margin: float = MARGIN):
    """Per-triplet ``max(|a-p|^2 - |a-n|^2 + margin, 0)`` (TensorFlow ops; shape ``(batch,)``, no mean)."""
    import tensorflow as tf

    d_ap = tf.reduce_sum(tf.square(anchor - positive), axis=-1)
    d_an = tf.reduce_sum(tf.square(anchor - negative), axis=-1)
    return tf.maximum(d_ap - d_an + margin, 0.0)


def batch_hard_triplet_loss(labels, embeddings, margin: float = MARGIN):
    """Batch-hard triplet loss (Hermans et al. 2017), a scalar (TensorFlow ops).

    For each anchor of the batch: its hardest positive (the largest squared distance to another image with its
    label) and its hardest negative (the smallest squared distance to an image with another label); the loss is
    the mean of ``max(d(a,p) - d(a,n) + margin, 0)`` over anchors that have both, and 0 for a batch without any
    (e.g. one class).
    """
    return masked_mean(*batch_hard_losses(labels, embeddings, margin))


def batch_semi_hard_triplet_loss(labels, embeddings, margin: float = MARGIN):
    """Batch-semi-hard triplet loss (FaceNet, Schroff et al. 2015), a scalar (TensorFlow ops).

    For each (anchor, positive) pair of the batch: the nearest negative that is farther than the positive
    (``d(a,n) > d(a,p)``), or the farthest negative when none is; the loss is the mean of
    ``max(d(a,p) - d(a,n) + margin, 0)`` over pairs whose anchor has a negative, and 0 for a batch without any.
    """
    return masked_mean(*batch_semi_hard_losses(labels, embeddings, margin))
