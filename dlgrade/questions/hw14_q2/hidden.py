"""Hidden checks for hw14.q2: the triplet losses on known embeddings."""

from __future__ import annotations

import numpy as np

from dlgrade.kit.hidden import expect_array, expect_close, hidden_check


def _emb(seed=5, n=12, d=4):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)).astype("float32"), np.array([0, 1, 2] * (n // 3))


@hidden_check("triplet_loss_values", 2, ("triplet_loss",),
              {"en": "triplet_loss equals max(|a-p|^2 - |a-n|^2 + margin, 0) per triplet on known embeddings.",
               "fa": "triplet_loss برای هر سه‌تایی برابر max(|a-p|^2 - |a-n|^2 + margin, 0) است."},
              {"en": "Use squared Euclidean distances, the margin argument, and no mean over the batch.",
               "fa": "از مربع فاصلهٔ اقلیدسی و آرگومان margin استفاده کنید و روی دسته میانگین نگیرید."},
              timeout_s=120)
def triplet_loss_values(f, ref):
    e, _ = _emb()
    a, p, n = e[:4], e[4:8], e[8:12]
    got = expect_array(f.triplet_loss(a, p, n, margin=0.4), "triplet_loss", (4,))
    expect_close(got, np.asarray(ref.triplet_loss(a, p, n, margin=0.4)), "triplet_loss", 1e-4)


@hidden_check("batch_hard_values", 2, ("batch_hard_triplet_loss",),
              {"en": "batch_hard_triplet_loss equals the reference on a known batch.",
               "fa": "batch_hard_triplet_loss روی یک دستهٔ معلوم با مرجع برابر است."}, timeout_s=120)
def batch_hard_values(f, ref):
    e, y = _emb(9)
    got = expect_array(f.batch_hard_triplet_loss(y, e, margin=0.4), "batch_hard_triplet_loss")
    expect_close(got.reshape(()), np.asarray(ref.batch_hard_triplet_loss(y, e, margin=0.4)), "batch_hard_triplet_loss", 1e-4)


@hidden_check("batch_semi_hard_values", 2, ("batch_semi_hard_triplet_loss",),
              {"en": "batch_semi_hard_triplet_loss equals the reference on a known batch.",
               "fa": "batch_semi_hard_triplet_loss روی یک دستهٔ معلوم با مرجع برابر است."}, timeout_s=120)
def batch_semi_hard_values(f, ref):
    e, y = _emb(13)
    got = expect_array(f.batch_semi_hard_triplet_loss(y, e, margin=0.4), "batch_semi_hard_triplet_loss")
    expect_close(got.reshape(()), np.asarray(ref.batch_semi_hard_triplet_loss(y, e, margin=0.4)), "batch_semi_hard_triplet_loss", 1e-4)
