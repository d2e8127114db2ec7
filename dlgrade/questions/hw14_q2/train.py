"""hw14.q2 training steps: the student's embedding net trained with random triplets (the student's
``triplet_loss``), with batch-hard and with batch-semi-hard mining (the student's mined losses).

All three see the same images (the mining batches are the random triplets' images, shuffled and regrouped into
batches of 3 x 256), take the same number of optimiser steps and start from the same weights. Test images come
without labels and test triplets not at all: after every epoch the steps return the embeddings of the training
and test images (inference mode), and the mining steps also return the training-mode embeddings and labels of
the last epoch's batches, so that the trusted side measures every loss, share and accuracy itself. Nothing here
knows how to mine.

A finished strategy's outputs are kept in the step's work folder, so an interrupted run (the full profile takes
about an hour per strategy on a CPU) trains only the strategies it had not finished.
"""

from __future__ import annotations

import hashlib
import json
import time

import numpy as np

from dlgrade.kit.keras_fit import fit

from .spec import BATCH_TRIPLETS, EMBEDDING_DIM, LEARNING_RATE, MARGIN, MINING_BATCH, PREDICT_BATCH

SANDBOX_SAFE = True
FINISHED = "finished"  # <work_dir>/finished.json and finished.npz: a finished strategy's outputs


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


def _callbacks():
    import keras

    class EpochEmbeddings(keras.callbacks.Callback):
        """After each epoch (inference mode): the embeddings of the training and of the test images."""

        def __init__(self, embed, x_train, x_test):
            super().__init__()
            self.embed, self.x_train, self.x_test = embed, x_train, x_test
            self.train: list = []
            self.test: list = []

        def on_epoch_end(self, epoch, logs=None):
            self.train.append(self.embed.predict(self.x_train, batch_size=PREDICT_BATCH, verbose=0))
            self.test.append(self.embed.predict(self.x_test, batch_size=PREDICT_BATCH, verbose=0))

    class LastEpochBatches(keras.callbacks.Callback):
        """During the last epoch, every training batch's labels and embeddings as the loss saw them (training mode).

        ``metric()`` is a Keras metric that records them (it reports 1 in the epoch it records, 0 before); the trusted
        side measures them.
        """

        def __init__(self, epochs: int):
            super().__init__()
            self.epochs, self.recording = epochs, False
            self.labels: list = []
            self.embeddings: list = []

        def on_epoch_begin(self, epoch, logs=None):
            self.recording = epoch == self.epochs - 1

        def _record(self, y_true, y_pred):
            if self.recording:
                self.labels.append(np.asarray(y_true).reshape(-1))
                self.embeddings.append(np.asarray(y_pred))
            return np.float32(self.recording)

        def metric(self):
            import tensorflow as tf

            def batches_recorded(y_true, y_pred):
                out = tf.py_function(lambda t, p: self._record(t.numpy(), p.numpy()), [y_true, y_pred], tf.float32)
                out.set_shape([])
                return out

            return batches_recorded

        def outputs(self) -> dict:
            return {"labels": np.concatenate(self.labels), "embeddings": np.concatenate(self.embeddings).astype(np.float32),
                    "batch_sizes": np.array([len(b) for b in self.labels], dtype=np.int64)}

    return EpochEmbeddings, LastEpochBatches


def _train(env, strategy: str, x_train, y_train, train_triplets, x_test) -> dict:
    """Train ``strategy`` from the seed's initial weights; returns its outputs (plain data)."""
    import keras
    import tensorflow as tf

    EpochEmbeddings, LastEpochBatches = _callbacks()
    epochs = env.config.epochs
    keras.utils.set_random_seed(env.seeds["init"])
    embed = env.fns.build_embedding_net()
    recorder = None
    if strategy == "random":
        loss_fn = env.fns.triplet_loss
        ins = [keras.Input((28, 28, 1), name=n) for n in ("anchor", "positive", "negative")]
        model = keras.Model(ins, keras.layers.Concatenate()([embed(i) for i in ins]))

        def split(y_pred):
            return y_pred[:, :EMBEDDING_DIM], y_pred[:, EMBEDDING_DIM:2 * EMBEDDING_DIM], y_pred[:, 2 * EMBEDDING_DIM:]

        def loss(y_true, y_pred):
            return tf.reduce_mean(loss_fn(*split(y_pred), MARGIN))

        def active(y_true, y_pred):
            return tf.reduce_mean(tf.cast(loss_fn(*split(y_pred), MARGIN) > 0, tf.float32))

        metrics, data = [active], _triplet_dataset(x_train, train_triplets, BATCH_TRIPLETS, env.seeds["shuffle"])
        compile_args = {}
    else:
        model = embed
        mined = getattr(env.fns, f"{strategy}_triplet_loss")

        def loss(y_true, y_pred):
            return mined(tf.reshape(y_true, [-1]), y_pred, MARGIN)

        recorder = LastEpochBatches(epochs)
        metrics, data = [recorder.metric()], _mining_dataset(x_train, y_train, train_triplets, MINING_BATCH, env.seeds["shuffle"])
        compile_args = {"jit_compile": False}  # the recording metric runs Python (never compiled with XLA)
    model.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE), loss=loss, metrics=metrics, **compile_args)
    per_epoch = EpochEmbeddings(embed, x_train, x_test)
    t0 = time.perf_counter()
    hist = fit(env, model, data, None, strategy, epochs, callbacks=[per_epoch] + ([recorder] if recorder else []))
    seconds = time.perf_counter() - t0
    kept = ("loss",) if recorder else ("loss", "active")  # a mining step's own "metric" only recorded batches
    out = {"history": {k: hist[k] for k in kept}, "seconds": seconds,
           "train_embeddings": np.stack(per_epoch.train).astype(np.float32), "test_embeddings": np.stack(per_epoch.test).astype(np.float32)}
    if recorder:
        out["last_epoch"] = recorder.outputs()
    return out


# ---------------------------------------------------------------- resuming a finished strategy

def _key(env, strategy: str, arrays) -> str:
    """What a strategy's outputs depend on: its name, the settings, the seed, Keras' version and every input array."""
    import keras

    h = hashlib.sha256(json.dumps({"strategy": strategy, "config": env.config.to_dict(), "seed": env.seed,
                                   "keras": keras.__version__}, sort_keys=True).encode())
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype}{a.shape}".encode() + a.tobytes())
    return h.hexdigest()


def _flatten(out: dict) -> tuple[dict, dict]:
    arrays = {k: out[k] for k in ("train_embeddings", "test_embeddings")}
    arrays.update({f"last_epoch.{k}": v for k, v in out.get("last_epoch", {}).items()})
    return arrays, {"history": out["history"], "seconds": out["seconds"]}


def _unflatten(arrays, meta: dict) -> dict:
    out = {"history": meta["history"], "seconds": meta["seconds"]}
    last = {}
    for k in arrays.files:
        if k.startswith("last_epoch."):
            last[k.split(".", 1)[1]] = arrays[k]
        else:
            out[k] = arrays[k]
    if last:
        out["last_epoch"] = last
    return out


def train_or_resume(env, strategy: str, x_train, y_train, train_triplets, x_test) -> dict:
    """:func:`_train`, or the outputs this step kept when it finished before with the same inputs and settings."""
    key = _key(env, strategy, [a for a in (x_train, y_train, train_triplets, x_test) if a is not None])
    meta_path, arrays_path = env.work_dir / f"{FINISHED}.json", env.work_dir / f"{FINISHED}.npz"
    if meta_path.is_file() and arrays_path.is_file():
        try:
            meta = json.loads(meta_path.read_text())
        except ValueError:
            meta = {}
        if meta.get("key") == key:
            env.progress.log(f"{strategy}: finished by an earlier run with the same inputs; loaded from {env.work_dir}")
            with np.load(arrays_path, allow_pickle=False) as arrays:
                return _unflatten(arrays, meta)
    out = _train(env, strategy, x_train, y_train, train_triplets, x_test)
    arrays, meta = _flatten(out)
    env.work_dir.mkdir(parents=True, exist_ok=True)
    with open(env.work_dir / f"{FINISHED}.tmp.npz", "wb") as f:
        np.savez(f, **arrays)
    (env.work_dir / f"{FINISHED}.tmp.npz").replace(arrays_path)
    (env.work_dir / f"{FINISHED}.tmp.json").write_text(json.dumps({**meta, "key": key}))
    (env.work_dir / f"{FINISHED}.tmp.json").replace(meta_path)  # written last: it marks the outputs complete
    return out


# ---------------------------------------------------------------- the steps

def random(env, x_train, train_triplets, x_test) -> dict:
    """Random triplets: the student's ``build_embedding_net`` and ``triplet_loss``."""
    return train_or_resume(env, "random", x_train, None, train_triplets, x_test)


def batch_hard(env, x_train, y_train, train_triplets, x_test) -> dict:
    """Batch-hard mining: the student's ``build_embedding_net`` and ``batch_hard_triplet_loss``."""
    return train_or_resume(env, "batch_hard", x_train, y_train, train_triplets, x_test)


def batch_semi_hard(env, x_train, y_train, train_triplets, x_test) -> dict:
    """Batch-semi-hard mining: the student's ``build_embedding_net`` and ``batch_semi_hard_triplet_loss``."""
    return train_or_resume(env, "batch_semi_hard", x_train, y_train, train_triplets, x_test)
