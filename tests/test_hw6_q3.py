"""hw6.q3: rotation labels, the masked multi-task loss, the labelled split and the joint data set."""

from __future__ import annotations

import numpy as np
import pytest

from dlgrade.tasks.hw6_q3_rotation import (build_joint, build_trunk, joint_dataset, labelled_split, masked_joint_loss,
                                           one_hot, restart, rotate_batch, verify_rotation_labels, weighted_targets)


def _asymmetric(n=1, h=5):
    img = np.zeros((n, h, h, 3), np.float32)
    img[:, 0, 0, 0] = 1.0  # a marked top-left corner ...
    img[:, 0, 1, 1] = 2.0  # ... and a different mark to its right
    img[:, 1, 0, 2] = 3.0  # ... and another below it
    return img


def test_rotation_labels_for_all_four_angles():
    x = _asymmetric(2)
    rotated, labels = rotate_batch(x)
    assert rotated.shape == (8, 5, 5, 3) and labels.tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    corner = {0: (0, 0), 1: (4, 0), 2: (4, 4), 3: (0, 4)}  # quarter turns counter-clockwise
    right_neighbour = {0: (0, 1), 1: (3, 0), 2: (4, 3), 3: (1, 4)}
    for img, k in zip(rotated, labels):
        assert img[corner[k] + (0,)] == 1.0
        assert img[right_neighbour[k] + (1,)] == 2.0
        np.testing.assert_array_equal(img, np.rot90(x[0], k))
    # 90 degrees counter-clockwise: the first row becomes the first column read bottom-up
    np.testing.assert_array_equal(rotated[2][::-1, 0, :], x[0][0, :, :])


def test_rotation_verifier_catches_wrong_labels():
    assert verify_rotation_labels(rotate_batch)

    def clockwise(images):
        r, k = rotate_batch(images)
        return r, (-k) % 4  # 90 degrees labelled as 270

    assert not verify_rotation_labels(clockwise)
    assert not verify_rotation_labels(lambda images: (images, np.zeros(len(images))))


@pytest.mark.parametrize("bad", [np.zeros((4, 4, 3)), np.zeros((2, 4, 5, 3))])
def test_rotate_rejects_bad_shapes(bad):
    with pytest.raises(ValueError):
        rotate_batch(bad)


def test_labelled_split_is_balanced_seeded_and_disjoint():
    y = np.repeat(np.arange(10), 30)
    lab, rest = labelled_split(y, 20, seed=3)
    assert len(lab) == 200 and np.bincount(y[lab]).tolist() == [20] * 10
    assert not set(lab) & set(rest) and len(lab) + len(rest) == len(y)
    np.testing.assert_array_equal(lab, labelled_split(y, 20, seed=3)[0])
    assert not np.array_equal(lab, labelled_split(y, 20, seed=4)[0])
    with pytest.raises(ValueError):
        labelled_split(y, 31, seed=0)


def test_joint_dataset_masks_each_head():
    rng = np.random.default_rng(0)
    x_lab, y_lab, x_un = rng.random((6, 8, 8, 3)), np.arange(6) % 10, rng.random((5, 8, 8, 3))
    x, y, w = joint_dataset(x_lab, y_lab, x_un, label_repeat=2, seed=0)
    assert len(x) == 12 + 20
    cls, rot = w["classifier"] > 0, w["rotator"] > 0
    assert cls.sum() == 12 and rot.sum() == 20 and not (cls & rot).any() and (cls | rot).all()
    # non-zero weights make each head's loss the mean over its own samples
    assert np.isclose(w["classifier"].sum(), len(x)) and np.isclose(w["rotator"].sum(), len(x))
    assert np.bincount(y["rotator"][rot].argmax(1)).tolist() == [5, 5, 5, 5]
    with pytest.raises(ValueError):
        joint_dataset(x_lab, y_lab, x_un, label_repeat=0, seed=0)


def _grads(model, x, y, w, loss_weights):
    import tensorflow as tf

    with tf.GradientTape() as tape:
        pred = model(x, training=False)
        ours = masked_joint_loss(y, pred, w, loss_weights)
    grads = tape.gradient(ours, model.trainable_weights)
    keras_loss = model.compute_loss(x=x, y=y, y_pred=pred, sample_weight=weighted_targets(w, loss_weights))
    return float(ours), float(keras_loss), [g.numpy() for g in grads]


def test_masked_loss_ignores_the_other_heads_samples():
    import keras

    keras.utils.set_random_seed(0)
    model = build_joint(build_trunk((8, 8, 3)))
    rng = np.random.default_rng(1)
    x_lab, y_lab, x_un = rng.random((4, 8, 8, 3)).astype("float32"), np.array([1, 2, 3, 4]), rng.random((3, 8, 8, 3)).astype("float32")
    x, y, w = joint_dataset(x_lab, y_lab, x_un, label_repeat=1, seed=0)
    lw = (0.8, 0.2)
    loss, keras_loss, grads = _grads(model, x, y, w, lw)
    assert np.isclose(loss, keras_loss, rtol=1e-5)  # the helper is what Keras' fit minimises
    # change only the placeholder targets (samples whose weight for that head is 0)
    y2 = {k: v.copy() for k, v in y.items()}
    y2["classifier"][w["classifier"] == 0] = one_hot(rng.integers(1, 10, (w["classifier"] == 0).sum()), 10)
    y2["rotator"][w["rotator"] == 0] = one_hot(rng.integers(1, 4, (w["rotator"] == 0).sum()), 4)
    loss2, keras_loss2, grads2 = _grads(model, x, y2, w, lw)
    assert np.isclose(loss, loss2, rtol=1e-6) and np.isclose(keras_loss, keras_loss2, rtol=1e-6)
    for g, g2 in zip(grads, grads2):
        np.testing.assert_allclose(g, g2, rtol=1e-5, atol=1e-8)
    # changing a real target does change the loss (the test can fail)
    y3 = {k: v.copy() for k, v in y.items()}
    first = np.flatnonzero(w["classifier"] > 0)[0]
    y3["classifier"][first] = np.roll(y3["classifier"][first], 1)
    assert not np.isclose(_grads(model, x, y3, w, lw)[0], loss, rtol=1e-6)


def test_restart_resets_weights_and_optimizer():
    import keras

    keras.utils.set_random_seed(0)
    model = build_joint(build_trunk((8, 8, 3)))
    init = model.get_weights()
    rng = np.random.default_rng(2)
    x, y, w = joint_dataset(rng.random((4, 8, 8, 3)), np.arange(4), rng.random((2, 8, 8, 3)), 1, 0)
    model.fit(x, y, sample_weight=w, epochs=1, verbose=0)
    assert int(model.optimizer.iterations) > 0
    restart(model, init)
    assert int(model.optimizer.iterations) == 0 and float(model.optimizer.learning_rate) > 0
    for a, b in zip(model.get_weights(), init):
        np.testing.assert_array_equal(a, b)


def test_trunk_is_the_homework_network():
    import keras

    trunk = build_trunk()
    convs = [l for l in trunk.layers if isinstance(l, keras.layers.Conv2D)]
    assert [c.filters for c in convs] == [32, 32, 64, 64, 128, 128]
    assert sum(isinstance(l, keras.layers.BatchNormalization) for l in trunk.layers) == 6
    assert [l.rate for l in trunk.layers if isinstance(l, keras.layers.Dropout)] == [0.3] * 3
    assert trunk.output.shape[-1] == 64
