"""hw14.q2: triplet-loss embeddings of MNIST digits, random triplets vs online mining.

The reference setup: random triplets (anchor, positive of the same digit, negative of
another digit), an embedding net Conv32(3x3, relu) -> Conv32(3x3, relu) -> MaxPool 2 ->
Dropout 0.25 -> Flatten -> Dense 128 relu -> Dropout 0.5 -> Dense 10, the loss
``max(d(a,p) - d(a,n) + 0.4, 0)`` on squared Euclidean distances, Adam 1e-4, batch 256.

Beyond the reference, the same network is trained with two online mining strategies
that pick triplets inside a batch of labelled images (batch-hard, Hermans et al. 2017;
batch-semi-hard, Schroff et al. 2015). All three strategies see the same images (the
mining batches are the random triplets' images, shuffled and regrouped into batches of
``3 x 256``), take the same number of optimiser steps and start from the same weights.
They are compared by k-NN accuracy of test embeddings against train embeddings,
recall@1 inside the test set, the share of random triplets that still have a non-zero
loss ("active") after each epoch, and training time.

Mining losses are written with TensorFlow ops; brute-force NumPy versions
(``*_numpy``) are the references the tests compare them with.
"""

from __future__ import annotations

import json
import time

import numpy as np

from dlgrade.reports import plots
from dlgrade.results import TaskResult, write_json_atomic
from dlgrade.tasks.base import Context, Task

MARGIN = 0.4
LEARNING_RATE = 1e-4
BATCH_TRIPLETS = 256
EMBEDDING_DIM = 10
STRATEGIES = ("random", "batch_hard", "batch_semi_hard")
STRATEGY_NAMES = {"random": "random triplets", "batch_hard": "batch-hard", "batch_semi_hard": "batch-semi-hard"}
REFERENCE = {"train_loss": 0.0020, "val_loss": 0.0107, "train_triplets": 180000, "test_triplets": 45000, "epochs": 10,
             "batch_size": 256, "learning_rate": 1e-4, "margin": MARGIN}


# ---------------------------------------------------------------- triplets and the network
def make_triplets(labels: np.ndarray, n: int, seed: int) -> np.ndarray:
    """``n`` random triplets of indices into ``labels``: (anchor, positive, negative).

    The positive has the anchor's label and is a different image; the negative has another label.

    Raises:
        ValueError: when ``n`` < 1, or when no class has two images or there is only one class.
    """
    labels = np.asarray(labels).reshape(-1)
    if n < 1:
        raise ValueError(f"need at least one triplet, got n={n}")
    classes, counts = np.unique(labels, return_counts=True)
    if len(classes) < 2 or counts.max() < 2:
        raise ValueError(f"random triplets need >= 2 classes and a class with >= 2 images; got classes {classes.tolist()} "
                         f"with counts {counts.tolist()}")
    rng = np.random.default_rng(seed)
    by_class = {c: np.flatnonzero(labels == c) for c in classes}
    usable = classes[counts >= 2]
    anchor_class = rng.choice(usable, size=n)
    out = np.empty((n, 3), dtype=np.int64)
    for c in usable:
        rows = np.flatnonzero(anchor_class == c)
        if not len(rows):
            continue
        members = by_class[c]
        a = rng.integers(0, len(members), size=len(rows))
        p = (a + rng.integers(1, len(members), size=len(rows))) % len(members)  # never the anchor itself
        others = np.flatnonzero(labels != c)
        out[rows, 0], out[rows, 1] = members[a], members[p]
        out[rows, 2] = others[rng.integers(0, len(others), size=len(rows))]
    return out


def build_embedding_net():
    """The reference embedding network (28x28x1 image -> 10-d embedding, no normalisation)."""
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


# ---------------------------------------------------------------- losses (TensorFlow ops)
def triplet_loss(anchor, positive, negative, margin: float = MARGIN):
    """Per-triplet ``max(|a-p|^2 - |a-n|^2 + margin, 0)`` (TensorFlow ops; shape ``(batch,)``)."""
    import tensorflow as tf

    d_ap = tf.reduce_sum(tf.square(anchor - positive), axis=-1)
    d_an = tf.reduce_sum(tf.square(anchor - negative), axis=-1)
    return tf.maximum(d_ap - d_an + margin, 0.0)


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

    For each anchor: hardest positive (largest distance to an image of its label, not
    itself) and hardest negative (smallest distance to another label). An anchor counts
    only when it has both; the others get loss 0 and ``valid`` False.

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

    For each pair the negative is the nearest one *farther* than the positive
    (``d(a,n) > d(a,p)``, FaceNet's semi-hard choice); when no negative is farther, the
    farthest negative is used (as TensorFlow Addons does), so the pair adds no pressure
    to collapse. A pair counts when the anchor has a negative.

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


def _masked_mean(losses, valid):
    """Mean of ``losses`` over ``valid`` entries; 0 (not NaN) when none is valid."""
    import tensorflow as tf

    v = tf.cast(valid, tf.float32)
    return tf.reduce_sum(losses * v) / tf.maximum(tf.reduce_sum(v), 1.0)


def batch_hard_triplet_loss(labels, embeddings, margin: float = MARGIN):
    """Mean batch-hard loss over anchors with a positive and a negative; 0 for a batch without any (e.g. one class)."""
    return _masked_mean(*batch_hard_losses(labels, embeddings, margin))


def batch_semi_hard_triplet_loss(labels, embeddings, margin: float = MARGIN):
    """Mean batch-semi-hard loss over valid (anchor, positive) pairs; 0 for a batch without any."""
    return _masked_mean(*batch_semi_hard_losses(labels, embeddings, margin))


def active_share(losses, valid):
    """Share of valid triplets with a non-zero loss (0 when none is valid)."""
    import tensorflow as tf

    return _masked_mean(tf.cast(losses > 0, tf.float32), valid)


# ---------------------------------------------------------------- brute-force NumPy references
def triplet_loss_numpy(a, p, n, margin: float = MARGIN) -> np.ndarray:
    a, p, n = (np.asarray(x, dtype=np.float64) for x in (a, p, n))
    return np.maximum(((a - p) ** 2).sum(-1) - ((a - n) ** 2).sum(-1) + margin, 0.0)


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


# ---------------------------------------------------------------- evaluation
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


def random_triplet_stats(emb: np.ndarray, triplets: np.ndarray, margin: float = MARGIN) -> tuple[float, float]:
    """(mean loss, active share) of index triplets evaluated on precomputed embeddings."""
    losses = triplet_loss_numpy(emb[triplets[:, 0]], emb[triplets[:, 1]], emb[triplets[:, 2]], margin)
    return float(losses.mean()), float((losses > 0).mean())


# ---------------------------------------------------------------- training
def _triplet_dataset(x, triplets, batch, seed):
    import tensorflow as tf

    xs = tf.constant(x)
    ds = tf.data.Dataset.from_tensor_slices(triplets).shuffle(len(triplets), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch).map(lambda t: ((tf.gather(xs, t[:, 0]), tf.gather(xs, t[:, 1]), tf.gather(xs, t[:, 2])),
                                        tf.zeros((tf.shape(t)[0], 1))))
    return ds.prefetch(2)


def _mining_dataset(x, y, triplets, batch, seed):
    """The random triplets' images (every a, p, n occurrence), shuffled per epoch, in batches of ``batch`` images."""
    import tensorflow as tf

    xs, ys = tf.constant(x), tf.constant(y.astype(np.int32))
    ds = tf.data.Dataset.from_tensor_slices(triplets.reshape(-1)).shuffle(triplets.size, seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch).map(lambda i: (tf.gather(xs, i), tf.gather(ys, i)))
    return ds.prefetch(2)


def train_strategy(ctx: Context, strategy: str, x_tr, y_tr, x_te, y_te, tri_tr, tri_te, epochs: int):
    """Train one strategy from the seed's initial weights; returns (embedding net, history dict, seconds)."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(ctx.seed)
    embed = ctx.impl("build_embedding_net", build_embedding_net)()
    margin = MARGIN
    if strategy == "random":
        loss_fn = ctx.impl("triplet_loss", triplet_loss)
        ins = [keras.Input((28, 28, 1), name=n) for n in ("anchor", "positive", "negative")]
        model = keras.Model(ins, keras.layers.Concatenate()([embed(i) for i in ins]))

        def split(y_pred):
            return y_pred[:, :EMBEDDING_DIM], y_pred[:, EMBEDDING_DIM:2 * EMBEDDING_DIM], y_pred[:, 2 * EMBEDDING_DIM:]

        def loss(y_true, y_pred):
            return tf.reduce_mean(loss_fn(*split(y_pred), margin))

        def active(y_true, y_pred):
            return tf.reduce_mean(tf.cast(loss_fn(*split(y_pred), margin) > 0, tf.float32))

        data = _triplet_dataset(x_tr, tri_tr, BATCH_TRIPLETS, ctx.seed)
    else:
        model = embed
        mined = ctx.impl(f"{strategy}_triplet_loss", {"batch_hard": batch_hard_triplet_loss,
                                                       "batch_semi_hard": batch_semi_hard_triplet_loss}[strategy])
        per = {"batch_hard": batch_hard_losses, "batch_semi_hard": batch_semi_hard_losses}[strategy]

        def loss(y_true, y_pred):
            return mined(tf.reshape(y_true, [-1]), y_pred, margin)

        def active(y_true, y_pred):
            return active_share(*per(tf.reshape(y_true, [-1]), y_pred, margin))

        data = _mining_dataset(x_tr, y_tr, tri_tr, 3 * BATCH_TRIPLETS, ctx.seed)
    model.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE), loss=loss, metrics=[active])

    hist = {k: [] for k in ("loss", "active", "random_train_loss", "random_train_active", "val_loss", "val_active",
                            "knn1_accuracy")}

    def embed_all(x):
        return embed.predict(x, batch_size=2048, verbose=0)

    class EpochEval(keras.callbacks.Callback):
        """After each epoch (inference mode): random-triplet loss/active share on train and test triplets, 1-NN."""

        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            hist["loss"].append(float(logs["loss"]))
            hist["active"].append(float(logs["active"]))
            e_tr, e_te = embed_all(x_tr), embed_all(x_te)
            lt, at = random_triplet_stats(e_tr, tri_tr)
            lv, av = random_triplet_stats(e_te, tri_te)
            hist["random_train_loss"].append(lt)
            hist["random_train_active"].append(at)
            hist["val_loss"].append(lv)
            hist["val_active"].append(av)
            hist["knn1_accuracy"].append(knn_accuracy(e_tr, y_tr, e_te, y_te, 1))
            ctx.progress.log(f"{strategy} epoch {epoch + 1}/{epochs}: loss {logs['loss']:.4f}, test random-triplet loss "
                             f"{lv:.4f}, active {at:.3f} (train) / {av:.3f} (test), 1-NN {hist['knn1_accuracy'][-1]:.4f}")

    t0 = time.perf_counter()
    model.fit(data, epochs=epochs, verbose=0, callbacks=[EpochEval()])
    seconds = time.perf_counter() - t0
    for name in ("loss", "active", "random_train_loss", "random_train_active", "val_loss", "val_active", "knn1_accuracy"):
        if not all(np.isfinite(hist[name])):
            raise RuntimeError(f"{strategy}: {name} became non-finite during training: {hist[name]}")
    return embed, hist, seconds


def train_or_resume(ctx: Context, strategy: str, *data, epochs: int):
    """``train_strategy``, keeping each finished strategy in the run folder under the run's fingerprint.

    A full run takes about an hour per strategy on a CPU; when one is interrupted, running it again
    (same code, data, profile and seed, so the same fingerprint) loads the strategies it finished
    instead of training them again. ``--force`` empties the folder and starts over.
    """
    import keras

    if not ctx.fingerprint:  # nothing identifies the run: train, keep nothing
        return train_strategy(ctx, strategy, *data, epochs)
    folder = ctx.run_dir / "strategies" / f"{ctx.fingerprint[:16]}-{strategy}"
    weights, saved = folder / "embedding.weights.h5", folder / "history.json"
    if weights.is_file() and saved.is_file():
        embed = ctx.impl("build_embedding_net", build_embedding_net)()
        embed.load_weights(weights)
        kept = json.loads(saved.read_text())
        ctx.progress.log(f"{strategy}: finished by an earlier run with this fingerprint; loaded from {folder}")
        return embed, kept["history"], kept["seconds"]
    embed, hist, seconds = train_strategy(ctx, strategy, *data, epochs)
    folder.mkdir(parents=True, exist_ok=True)
    embed.save_weights(weights)
    write_json_atomic(saved, {"history": hist, "seconds": seconds, "keras": keras.__version__})
    return embed, hist, seconds


# ---------------------------------------------------------------- plots
def plot_curves(histories: dict, path) -> None:
    """Three panels, one line per strategy: test random-triplet loss, active share of train random triplets, 1-NN accuracy."""
    import matplotlib.pyplot as plt

    panels = [("val_loss", "test random-triplet loss"), ("random_train_active", "active share (train random triplets)"),
              ("knn1_accuracy", "1-NN test accuracy")]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    for ax, (key, label) in zip(axes, panels):
        for s, h in histories.items():
            ax.plot(np.arange(1, len(h[key]) + 1), h[key], marker="o", markersize=3, label=STRATEGY_NAMES[s])
        ax.set_xlabel("epoch")
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    plots.save(fig, path)


def plot_tsne(maps: dict, path) -> None:
    """One column per strategy: t-SNE of train (top row) and test (bottom row) embeddings, coloured by digit."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, len(maps), figsize=(4.4 * len(maps), 8.4), squeeze=False)
    cmap = plt.get_cmap("tab10")
    for col, (s, (pts, labels, split)) in enumerate(maps.items()):
        for row, part in enumerate(("train", "test")):
            ax, sel = axes[row, col], split == part
            for d in range(10):
                m = sel & (labels == d)
                ax.scatter(pts[m, 0], pts[m, 1], s=6, color=cmap(d), label=str(d))
                if m.any():
                    cx, cy = np.median(pts[m, 0]), np.median(pts[m, 1])
                    ax.text(cx, cy, str(d), fontsize=11, weight="bold", ha="center", va="center",
                            bbox={"boxstyle": "round,pad=0.15", "fc": "white", "alpha": 0.7, "lw": 0})
            ax.set_title(f"{STRATEGY_NAMES[s]}: {int(sel.sum())} {part}", fontsize=10)
            ax.set_xticks([])
            ax.set_yticks([])
    axes[0, -1].legend(fontsize=7, markerscale=2, ncol=2, loc="best")
    plots.save(fig, path)


# ---------------------------------------------------------------- the task
def run(ctx: Context) -> TaskResult:
    from sklearn.manifold import TSNE
    from threadpoolctl import threadpool_limits

    cfg = ctx.config
    data = ctx.data.load("mnist")
    rng = np.random.default_rng(ctx.seed)
    tr_idx = np.sort(rng.permutation(len(data["x_train"]))[:cfg["train_images"]]) if cfg["train_images"] else np.arange(len(data["x_train"]))
    te_idx = np.sort(rng.permutation(len(data["x_test"]))[:cfg["test_images"]]) if cfg["test_images"] else np.arange(len(data["x_test"]))
    x_tr = (data["x_train"][tr_idx].astype(np.float32) / 255.0)[..., None]
    y_tr = data["y_train"][tr_idx].astype(np.int64)
    x_te = (data["x_test"][te_idx].astype(np.float32) / 255.0)[..., None]
    y_te = data["y_test"][te_idx].astype(np.int64)
    tri_tr = make_triplets(y_tr, cfg["train_triplets"], ctx.seed)
    tri_te = make_triplets(y_te, cfg["test_triplets"], ctx.seed + 1)
    epochs = cfg["epochs"]
    result = TaskResult(task=ctx.task_id)

    histories, seconds, embeds, finals = {}, {}, {}, {}
    for s in STRATEGIES:
        with ctx.timed(f"train {s}"):
            embed, hist, sec = train_or_resume(ctx, s, x_tr, y_tr, x_te, y_te, tri_tr, tri_te, epochs=epochs)
        histories[s], seconds[s] = hist, sec
        e_tr, e_te = embed.predict(x_tr, batch_size=2048, verbose=0), embed.predict(x_te, batch_size=2048, verbose=0)
        embeds[s] = (e_tr, e_te)
        finals[s] = {
            "knn1_accuracy": knn_accuracy(e_tr, y_tr, e_te, y_te, 1),
            "knn5_accuracy": knn_accuracy(e_tr, y_tr, e_te, y_te, 5),
            "recall_at_1": recall_at_1(e_te, y_te),
            "embedding_spread": mean_sq_distance(e_te),
            "train_loss": hist["loss"][-1],
            "val_loss": hist["val_loss"][-1],
            "random_train_loss": hist["random_train_loss"][-1],
            "active_first": hist["random_train_active"][0],
            "active_last": hist["random_train_active"][-1],
            "val_active_last": hist["val_active"][-1],
            "mined_active_last": hist["active"][-1],
            "seconds": sec,
            "triplets_per_second": cfg["train_triplets"] * epochs / sec,
        }

    n_tsne = cfg["tsne_points"]
    maps = {}
    # One OpenMP thread (measured on the shared 2-core CPU): with two, scikit-learn's t-SNE of 3 x 256
    # points spun for > 30 CPU-s and > 5 min; with one, 1024 points take about 8 CPU-s.
    with ctx.timed("t-SNE"), threadpool_limits(limits=1, user_api="openmp"):
        pick = np.random.default_rng(ctx.seed + 2)
        i_tr = pick.choice(len(y_tr), size=min(n_tsne, len(y_tr)), replace=False)
        i_te = pick.choice(len(y_te), size=min(n_tsne, len(y_te)), replace=False)
        for s in STRATEGIES:
            e_tr, e_te = embeds[s]
            pts = TSNE(n_components=2, init="pca", perplexity=30.0, random_state=ctx.seed).fit_transform(
                np.concatenate([e_tr[i_tr], e_te[i_te]]).astype(np.float64))
            maps[s] = (pts, np.concatenate([y_tr[i_tr], y_te[i_te]]), np.array(["train"] * len(i_tr) + ["test"] * len(i_te)))
    result.figures["curves"] = "curves.png"
    plot_curves(histories, ctx.figure_path("curves.png"))
    result.figures["tsne"] = "tsne.png"
    plot_tsne(maps, ctx.figure_path("tsne.png"))

    for s, f in finals.items():
        for k, v in f.items():
            result.metrics[f"{s}.{k}"] = float(v)
    best = max(STRATEGIES, key=lambda s: finals[s]["knn1_accuracy"])
    second = sorted((finals[s]["knn1_accuracy"] for s in STRATEGIES), reverse=True)[1]
    result.metrics.update({
        "best_strategy": best,
        "best_margin_knn1": finals[best]["knn1_accuracy"] - second,
        "hard_minus_random_knn1": finals["batch_hard"]["knn1_accuracy"] - finals["random"]["knn1_accuracy"],
        "semi_hard_minus_random_knn1": finals["batch_semi_hard"]["knn1_accuracy"] - finals["random"]["knn1_accuracy"],
        "random.active_drop": finals["random"]["active_first"] - finals["random"]["active_last"],
        "epochs": epochs,
        "train_images": len(y_tr),
        "test_images": len(y_te),
    })
    result.add_table("comparison", ["strategy", "k-NN acc (k=1)", "k-NN acc (k=5)", "recall@1 (test)",
                                    "active share, random train triplets", "active share, own triplets",
                                    "test random-triplet loss", "time (s)"],
                     [[STRATEGY_NAMES[s], round(f["knn1_accuracy"], 4), round(f["knn5_accuracy"], 4), round(f["recall_at_1"], 4),
                       round(f["active_last"], 4), round(f["mined_active_last"], 4), round(f["val_loss"], 4),
                       int(round(f["seconds"]))] for s, f in finals.items()])
    result.add_table("random_epochs", ["epoch", "train loss", "test loss", "active share (train)", "active share (test)", "1-NN acc"],
                     [[i + 1, round(histories["random"]["loss"][i], 4), round(histories["random"]["val_loss"][i], 4),
                       round(histories["random"]["random_train_active"][i], 4), round(histories["random"]["val_active"][i], 4),
                       round(histories["random"]["knn1_accuracy"][i], 4)] for i in range(epochs)])
    result.facts.update({
        "reference": REFERENCE,
        "train_triplets": int(cfg["train_triplets"]), "test_triplets": int(cfg["test_triplets"]),
        "mining_batch_images": 3 * BATCH_TRIPLETS, "steps_per_epoch": int(np.ceil(cfg["train_triplets"] / BATCH_TRIPLETS)),
        "images_seen": int(3 * cfg["train_triplets"] * epochs), "tsne_points": int(n_tsne),
        "best_name": STRATEGY_NAMES[best], "history": histories,
    })
    return result


TASK = Task(
    id="hw14.q2",
    title={"en": "Triplet loss on MNIST: random triplets vs batch-hard and batch-semi-hard mining",
           "fa": "تابع ضرر سه‌تایی روی MNIST: سه‌تایی‌های تصادفی در برابر استخراج سخت و نیمه‌سخت درون دسته"},
    datasets=("mnist",),
    configs={
        "smoke": {"train_images": 1000, "test_images": 500, "train_triplets": 1024, "test_triplets": 512, "epochs": 2, "tsne_points": 128},
        "quick": {"train_images": 5000, "test_images": 2000, "train_triplets": 4096, "test_triplets": 2048, "epochs": 4, "tsne_points": 512},
        "full": {"train_images": None, "test_images": None, "train_triplets": 180000, "test_triplets": 45000, "epochs": 10, "tsne_points": 512},
    },
    run=run,
    module=__name__,
    student_functions=("build_embedding_net", "triplet_loss", "batch_hard_triplet_loss", "batch_semi_hard_triplet_loss"),
)
