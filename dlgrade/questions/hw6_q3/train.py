"""hw6.q3 training steps: the supervised baseline, the rotation pretext and its transfer, the joint two-head
training, and the rotation probe. They call the student's ``rotate_batch`` and ``build_trunk`` through
``env.fns``. Test and validation images come without labels: the steps return the probabilities after every
epoch, and the trusted side scores them against labels only it holds.

Sandbox-safe: the heads, the masking of the joint loss and the training loops are the grader's, not answers.
"""

from __future__ import annotations

import time

import numpy as np

from dlgrade.kit.keras_fit import fit, predictions_per_epoch, reset

from .spec import INPUT_SHAPE, NUM_CLASSES, ROTATIONS, WEIGHTINGS

SANDBOX_SAFE = True


def one_hot(labels, classes: int) -> np.ndarray:
    """Integer labels as float32 one-hot rows.

    Raises:
        ValueError: a label outside ``0..classes-1``.
    """
    labels = np.asarray(labels, dtype=np.int64)
    if labels.size and (labels.min() < 0 or labels.max() >= classes):
        raise ValueError(f"labels must lie in [0, {classes}), got range [{labels.min()}, {labels.max()}]")
    return np.eye(classes, dtype=np.float32)[labels]


def rotations(rotate, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``rotate(images)`` (the student's ``rotate_batch``) as arrays, checked to give one label per image.

    Raises:
        TypeError: it did not return a pair ``(rotated, labels)``.
        ValueError: the numbers of images and labels differ, or no image came back.
    """
    out = rotate(images)
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise TypeError(f"rotate_batch returned {type(out).__name__}, expected a tuple (rotated, labels)")
    x, y = np.asarray(out[0], dtype=np.float32), np.asarray(out[1]).reshape(-1)
    if len(x) != len(y) or len(x) == 0:
        raise ValueError(f"rotate_batch returned {len(x)} images and {len(y)} labels, expected as many of each "
                         f"(4 x {len(images)})")
    return x, y


def features(trunk, input_shape=None):
    """``(inputs, features)`` of the student's trunk, whether it is a functional model or a Keras 3 Sequential
    (which has no ``.output`` until it is called): the trunk is called on a fresh ``keras.Input`` of the trunk's
    own input shape when it declares one, else of ``input_shape`` (default: CIFAR-10's)."""
    import keras

    try:
        declared = tuple(trunk.inputs[0].shape[1:])
    except (AttributeError, IndexError, TypeError, ValueError):  # an unbuilt Sequential has no inputs yet
        declared = None
    shape = declared if declared and None not in declared else tuple(input_shape or INPUT_SHAPE)
    inputs = keras.Input(shape)
    return inputs, trunk(inputs)


def with_head(trunk, classes: int, name: str, input_shape=None):
    """``trunk`` + Dense(classes, softmax), compiled with Adam and categorical cross-entropy."""
    import keras

    inputs, feats = features(trunk, input_shape)
    out = keras.layers.Dense(classes, activation="softmax", name=f"{name}_head")(feats)
    model = keras.Model(inputs, out, name=name)
    model.compile(optimizer=keras.optimizers.Adam(), loss="categorical_crossentropy", metrics=["accuracy"],
                  jit_compile=False)  # XLA compilation costs more than it saves on a CPU here
    return model


def build_joint(trunk):
    """One trunk, two heads: ``classifier`` (10) and ``rotator`` (4), per-head weighted accuracies.

    Compiled with loss weights 1 and 1: a weighting ``(a, b)`` is applied by scaling each head's sample
    weights (:func:`weighted_targets`), which gives the same loss as ``loss_weights=(a, b)`` and lets one
    compiled model serve all three weightings.
    """
    import keras

    inputs, feats = features(trunk)
    cls = keras.layers.Dense(NUM_CLASSES, activation="softmax", name="classifier")(feats)
    rot = keras.layers.Dense(len(ROTATIONS), activation="softmax", name="rotator")(feats)
    model = keras.Model(inputs, {"classifier": cls, "rotator": rot}, name="joint")
    model.compile(optimizer=keras.optimizers.Adam(),
                  loss={"classifier": "categorical_crossentropy", "rotator": "categorical_crossentropy"},
                  weighted_metrics={"classifier": ["accuracy"], "rotator": ["accuracy"]}, jit_compile=False)
    return model


def weighted_targets(weights: dict, loss_weights: tuple[float, float]) -> dict:
    """Per-head sample weights scaled by the heads' loss weights (classifier, rotator)."""
    return {"classifier": weights["classifier"] * np.float32(loss_weights[0]),
            "rotator": weights["rotator"] * np.float32(loss_weights[1])}


def joint_dataset(x_lab: np.ndarray, y_lab: np.ndarray, x_unlab: np.ndarray, label_repeat: int, seed: int, rotate):
    """Inputs, per-head targets and per-head sample weights for the multi-task model.

    The labelled images (repeated ``label_repeat`` times) carry a class target and weight 0 for the
    rotator; the unlabelled images rotated by ``rotate`` carry a rotation target and weight 0 for the
    classifier. The placeholder targets are class 0 / rotation 0. Non-zero weights are ``n / n_head``.
    """
    if label_repeat < 1:
        raise ValueError(f"label_repeat must be >= 1, got {label_repeat}")
    rot_x, rot_y = rotations(rotate, x_unlab)
    xl = np.concatenate([x_lab] * label_repeat)
    yl = np.concatenate([y_lab] * label_repeat)
    n_l, n_r = len(xl), len(rot_x)
    n = n_l + n_r
    x = np.concatenate([xl, rot_x])
    targets = {"classifier": one_hot(np.concatenate([yl, np.zeros(n_r, np.int64)]), NUM_CLASSES),
               "rotator": one_hot(np.concatenate([np.zeros(n_l, np.int64), rot_y]), len(ROTATIONS))}
    weights = {"classifier": np.concatenate([np.full(n_l, n / n_l), np.zeros(n_r)]).astype(np.float32),
               "rotator": np.concatenate([np.zeros(n_l), np.full(n_r, n / n_r)]).astype(np.float32)}
    order = np.random.default_rng(seed).permutation(n)
    return x[order], {k: v[order] for k, v in targets.items()}, {k: v[order] for k, v in weights.items()}


def _fit(env, model, x, y, label: str, epochs: int, batch_size: int, callbacks=(), **kwargs) -> tuple[dict, float]:
    """:func:`~dlgrade.kit.keras_fit.fit` and its training throughput (images per second)."""
    t0 = time.perf_counter()
    history = fit(env, model, x, y, label, epochs, callbacks=list(callbacks), batch_size=batch_size, **kwargs)
    return history, len(x) * epochs / (time.perf_counter() - t0)


def _classifier(env, input_shape):
    """The baseline's classifier (the student's trunk + a 10-way head) from the baseline's seed:
    ``(trunk, model, initial weights)``."""
    import keras

    keras.utils.set_random_seed(env.seeds["baseline_init"])
    trunk = env.fns.build_trunk(input_shape)
    model = with_head(trunk, NUM_CLASSES, "classifier")
    return trunk, model, model.get_weights()


def _supervised(env, model, x_lab, y_lab, label: str, callbacks=()) -> tuple[dict, float]:
    cfg = env.config
    return _fit(env, model, x_lab, one_hot(y_lab, NUM_CLASSES), label, cfg.epochs_supervised, cfg.batch_size_supervised,
                callbacks)


def rotation_probe(env, probe: np.ndarray) -> dict:
    """The student's ``rotate_batch`` applied to a small probe image (checked on the trusted side)."""
    rotated, labels = rotations(env.fns.rotate_batch, probe.copy())
    return {"rotated": rotated, "labels": labels}


def baseline(env, x_lab, y_lab, x_test) -> dict:
    """(a) The classifier trained on the labelled images only: its history and its test probabilities after
    every epoch."""
    _, model, _ = _classifier(env, x_lab.shape[1:])
    test = predictions_per_epoch(x_test, env.config.batch_size_supervised)
    history, speed = _supervised(env, model, x_lab, y_lab, "baseline", [test])
    return {"history": history, "test_probabilities": test.outputs, "images_per_second": speed}


def pretext_transfer(env, x_lab, y_lab, x_unlabelled, x_pretext_val, x_test) -> dict:
    """(b) The rotation pretext on the student's rotations of the unlabelled images, then its trunk under the
    baseline's classifier head (the same initial head as the baseline's), fine-tuned on the labelled images."""
    import keras

    cfg = env.config
    trunk, classifier, initial = _classifier(env, x_lab.shape[1:])
    rx, ry = rotations(env.fns.rotate_batch, x_unlabelled)
    keras.utils.set_random_seed(env.seeds["pretext_init"])
    pre_trunk = env.fns.build_trunk(x_lab.shape[1:])
    pretext = with_head(pre_trunk, len(ROTATIONS), "pretext")
    val = predictions_per_epoch(x_pretext_val, cfg.batch_size_pretext)
    pre_history, pre_speed = _fit(env, pretext, rx, one_hot(ry, len(ROTATIONS)), "pretext", cfg.epochs_pretext,
                                  cfg.batch_size_pretext, [val])
    del rx, ry
    reset(classifier, initial)
    trunk.set_weights(pre_trunk.get_weights())
    test = predictions_per_epoch(x_test, cfg.batch_size_supervised)
    history, speed = _supervised(env, classifier, x_lab, y_lab, "transfer", [test])
    return {"pretext_history": pre_history, "pretext_val_probabilities": val.outputs, "pretext_images_per_second": pre_speed,
            "transfer_history": history, "transfer_test_probabilities": test.outputs, "transfer_images_per_second": speed}


def joint(env, x_lab, y_lab, x_joint_unlabelled, x_test, x_rot_test) -> dict:
    """(c) One trunk with a classifier and a rotator head, trained with each loss weighting from the same
    initial weights: per weighting, the history and after every epoch the classifier's probabilities on the
    test images and the rotator's on the rotated test images."""
    import keras

    cfg = env.config
    jx, jy, jw = joint_dataset(x_lab, y_lab, x_joint_unlabelled, cfg.label_repeat, env.seeds["joint_shuffle"],
                               env.fns.rotate_batch)
    x_eval, n_test = np.concatenate([x_test, x_rot_test]), len(x_test)
    keras.utils.set_random_seed(env.seeds["joint_init"])
    model = build_joint(env.fns.build_trunk(x_lab.shape[1:]))
    initial = model.get_weights()
    out = {}
    for i, (name, loss_weights) in enumerate(WEIGHTINGS.items()):
        if i:
            reset(model, initial)
        keras.utils.set_random_seed(env.seeds[f"joint_fit.{name}"])
        evals = predictions_per_epoch(x_eval, cfg.batch_size_joint)
        history, speed = _fit(env, model, jx, jy, f"joint {name}", cfg.epochs_joint, cfg.batch_size_joint, [evals],
                              sample_weight=weighted_targets(jw, loss_weights))
        out[name] = {"history": history, "images_per_second": speed,
                     "classifier_probabilities": [p["classifier"][:n_test] for p in evals.outputs],
                     "rotator_probabilities": [p["rotator"][n_test:] for p in evals.outputs]}
    return {"weightings": out}
