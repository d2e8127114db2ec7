"""hw14.q2 measurements (trusted side): from the embeddings a training step returned and the labels and test
triplets only this side holds: random-triplet loss and active share, k-NN accuracy, recall@1, embedding spread,
the share of mined triplets that were active, and t-SNE maps."""

from __future__ import annotations

from typing import Any

import numpy as np

from dlgrade.kit.runner import StepFailed, expect_output

from .mining import epoch_active_share
from .spec import EMBEDDING_DIM, MARGIN, TSNE_PERPLEXITY


def triplet_loss_numpy(a, p, n, margin: float = MARGIN) -> np.ndarray:
    """Per-triplet ``max(|a-p|^2 - |a-n|^2 + margin, 0)`` in float64."""
    a, p, n = (np.asarray(x, dtype=np.float64) for x in (a, p, n))
    return np.maximum(((a - p) ** 2).sum(-1) - ((a - n) ** 2).sum(-1) + margin, 0.0)


def random_triplet_stats(emb: np.ndarray, triplets: np.ndarray, margin: float = MARGIN) -> tuple[float, float]:
    """(mean loss, active share) of index triplets evaluated on precomputed embeddings."""
    losses = triplet_loss_numpy(emb[triplets[:, 0]], emb[triplets[:, 1]], emb[triplets[:, 2]], margin)
    return float(losses.mean()), float((losses > 0).mean())


def knn_accuracy(train_emb, train_labels, test_emb, test_labels, k: int) -> float:
    """Accuracy of a k-nearest-neighbour vote (Euclidean) of test embeddings against train embeddings."""
    from sklearn.neighbors import KNeighborsClassifier

    if k < 1 or k > len(train_emb):
        raise ValueError(f"k must be in [1, {len(train_emb)}], got {k}")
    clf = KNeighborsClassifier(n_neighbors=k).fit(train_emb, np.asarray(train_labels).reshape(-1))
    return float((clf.predict(test_emb) == np.asarray(test_labels).reshape(-1)).mean())


def recall_at_1(emb, labels) -> float:
    """Leave-one-out retrieval inside one set: share of queries whose nearest other item has their label."""
    from sklearn.neighbors import NearestNeighbors

    labels = np.asarray(labels).reshape(-1)
    if len(labels) < 2:
        raise ValueError("recall@1 needs at least two items")
    idx = NearestNeighbors(n_neighbors=2).fit(emb).kneighbors(emb, return_distance=False)
    nearest = np.where(idx[:, 0] == np.arange(len(labels)), idx[:, 1], idx[:, 0])
    return float((labels[nearest] == labels).mean())


def mean_sq_distance(emb: np.ndarray) -> float:
    """Mean squared distance between all pairs of rows (about 0 when the embedding has collapsed to a point)."""
    emb = np.asarray(emb, dtype=np.float64)
    return float(2.0 * len(emb) / max(len(emb) - 1, 1) * emb.var(axis=0).sum())


# ---------------------------------------------------------------- what a training step returned

def embeddings(value: Any, step: str, name: str, shape: tuple) -> np.ndarray:
    """A step's embeddings as float32 (as the network computed them), or :class:`StepFailed` when they are not
    numbers of ``shape`` or not finite."""
    expect_output(value, step, name, shape)
    return np.asarray(value, dtype=np.float32)


def strategy_outputs(out: Any, step: str, epochs: int, n_train: int, n_test: int, mining: bool) -> dict:
    """The validated outputs of one strategy's step: per-epoch embeddings, training loss (and active share),
    seconds, and for a mining step the last epoch's batches; :class:`StepFailed` names what is missing or wrong."""

    def need(mapping: Any, key: str, where: str) -> Any:
        if not isinstance(mapping, dict) or key not in mapping:
            raise StepFailed(step, "missing", f"the step returned no {key!r}{where}")
        return mapping[key]

    history = need(out, "history", "")
    hist = {"loss": expect_output(need(history, "loss", " in its history"), step, "the training loss per epoch", (epochs,)).tolist()}
    if not mining:
        hist["active"] = expect_output(need(history, "active", " in its history"), step, "the active share per epoch", (epochs,)).tolist()
    got = {"history": hist, "seconds": float(expect_output(need(out, "seconds", ""), step, "the training time", ())),
           "train": embeddings(need(out, "train_embeddings", ""), step, "the per-epoch training embeddings", (epochs, n_train, EMBEDDING_DIM)),
           "test": embeddings(need(out, "test_embeddings", ""), step, "the per-epoch test embeddings", (epochs, n_test, EMBEDDING_DIM))}
    if mining:
        last = need(out, "last_epoch", "")
        sizes = expect_output(need(last, "batch_sizes", " for the last epoch"), step, "the last epoch's batch sizes")
        if sizes.ndim != 1 or not len(sizes) or np.any(sizes < 1) or not np.array_equal(sizes, np.round(sizes)):
            raise StepFailed(step, "shape", f"the last epoch's batch sizes {sizes.tolist()!r:.80} are not positive counts")
        sizes = sizes.astype(np.int64)
        total = int(sizes.sum())
        labels = expect_output(need(last, "labels", " for the last epoch"), step, "the last epoch's batch labels", (total,))
        if not np.array_equal(labels, np.round(labels)):
            raise StepFailed(step, "wrong", "the last epoch's batch labels are not whole digits")
        got["last_epoch"] = {"labels": np.asarray(last["labels"]), "sizes": sizes,
                             "embeddings": embeddings(need(last, "embeddings", " for the last epoch"), step,
                                                      "the last epoch's batch embeddings", (total, EMBEDDING_DIM))}
    return got


# ---------------------------------------------------------------- a strategy's measures

def epoch_measures(train_embs, test_embs, y_train, y_test, train_triplets, test_triplets) -> dict[str, list[float]]:
    """Per epoch: random-triplet loss and active share on training and test triplets, and 1-NN test accuracy."""
    out: dict[str, list[float]] = {k: [] for k in ("train_triplet_loss", "train_active", "test_triplet_loss", "test_active",
                                                   "test_knn1_accuracy")}
    for e_tr, e_te in zip(train_embs, test_embs):
        lt, at = random_triplet_stats(e_tr, train_triplets)
        lv, av = random_triplet_stats(e_te, test_triplets)
        for k, v in zip(out, (lt, at, lv, av, knn_accuracy(e_tr, y_train, e_te, y_test, 1))):
            out[k].append(v)
    return out


def final_measures(strategy: str, got: dict, curves: dict, y_train, y_test, train_triplets: int, epochs: int) -> dict[str, float]:
    """A strategy's measures after its last epoch (``<split>.<measure>`` -> value)."""
    e_tr, e_te = got["train"][-1], got["test"][-1]
    mined = (epoch_active_share(strategy, got["last_epoch"]["labels"], got["last_epoch"]["embeddings"], got["last_epoch"]["sizes"])
             if "last_epoch" in got else got["history"]["active"][-1])
    return {
        "test.knn1_accuracy": knn_accuracy(e_tr, y_train, e_te, y_test, 1),
        "test.knn5_accuracy": knn_accuracy(e_tr, y_train, e_te, y_test, 5),
        "test.recall_at_1": recall_at_1(e_te, y_test),
        "test.embedding_spread": mean_sq_distance(e_te),
        "train.loss": got["history"]["loss"][-1],
        "test.triplet_loss": curves["test_triplet_loss"][-1],
        "train.triplet_loss": curves["train_triplet_loss"][-1],
        "train.active_first": curves["train_active"][0],
        "train.active_last": curves["train_active"][-1],
        "test.active_last": curves["test_active"][-1],
        "train.mined_active_last": mined,
        "seconds": got["seconds"],
        "triplets_per_second": train_triplets * epochs / got["seconds"],
    }


COLLAPSED_PTP = 1e-9  # an embedding whose every coordinate spans less than this is one point


def tsne_maps(embeds: dict[str, tuple[np.ndarray, np.ndarray]], y_train, y_test, points: int, pick: np.random.Generator,
              seed: int) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """t-SNE (scikit-learn, one OpenMP thread) of ``points`` training and ``points`` test embeddings per strategy, the
    same images for every strategy. Returns strategy -> (2-D points, digit labels, "train"/"test" per point)."""
    from sklearn.manifold import TSNE
    from threadpoolctl import threadpool_limits

    # One thread (measured on the shared 2-core CPU): with two, t-SNE of 3 x 256 points spun for > 30 CPU-s and
    # > 5 min; with one, 1024 points take about 8 CPU-s.
    i_tr = pick.choice(len(y_train), size=min(points, len(y_train)), replace=False)
    i_te = pick.choice(len(y_test), size=min(points, len(y_test)), replace=False)
    labels = np.concatenate([y_train[i_tr], y_test[i_te]])
    split = np.array(["train"] * len(i_tr) + ["test"] * len(i_te))
    out = {}
    with threadpool_limits(limits=1, user_api="openmp"):
        for s, (e_tr, e_te) in embeds.items():
            x = np.concatenate([e_tr[i_tr], e_te[i_te]]).astype(np.float64)
            if not np.isfinite(x).all() or np.ptp(x, axis=0).max() < COLLAPSED_PTP:
                # A collapsed (or non-finite) embedding has no neighbourhoods to map: t-SNE's PCA start divides by a
                # zero variance and scikit-learn crashed the process on it (measured: SIGSEGV). Drawn as one point.
                out[s] = (np.zeros((len(x), 2)), labels, split)
                continue
            pts = TSNE(n_components=2, init="pca", perplexity=TSNE_PERPLEXITY, random_state=seed).fit_transform(x)
            out[s] = (pts, labels, split)
    return out
