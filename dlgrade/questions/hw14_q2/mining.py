"""hw14.q2 online mining (trusted side only: this is the batch-hard and batch-semi-hard answer).

The per-anchor / per-pair losses that the reference's mined triplet losses average, the share of mined triplets
that are active, and brute-force NumPy versions (loops over anchors and pairs) that the tests compare the
TensorFlow versions with. The training steps never import this module: they return the embeddings of the last
epoch's batches and the trusted side measures them here.
"""

from __future__ import annotations

import numpy as np

from .spec import MARGIN


def pairwise_sq_distances(embeddings):
    """Squared Euclidean distances between all rows, clipped at 0, exact 0 on the diagonal."""
    import tensorflow as tf

    e = tf.convert_to_tensor(embeddings, dtype=tf.float32)
    sq = tf.reduce_sum(tf.square(e), axis=1)
    d = sq[:, None] - 2.0 * tf.matmul(e, e, transpose_b=True) + sq[None, :]
    d = tf.maximum(d, 0.0)
    return d * (1.0 - tf.eye(tf.shape(e)[0]))


def _masks(labels):
    import tensorflow as tf

    labels = tf.reshape(labels, [-1])
    same = tf.equal(labels[:, None], labels[None, :])
    not_self = tf.logical_not(tf.eye(tf.shape(labels)[0], dtype=tf.bool))
    return tf.logical_and(same, not_self), tf.logical_not(same)


def batch_hard_losses(labels, embeddings, margin: float = MARGIN):
    """Batch-hard losses per anchor and which anchors count.

    For each anchor: hardest positive (largest distance to an image of its label, not itself) and hardest negative
    (smallest distance to another label). An anchor counts only when it has both; the others get loss 0 and
    ``valid`` False.

    Returns:
        ``(losses, valid)``: float32 ``(batch,)`` and bool ``(batch,)``.
    """
    import tensorflow as tf

    d = pairwise_sq_distances(embeddings)
    pos, neg = _masks(labels)
    has_pos, has_neg = tf.reduce_any(pos, axis=1), tf.reduce_any(neg, axis=1)
    hardest_pos = tf.reduce_max(tf.where(pos, d, tf.zeros_like(d)), axis=1)
    big = tf.reduce_max(d) + 1.0
    hardest_neg = tf.reduce_min(tf.where(neg, d, tf.fill(tf.shape(d), big)), axis=1)
    valid = tf.logical_and(has_pos, has_neg)
    losses = tf.where(valid, tf.maximum(hardest_pos - hardest_neg + margin, 0.0), tf.zeros_like(hardest_pos))
    return losses, valid


def batch_semi_hard_losses(labels, embeddings, margin: float = MARGIN):
    """Batch-semi-hard losses per (anchor, positive) pair and which pairs count.

    For each pair the negative is the nearest one *farther* than the positive (``d(a,n) > d(a,p)``, FaceNet's
    semi-hard choice); when no negative is farther, the farthest negative is used (as TensorFlow Addons does), so
    the pair adds no pressure to collapse. A pair counts when the anchor has a negative.

    Returns:
        ``(losses, valid)``: float32 ``(batch, batch)`` and bool ``(batch, batch)``.
    """
    import tensorflow as tf

    d = pairwise_sq_distances(embeddings)
    pos, neg = _masks(labels)
    n_neg = tf.reduce_sum(tf.cast(neg, tf.int32), axis=1)
    valid = tf.logical_and(pos, (n_neg > 0)[:, None])
    # O(batch^2 log batch) instead of a (batch, batch, batch) tensor: sort each anchor's negative
    # distances (non-negatives pushed to the end), then binary-search every d(a,p) in its row.
    big = tf.stop_gradient(tf.reduce_max(d)) + 1.0
    neg_d = tf.stop_gradient(tf.where(neg, d, tf.fill(tf.shape(d), big)))
    order = tf.argsort(neg_d, axis=1, stable=True)
    sorted_neg = tf.gather(neg_d, order, batch_dims=1)
    first_farther = tf.searchsorted(sorted_neg, tf.stop_gradient(d), side="right", out_type=tf.int32)
    last = tf.maximum(n_neg - 1, 0)[:, None]
    pick = tf.where(first_farther < n_neg[:, None], first_farther, last)   # none farther: the farthest negative
    chosen = tf.gather(d, tf.gather(order, pick, batch_dims=1), batch_dims=1)
    losses = tf.where(valid, tf.maximum(d - chosen + margin, 0.0), tf.zeros_like(d))
    return losses, valid


PER_TRIPLET = {"batch_hard": batch_hard_losses, "batch_semi_hard": batch_semi_hard_losses}


def masked_mean(losses, valid):
    """Mean of ``losses`` over ``valid`` entries; 0 (not NaN) when none is valid."""
    import tensorflow as tf

    v = tf.cast(valid, tf.float32)
    return tf.reduce_sum(losses * v) / tf.maximum(tf.reduce_sum(v), 1.0)


def active_share(losses, valid):
    """Share of valid triplets with a non-zero loss (0 when none is valid)."""
    import tensorflow as tf

    return masked_mean(tf.cast(losses > 0, tf.float32), valid)


def epoch_active_share(strategy: str, labels: np.ndarray, embeddings: np.ndarray, batch_sizes, margin: float = MARGIN) -> float:
    """The share of ``strategy``'s mined triplets that were active, averaged over an epoch's batches as Keras averages
    a metric (a float32 running total divided by the number of batches).

    Args:
        labels, embeddings: every batch of the epoch, concatenated in order (training-mode embeddings).
        batch_sizes: the number of images in each batch.
    """
    import tensorflow as tf

    per = PER_TRIPLET[strategy]
    total, start = np.float32(0.0), 0
    for n in batch_sizes:
        n = int(n)
        share = active_share(*per(tf.reshape(tf.constant(labels[start:start + n]), [-1]), tf.constant(embeddings[start:start + n]), margin))
        total = np.float32(total + np.float32(share.numpy()))
        start += n
    return float(np.float32(total / np.float32(max(len(batch_sizes), 1))))


# ---------------------------------------------------------------- brute-force NumPy references (for the tests)

def batch_hard_numpy(labels, emb, margin: float = MARGIN) -> tuple[float, float]:
    """Loops over anchors; returns (mean loss, active share) over anchors with a positive and a negative."""
    labels, emb = np.asarray(labels).reshape(-1), np.asarray(emb, dtype=np.float64)
    losses = []
    for i in range(len(labels)):
        dp = [((emb[i] - emb[j]) ** 2).sum() for j in range(len(labels)) if j != i and labels[j] == labels[i]]
        dn = [((emb[i] - emb[k]) ** 2).sum() for k in range(len(labels)) if labels[k] != labels[i]]
        if dp and dn:
            losses.append(max(max(dp) - min(dn) + margin, 0.0))
    if not losses:
        return 0.0, 0.0
    return float(np.mean(losses)), float(np.mean(np.array(losses) > 0))


def batch_semi_hard_numpy(labels, emb, margin: float = MARGIN) -> tuple[float, float]:
    """Loops over (anchor, positive) pairs; returns (mean loss, active share)."""
    labels, emb = np.asarray(labels).reshape(-1), np.asarray(emb, dtype=np.float64)
    n = len(labels)
    losses = []
    for a in range(n):
        negs = [((emb[a] - emb[k]) ** 2).sum() for k in range(n) if labels[k] != labels[a]]
        if not negs:
            continue
        for p in range(n):
            if p == a or labels[p] != labels[a]:
                continue
            dap = ((emb[a] - emb[p]) ** 2).sum()
            farther = [x for x in negs if x > dap]
            dan = min(farther) if farther else max(negs)
            losses.append(max(dap - dan + margin, 0.0))
    if not losses:
        return 0.0, 0.0
    return float(np.mean(losses)), float(np.mean(np.array(losses) > 0))
