"""hw14.q2 pieces: triplet sampling, the TensorFlow losses against brute-force NumPy, k-NN / recall@1, bad inputs."""

from __future__ import annotations

import numpy as np
import pytest

from dlgrade.tasks import hw14_q2_triplet as q2

tf = pytest.importorskip("tensorflow")


def _batch(seed, n=12, classes=3, dim=4, scale=1.0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, size=n)
    emb = rng.normal(size=(n, dim)).astype(np.float32) * scale
    return labels, emb


def test_make_triplets_respects_labels_and_seed():
    labels = np.repeat(np.arange(4), 5)
    t = q2.make_triplets(labels, 500, seed=3)
    assert t.shape == (500, 3)
    assert np.all(labels[t[:, 0]] == labels[t[:, 1]])
    assert np.all(t[:, 0] != t[:, 1])
    assert np.all(labels[t[:, 0]] != labels[t[:, 2]])
    assert np.array_equal(t, q2.make_triplets(labels, 500, seed=3))
    assert not np.array_equal(t, q2.make_triplets(labels, 500, seed=4))


@pytest.mark.parametrize("labels", [np.zeros(10, int), np.arange(5)])
def test_make_triplets_refuses_impossible_label_sets(labels):
    with pytest.raises(ValueError, match="classes"):
        q2.make_triplets(labels, 10, seed=0)


def test_make_triplets_refuses_zero():
    with pytest.raises(ValueError, match="at least one"):
        q2.make_triplets(np.repeat(np.arange(2), 3), 0, seed=0)


def test_triplet_loss_matches_numpy_and_hinge():
    rng = np.random.default_rng(0)
    a, p, n = (rng.normal(size=(64, 10)).astype(np.float32) for _ in range(3))
    got = q2.triplet_loss(tf.constant(a), tf.constant(p), tf.constant(n), 0.4).numpy()
    np.testing.assert_allclose(got, q2.triplet_loss_numpy(a, p, n, 0.4), rtol=1e-5, atol=1e-5)
    # an easy triplet has zero loss, a hard one d(a,p) - d(a,n) + margin
    a1 = np.zeros((2, 2), np.float32)
    p1 = np.array([[0.1, 0], [2, 0]], np.float32)
    n1 = np.array([[3, 0], [1, 0]], np.float32)
    np.testing.assert_allclose(q2.triplet_loss(a1, p1, n1, 0.4).numpy(), [0.0, 4 - 1 + 0.4], rtol=1e-6)


def test_pairwise_distances_match_brute_force():
    _, emb = _batch(1, n=9, dim=5)
    d = q2.pairwise_sq_distances(emb).numpy()
    brute = ((emb[:, None, :] - emb[None, :, :]) ** 2).sum(-1)
    np.testing.assert_allclose(d, brute, rtol=1e-4, atol=1e-4)
    assert np.all(np.diag(d) == 0) and np.all(d >= 0)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("scale", [0.05, 1.0])
def test_batch_hard_matches_numpy(seed, scale):
    labels, emb = _batch(seed, n=14, classes=4, scale=scale)
    loss = float(q2.batch_hard_triplet_loss(tf.constant(labels), tf.constant(emb), 0.4))
    active = float(q2.active_share(*q2.batch_hard_losses(tf.constant(labels), tf.constant(emb), 0.4)))
    ref_loss, ref_active = q2.batch_hard_numpy(labels, emb, 0.4)
    assert loss == pytest.approx(ref_loss, rel=1e-4, abs=1e-5)
    assert active == pytest.approx(ref_active, abs=1e-6)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("scale", [0.2, 1.0])
def test_batch_semi_hard_matches_numpy(seed, scale):
    labels, emb = _batch(seed + 100, n=13, classes=3, scale=scale)
    loss = float(q2.batch_semi_hard_triplet_loss(tf.constant(labels), tf.constant(emb), 0.4))
    active = float(q2.active_share(*q2.batch_semi_hard_losses(tf.constant(labels), tf.constant(emb), 0.4)))
    ref_loss, ref_active = q2.batch_semi_hard_numpy(labels, emb, 0.4)
    assert loss == pytest.approx(ref_loss, rel=1e-4, abs=1e-5)
    assert active == pytest.approx(ref_active, abs=1e-6)


def test_semi_hard_picks_nearest_farther_negative():
    # anchor 0 and positive 1 at distance 1; negatives at squared distances 0.25 (hard), 1.21 and 4
    emb = np.array([[0.0], [1.0], [0.5], [1.1], [2.0]], np.float32)
    labels = np.array([0, 0, 1, 1, 1])
    losses, valid = q2.batch_semi_hard_losses(tf.constant(labels), tf.constant(emb), 0.4)
    assert bool(valid.numpy()[0, 1])
    assert losses.numpy()[0, 1] == pytest.approx(1.0 - 1.21 + 0.4, abs=1e-5)
    hard_losses, _ = q2.batch_hard_losses(tf.constant(labels), tf.constant(emb), 0.4)
    assert hard_losses.numpy()[0] == pytest.approx(1.0 - 0.25 + 0.4, abs=1e-5)


@pytest.mark.parametrize("fn", [q2.batch_hard_triplet_loss, q2.batch_semi_hard_triplet_loss])
def test_one_class_batch_gives_zero_loss_and_zero_gradient_not_nan(fn):
    labels = tf.constant(np.full(8, 3))
    emb = tf.Variable(np.random.default_rng(0).normal(size=(8, 10)).astype(np.float32))
    with tf.GradientTape() as tape:
        loss = fn(labels, emb, 0.4)
    grad = tape.gradient(loss, emb)
    assert float(loss) == 0.0
    assert grad is None or np.all(np.isfinite(grad.numpy())) and np.allclose(grad.numpy(), 0.0)
    assert q2.batch_hard_numpy(labels.numpy(), emb.numpy()) == (0.0, 0.0)
    assert q2.batch_semi_hard_numpy(labels.numpy(), emb.numpy()) == (0.0, 0.0)


@pytest.mark.parametrize("fn", [q2.batch_hard_triplet_loss, q2.batch_semi_hard_triplet_loss])
def test_collapsed_embeddings_give_margin_and_finite_gradient(fn):
    """All embeddings equal (a collapsed net): loss is exactly the margin and the gradient stays finite."""
    labels = tf.constant(np.array([0, 0, 1, 1, 2, 2]))
    emb = tf.Variable(np.ones((6, 10), np.float32))
    with tf.GradientTape() as tape:
        loss = fn(labels, emb, 0.4)
    assert float(loss) == pytest.approx(0.4, abs=1e-6)
    assert np.all(np.isfinite(tape.gradient(loss, emb).numpy()))


def test_singleton_classes_are_skipped_by_batch_hard():
    labels = np.array([0, 0, 1, 2])   # classes 1 and 2 have no positive
    emb = np.array([[0.0], [1.0], [0.2], [5.0]], np.float32)
    losses, valid = q2.batch_hard_losses(tf.constant(labels), tf.constant(emb), 0.4)
    assert valid.numpy().tolist() == [True, True, False, False]
    assert float(q2.batch_hard_triplet_loss(labels, emb, 0.4)) == pytest.approx(q2.batch_hard_numpy(labels, emb)[0], abs=1e-6)


def test_knn_and_recall_on_separable_clusters():
    rng = np.random.default_rng(0)
    centres = np.eye(3) * 10
    y_tr, y_te = np.repeat(np.arange(3), 20), np.repeat(np.arange(3), 10)
    e_tr, e_te = centres[y_tr] + rng.normal(size=(60, 3)), centres[y_te] + rng.normal(size=(30, 3))
    assert q2.knn_accuracy(e_tr, y_tr, e_te, y_te, 1) == 1.0
    assert q2.knn_accuracy(e_tr, y_tr, e_te, y_te, 5) == 1.0
    assert q2.recall_at_1(e_te, y_te) == 1.0
    # shuffled labels fall to about chance
    assert q2.recall_at_1(e_te, rng.permutation(y_te)) < 0.7


def test_recall_at_1_excludes_the_query_itself():
    emb = np.array([[0.0], [0.1], [5.0], [5.1]])
    assert q2.recall_at_1(emb, np.array([0, 1, 0, 1])) == 0.0
    assert q2.recall_at_1(emb, np.array([0, 0, 1, 1])) == 1.0


def test_knn_rejects_bad_k():
    with pytest.raises(ValueError, match="k must be"):
        q2.knn_accuracy(np.zeros((3, 2)), [0, 1, 0], np.zeros((1, 2)), [0], 5)


def test_random_triplet_stats():
    emb = np.array([[0.0], [0.1], [5.0], [0.0]])
    loss, active = q2.random_triplet_stats(emb, np.array([[0, 1, 2], [0, 1, 3]]))
    assert active == 0.5
    assert loss == pytest.approx((0 + (0.01 - 0 + 0.4)) / 2)


def test_embedding_net_is_the_reference_architecture():
    net = q2.build_embedding_net()
    kinds = [type(layer).__name__ for layer in net.layers]
    assert kinds == ["Conv2D", "Conv2D", "MaxPooling2D", "Dropout", "Flatten", "Dense", "Dropout", "Dense"]
    assert net.output_shape == (None, 10)
    assert net.count_params() == 320 + 9248 + 4608 * 128 + 128 + 1290


def test_mean_sq_distance_matches_pairs_and_detects_collapse():
    rng = np.random.default_rng(0)
    emb = rng.normal(size=(7, 3))
    pairs = [((emb[i] - emb[j]) ** 2).sum() for i in range(7) for j in range(7) if i != j]
    assert q2.mean_sq_distance(emb) == pytest.approx(np.mean(pairs))
    assert q2.mean_sq_distance(np.ones((5, 10))) == 0.0


def test_an_interrupted_run_keeps_the_strategies_it_finished(tmp_path, monkeypatch):
    from dlgrade.progress import Progress
    from dlgrade.runstore import run_task

    real, calls, histories = q2.train_strategy, [], {}

    def ends_before_semi_hard_once(ctx, strategy, *args):
        if strategy == "batch_semi_hard" and "stopped" not in calls:
            calls.append("stopped")
            raise RuntimeError("the session ended")
        calls.append(strategy)
        embed, hist, seconds = real(ctx, strategy, *args)
        histories[strategy] = hist
        return embed, hist, seconds

    monkeypatch.setattr(q2, "train_strategy", ends_before_semi_hard_once)
    with pytest.raises(RuntimeError, match="session ended"):
        run_task(q2.TASK, "smoke", 0, tmp_path, progress=Progress("t", quiet=True))
    outcome = run_task(q2.TASK, "smoke", 0, tmp_path, progress=Progress("t", quiet=True))
    assert calls == ["random", "batch_hard", "stopped", "batch_semi_hard"]  # the second run trained only what was left
    assert outcome.result.facts["history"]["random"] == histories["random"]
    assert outcome.result.metrics["random.knn1_accuracy"] == pytest.approx(histories["random"]["knn1_accuracy"][-1])
    assert len(list((outcome.run_dir / "strategies").iterdir())) == 3
