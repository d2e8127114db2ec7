"""hw6.q3: self-supervised rotation pre-training with 200 labelled CIFAR-10 images.

The network (the homework's): three blocks of ``[Conv(f, 3, same, relu) + BatchNorm] x 2``,
MaxPool, Dropout 0.3 with ``f = 32, 64, 128``; Flatten; Dense(64, relu, he_uniform). That
*trunk* ends in a 64-d feature vector; a softmax *head* is put on top of it.

(a) supervised baseline: 200 labelled images (20 per class), Adam, categorical cross-entropy.
(b) rotation pretext: every unlabelled image rotated by 0/90/180/270 degrees is a 4-class
    problem (20 % of the unlabelled *images* held out for validation, so rotations of one image
    never straddle the split); the pre-trained trunk then gets a new 10-way head and the whole
    network is fine-tuned on the same 200 labels.
(c) multi-task: one trunk, a classifier head (10) and a rotator head (4) trained together on
    the labelled images plus rotated unlabelled images. Each sample has a weight per head: 0 for
    the head it has no target for, so each head learns only from its own samples (the masked
    targets are placeholders that change neither the loss nor its gradient). The non-zero weights
    are ``n_all / n_head`` so each head's loss is the mean over its own samples and the loss
    weights (classifier-heavy, rotator-heavy, equal) mean what they say.
"""

from __future__ import annotations

import time

import numpy as np

from dlgrade.reports import plots
from dlgrade.results import TaskResult
from dlgrade.tasks._keras import fit, scale_images
from dlgrade.tasks.base import Context, Task

FILTERS = (32, 64, 128)
DROPOUT = 0.3
# Keras' default BatchNorm momentum (0.99) needs many hundreds of steps before the moving statistics used at
# inference forget their initial values (mean 0, variance 1). With 200 images that is 7 steps per epoch:
# measured here, after 30 epochs (210 steps) the model scored 0.98 on its training images in training mode
# but 0.135 in inference mode. 0.9 (PyTorch's default) settles within a few dozen steps.
BN_MOMENTUM = 0.9
FEATURES = 64
ROTATIONS = (0, 90, 180, 270)  # label k = np.rot90(image, k): k quarter turns counter-clockwise
WEIGHTINGS = {  # name -> (classifier loss weight, rotator loss weight)
    "classifier_heavy": (0.8, 0.2),
    "rotator_heavy": (0.2, 0.8),
    "equal": (0.5, 0.5),
}
REFERENCE = {"baseline_train_accuracy": 0.92, "baseline_val_accuracy": 0.325, "pretext_train_accuracy": 0.84,
             "pretext_val_accuracy": 0.845, "transfer_val_accuracy": 0.37, "joint_classifier_accuracy": 0.10,
             "joint_rotator_accuracy": 0.25}
CHANCE = {"classifier": 0.1, "rotator": 0.25}


def rotate_batch(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every image in all four rotations, with the rotation index as label.

    Args:
        images: ``(n, h, h, channels)`` square images.

    Returns:
        ``(rotated, labels)``: ``4n`` images, all images turned by 0 degrees first, then 90, 180, 270
        (``np.rot90(image, k)``: ``k`` quarter turns counter-clockwise), and labels ``k`` in 0..3.

    Example:
        >>> r, k = rotate_batch(np.zeros((2, 8, 8, 3)))
        >>> r.shape, k.tolist()
        ((8, 8, 8, 3), [0, 0, 1, 1, 2, 2, 3, 3])
    """
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[1] != images.shape[2]:
        raise ValueError(f"rotate_batch expects square images shaped (n, h, h, channels), got {images.shape}")
    rotated = np.concatenate([np.rot90(images, k, axes=(1, 2)) for k in range(len(ROTATIONS))])
    labels = np.repeat(np.arange(len(ROTATIONS)), len(images))
    return rotated, labels


def build_trunk(input_shape=(32, 32, 3)):
    """The shared feature extractor: conv blocks, Flatten, Dense(64, relu, he_uniform). Output: 64 features."""
    import keras

    L = keras.layers
    inp = keras.Input(input_shape)
    x = inp
    for f in FILTERS:
        for _ in range(2):
            x = L.Conv2D(f, 3, padding="same", activation="relu")(x)
            x = L.BatchNormalization(momentum=BN_MOMENTUM)(x)
        x = L.MaxPooling2D()(x)
        x = L.Dropout(DROPOUT)(x)
    x = L.Flatten()(x)
    x = L.Dense(FEATURES, activation="relu", kernel_initializer="he_uniform")(x)
    return keras.Model(inp, x, name="trunk")


def with_head(trunk, classes: int, name: str):
    """``trunk`` + Dense(classes, softmax), compiled with Adam and categorical cross-entropy."""
    import keras

    out = keras.layers.Dense(classes, activation="softmax", name=f"{name}_head")(trunk.output)
    model = keras.Model(trunk.input, out, name=name)
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

    feats = trunk.output
    cls = keras.layers.Dense(10, activation="softmax", name="classifier")(feats)
    rot = keras.layers.Dense(len(ROTATIONS), activation="softmax", name="rotator")(feats)
    model = keras.Model(trunk.input, {"classifier": cls, "rotator": rot}, name="joint")
    model.compile(optimizer=keras.optimizers.Adam(),
                  loss={"classifier": "categorical_crossentropy", "rotator": "categorical_crossentropy"},
                  weighted_metrics={"classifier": ["accuracy"], "rotator": ["accuracy"]}, jit_compile=False)
    return model


def weighted_targets(weights: dict, loss_weights: tuple[float, float]) -> dict:
    """Per-head sample weights scaled by the heads' loss weights (classifier, rotator)."""
    return {"classifier": weights["classifier"] * np.float32(loss_weights[0]),
            "rotator": weights["rotator"] * np.float32(loss_weights[1])}


def restart(model, weights: list) -> None:
    """Put ``model`` back to ``weights`` (incl. BatchNorm statistics) with a fresh optimizer state."""
    import keras

    model.set_weights(weights)
    for v in model.optimizer.variables:
        if not v.path.endswith("learning_rate"):
            v.assign(keras.ops.zeros(v.shape, v.dtype))


def one_hot(labels: np.ndarray, classes: int) -> np.ndarray:
    labels = np.asarray(labels, dtype=np.int64)
    if labels.size and (labels.min() < 0 or labels.max() >= classes):
        raise ValueError(f"labels must lie in [0, {classes}), got range [{labels.min()}, {labels.max()}]")
    return np.eye(classes, dtype=np.float32)[labels]


def labelled_split(y: np.ndarray, per_class: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of ``per_class`` seeded random images of every class, and of all the other images."""
    y = np.asarray(y).ravel()
    rng = np.random.default_rng(seed)
    picked = []
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        if len(idx) < per_class:
            raise ValueError(f"class {c} has {len(idx)} images, fewer than the {per_class} asked for")
        picked.append(rng.choice(idx, per_class, replace=False))
    lab = np.sort(np.concatenate(picked))
    rest = np.setdiff1d(np.arange(len(y)), lab)
    return lab, rest


def joint_dataset(x_lab: np.ndarray, y_lab: np.ndarray, x_unlab: np.ndarray, label_repeat: int, seed: int):
    """Inputs, per-head targets and per-head sample weights for the multi-task model.

    The labelled images (repeated ``label_repeat`` times) carry a class target and weight 0 for the
    rotator; the rotated unlabelled images carry a rotation target and weight 0 for the classifier.
    The placeholder targets are class 0 / rotation 0. Non-zero weights are ``n / n_head``.
    """
    if label_repeat < 1:
        raise ValueError(f"label_repeat must be >= 1, got {label_repeat}")
    rot_x, rot_y = rotate_batch(x_unlab)
    xl = np.concatenate([x_lab] * label_repeat)
    yl = np.concatenate([y_lab] * label_repeat)
    n_l, n_r = len(xl), len(rot_x)
    n = n_l + n_r
    x = np.concatenate([xl, rot_x])
    targets = {"classifier": one_hot(np.concatenate([yl, np.zeros(n_r, np.int64)]), 10),
               "rotator": one_hot(np.concatenate([np.zeros(n_l, np.int64), rot_y]), len(ROTATIONS))}
    weights = {"classifier": np.concatenate([np.full(n_l, n / n_l), np.zeros(n_r)]).astype(np.float32),
               "rotator": np.concatenate([np.zeros(n_l), np.full(n_r, n / n_r)]).astype(np.float32)}
    order = np.random.default_rng(seed).permutation(n)
    return x[order], {k: v[order] for k, v in targets.items()}, {k: v[order] for k, v in weights.items()}


def masked_joint_loss(targets: dict, predictions: dict, weights: dict, loss_weights: tuple[float, float]):
    """The multi-task loss Keras minimises for :func:`build_joint`: per head, the weighted cross-entropy
    summed over the batch and divided by the batch size, times the head's loss weight, summed over heads."""
    import keras

    total = 0.0
    for head, lw in zip(("classifier", "rotator"), loss_weights):
        p = keras.ops.clip(predictions[head], 1e-7, 1.0 - 1e-7)
        ce = -keras.ops.sum(keras.ops.convert_to_tensor(targets[head]) * keras.ops.log(p), axis=-1)
        w = keras.ops.convert_to_tensor(weights[head])
        total = total + lw * keras.ops.sum(ce * w) / keras.ops.cast(keras.ops.shape(ce)[0], "float32")
    return total


def verify_rotation_labels(rotate) -> bool:
    """Does ``rotate`` label the four quarter turns of an asymmetric probe image correctly?"""
    probe = np.zeros((1, 4, 4, 1), np.float32)
    probe[0, 0, 0, 0], probe[0, 0, 1, 0] = 1.0, 0.5  # top-left corner and its right neighbour
    expected = {0: (0, 0), 1: (3, 0), 2: (3, 3), 3: (0, 3)}  # where the corner goes (counter-clockwise turns)
    try:
        rotated, labels = rotate(probe)
        rotated, labels = np.asarray(rotated), np.asarray(labels).ravel()
    except Exception:  # noqa: BLE001 - a broken student function simply fails the check
        return False
    if rotated.shape != (4, 4, 4, 1) or sorted(labels.tolist()) != [0, 1, 2, 3]:
        return False
    for img, k in zip(rotated, labels):
        r, c = expected[int(k)]
        if img[r, c, 0] != 1.0 or not np.array_equal(img, np.rot90(probe[0], int(k), axes=(0, 1))):
            return False
    return True


def run(ctx: Context) -> TaskResult:
    import keras

    cfg = ctx.config
    rotate = ctx.impl("rotate_batch", rotate_batch)
    trunk_fn = ctx.impl("build_trunk", build_trunk)
    data = ctx.data.load("cifar10")
    x_all, y_all = data["x_train"], np.asarray(data["y_train"]).ravel()
    lab_idx, rest_idx = labelled_split(y_all, cfg["per_class"], ctx.seed)
    rng = np.random.default_rng(ctx.seed + 1)
    rest_idx = rng.permutation(rest_idx)
    n_unlab = len(rest_idx) if cfg["unlabelled"] is None else cfg["unlabelled"]
    unlab_idx = rest_idx[:n_unlab]
    n_val = int(round(cfg["pretext_val_fraction"] * n_unlab))
    x_lab, y_lab = scale_images(x_all[lab_idx]), y_all[lab_idx]
    x_u_train, x_u_val = scale_images(x_all[unlab_idx[n_val:]]), scale_images(x_all[unlab_idx[:n_val]])
    n_joint = n_unlab if cfg["joint_unlabelled"] is None else cfg["joint_unlabelled"]
    x_joint_unlab = scale_images(x_all[rest_idx[:n_joint]])
    y_test_all = np.asarray(data["y_test"]).ravel()
    test_idx = np.arange(len(y_test_all)) if cfg["test_images"] is None else \
        np.sort(np.random.default_rng(ctx.seed + 2).permutation(len(y_test_all))[:cfg["test_images"]])
    x_test, y_test = scale_images(data["x_test"][test_idx]), y_test_all[test_idx]
    x_rot_test, y_rot_test = rotate(x_test[:cfg["rotation_test_images"]])
    y_lab_oh, y_test_oh = one_hot(y_lab, 10), one_hot(y_test, 10)
    result = TaskResult(task=ctx.task_id)
    hist: dict[str, dict[str, list[float]]] = {}
    speed: dict[str, float] = {}

    def timed_fit(model, x, y, label, epochs, batch, **kw):
        t0 = time.perf_counter()
        h = fit(ctx, model, x, y, label, epochs, batch_size=batch, **kw)
        n = (len(x) if not isinstance(x, dict) else len(next(iter(x.values())))) * epochs
        speed[label] = n / (time.perf_counter() - t0)
        return h

    # (a) supervised baseline on the 200 labels. The same compiled model is reused for (b)'s transfer,
    # restarted from the same initial head weights, so tracing happens once per architecture.
    with ctx.timed("baseline"):
        keras.utils.set_random_seed(ctx.seed)
        clf_trunk = trunk_fn(x_lab.shape[1:])
        clf = with_head(clf_trunk, 10, "classifier")
        clf_init = clf.get_weights()
        hist["baseline"] = timed_fit(clf, x_lab, y_lab_oh, "baseline", cfg["epochs_supervised"], cfg["batch_supervised"],
                                     validation_data=(x_test, y_test_oh))
    base_test = hist["baseline"]["val_accuracy"][-1]  # the test images are the validation data

    # (b) rotation pretext, then transfer of the trunk to a new 10-way head, fine-tuned on the 200 labels
    with ctx.timed("pretext"):
        rx_train, ry_train = rotate(x_u_train)
        rx_val, ry_val = rotate(x_u_val)
        keras.utils.set_random_seed(ctx.seed + 10)
        pre_trunk = trunk_fn(x_lab.shape[1:])
        pretext = with_head(pre_trunk, len(ROTATIONS), "pretext")
        hist["pretext"] = timed_fit(pretext, rx_train, one_hot(ry_train, 4), "pretext", cfg["epochs_pretext"],
                                    cfg["batch_pretext"], validation_data=(rx_val, one_hot(ry_val, 4)))
        del rx_train, rx_val
    with ctx.timed("transfer"):
        restart(clf, clf_init)
        clf_trunk.set_weights(pre_trunk.get_weights())
        hist["transfer"] = timed_fit(clf, x_lab, y_lab_oh, "transfer", cfg["epochs_supervised"], cfg["batch_supervised"],
                                     validation_data=(x_test, y_test_oh))
    transfer_test = hist["transfer"]["val_accuracy"][-1]
    del clf, pretext

    # (c) one trunk, two heads, three loss weightings, each from the same initial weights
    jx, jy, jw = joint_dataset(x_lab, y_lab, x_joint_unlab, cfg["label_repeat"], ctx.seed + 3)
    n_rv = len(x_rot_test)
    val_x = np.concatenate([x_test, x_rot_test])
    val_y = {"classifier": one_hot(np.concatenate([y_test, np.zeros(n_rv, np.int64)]), 10),
             "rotator": one_hot(np.concatenate([np.zeros(len(x_test), np.int64), y_rot_test]), 4)}
    val_w = {"classifier": np.concatenate([np.ones(len(x_test)), np.zeros(n_rv)]).astype(np.float32),
             "rotator": np.concatenate([np.zeros(len(x_test)), np.ones(n_rv)]).astype(np.float32)}
    keras.utils.set_random_seed(ctx.seed + 30)
    joint = build_joint(trunk_fn(x_lab.shape[1:]))
    joint_init = joint.get_weights()
    joint_rows, joint_metrics = [], {}
    for i, (name, lw) in enumerate(WEIGHTINGS.items()):
        with ctx.timed(f"joint {name}"):
            if i:
                restart(joint, joint_init)
            keras.utils.set_random_seed(ctx.seed + 31 + i)
            hist[f"joint {name}"] = h = timed_fit(joint, jx, jy, f"joint {name}", cfg["epochs_joint"], cfg["batch_joint"],
                                                  sample_weight=weighted_targets(jw, lw), validation_data=(val_x, val_y, val_w))
        # validation samples of the other head have weight 0, so these are the test accuracies of each head
        cls_acc, rot_acc = h["val_classifier_accuracy"][-1], h["val_rotator_accuracy"][-1]
        joint_metrics[name] = (cls_acc, rot_acc)
        result.metrics.update({
            f"joint.{name}.classifier_test_accuracy": cls_acc,
            f"joint.{name}.rotator_test_accuracy": rot_acc,
            f"joint.{name}.classifier_train_accuracy": h["classifier_accuracy"][-1],
            f"joint.{name}.rotator_train_accuracy": h["rotator_accuracy"][-1],
        })
        joint_rows.append([f"(c) joint, {name.replace('_', '-')}", f"{lw[0]} / {lw[1]}", round(h["classifier_accuracy"][-1], 4),
                           round(cls_acc, 4), round(h["rotator_accuracy"][-1], 4), round(rot_acc, 4)])
    del joint, jx, jy, jw

    best_name = max(joint_metrics, key=lambda k: joint_metrics[k][0])
    result.metrics.update({
        "rotation.labels_verified": verify_rotation_labels(rotate),
        "data.labelled": int(len(lab_idx)),
        "data.labelled_per_class_min": int(np.bincount(y_lab, minlength=10).min()),
        "data.labelled_per_class_max": int(np.bincount(y_lab, minlength=10).max()),
        "data.unlabelled_pretext": int(n_unlab),
        "data.unlabelled_joint": int(n_joint),
        "data.test_images": int(len(x_test)),
        "data.rotation_test_images": int(n_rv),
        "baseline.train_accuracy": hist["baseline"]["accuracy"][-1],
        "baseline.test_accuracy": base_test,
        "baseline.best_test_accuracy": max(hist["baseline"]["val_accuracy"]),
        "pretext.train_accuracy": hist["pretext"]["accuracy"][-1],
        "pretext.val_accuracy": hist["pretext"]["val_accuracy"][-1],
        "transfer.train_accuracy": hist["transfer"]["accuracy"][-1],
        "transfer.test_accuracy": transfer_test,
        "transfer.best_test_accuracy": max(hist["transfer"]["val_accuracy"]),
        "transfer.gain_over_baseline": transfer_test - base_test,
        "joint.variants": len(joint_metrics),
        "joint.best_weighting": best_name,
        "joint.best_classifier_test_accuracy": joint_metrics[best_name][0],
        "joint.best_gain_over_baseline": joint_metrics[best_name][0] - base_test,
        "joint.min_rotator_test_accuracy": min(v[1] for v in joint_metrics.values()),
        "joint.max_rotator_test_accuracy": max(v[1] for v in joint_metrics.values()),
        "speed.train_images_per_second": round(float(np.median(list(speed.values()))), 1),
    })
    result.add_table("summary", ["model", "loss weights (cls / rot)", "classifier train acc", "classifier test acc",
                                 "rotator train acc", "rotator held-out acc"], [
        ["(a) supervised, 200 labels", "—", round(hist["baseline"]["accuracy"][-1], 4), round(base_test, 4), None, None],
        ["(b) rotation pretext", "—", None, None, round(hist["pretext"]["accuracy"][-1], 4), round(hist["pretext"]["val_accuracy"][-1], 4)],
        ["(b) transfer, 200 labels", "—", round(hist["transfer"]["accuracy"][-1], 4), round(transfer_test, 4), None, None],
        *joint_rows,
    ])
    result.add_table("reference", ["quantity", "measured", "reference", "chance"], [
        ["(a) baseline test accuracy", round(base_test, 4), REFERENCE["baseline_val_accuracy"], CHANCE["classifier"]],
        ["(a) baseline train accuracy", round(hist["baseline"]["accuracy"][-1], 4), REFERENCE["baseline_train_accuracy"], CHANCE["classifier"]],
        ["(b) rotation validation accuracy", round(hist["pretext"]["val_accuracy"][-1], 4), REFERENCE["pretext_val_accuracy"], CHANCE["rotator"]],
        ["(b) rotation train accuracy", round(hist["pretext"]["accuracy"][-1], 4), REFERENCE["pretext_train_accuracy"], CHANCE["rotator"]],
        ["(b) transfer test accuracy", round(transfer_test, 4), REFERENCE["transfer_val_accuracy"], CHANCE["classifier"]],
        ["(c) best classifier test accuracy", round(joint_metrics[best_name][0], 4), REFERENCE["joint_classifier_accuracy"], CHANCE["classifier"]],
        ["(c) worst rotator test accuracy", round(min(v[1] for v in joint_metrics.values()), 4), REFERENCE["joint_rotator_accuracy"], CHANCE["rotator"]],
    ])
    result.figures["supervised_curves"] = "supervised_curves.png"
    plots.learning_curves({"(a) baseline": hist["baseline"], "(b) transfer": hist["transfer"]},
                          ctx.figure_path("supervised_curves.png"), title="200 labelled images (validation: test images)")
    result.figures["pretext_curves"] = "pretext_curves.png"
    plots.learning_curves({"rotation pretext": hist["pretext"]}, ctx.figure_path("pretext_curves.png"),
                          title="Rotation pretext (4 classes)")
    result.figures["joint_curves"] = "joint_curves.png"
    plots.learning_curves({k.replace("joint ", ""): v for k, v in hist.items() if k.startswith("joint ")},
                          ctx.figure_path("joint_curves.png"), metrics=("classifier_accuracy", "rotator_accuracy"),
                          title="Joint training: classifier and rotator heads (validation: test images)")
    result.facts.update({
        "reference": REFERENCE, "chance": CHANCE, "weightings": {k: list(v) for k, v in WEIGHTINGS.items()},
        "filters": list(FILTERS), "dropout": DROPOUT, "bn_momentum": BN_MOMENTUM, "features": FEATURES,
        "pretext_train_images": int(len(x_u_train)), "pretext_val_images": int(len(x_u_val)),
        "joint_samples_labelled": int(cfg["label_repeat"] * len(x_lab)), "joint_samples_rotated": int(4 * n_joint),
        "images_per_second": {k: round(v, 1) for k, v in speed.items()},
        "history": hist,
    })
    return result


TASK = Task(
    id="hw6.q3",
    title={"en": "Self-supervised rotation pre-training with 200 labels (CIFAR-10)",
           "fa": "پیش‌آموزش خودنظارتی با چرخش تصویر و ۲۰۰ برچسب (CIFAR-10)"},
    datasets=("cifar10",),
    configs={
        "smoke": {"per_class": 20, "unlabelled": 100, "pretext_val_fraction": 0.2, "joint_unlabelled": 50, "label_repeat": 1,
                  "test_images": 200, "rotation_test_images": 50, "epochs_supervised": 2, "batch_supervised": 32,
                  "epochs_pretext": 1, "batch_pretext": 128, "epochs_joint": 1, "batch_joint": 64},
        "quick": {"per_class": 20, "unlabelled": 500, "pretext_val_fraction": 0.2, "joint_unlabelled": 75, "label_repeat": 1,
                  "test_images": 400, "rotation_test_images": 100, "epochs_supervised": 30, "batch_supervised": 32,
                  "epochs_pretext": 3, "batch_pretext": 32, "epochs_joint": 5, "batch_joint": 32},
        "full": {"per_class": 20, "unlabelled": None, "pretext_val_fraction": 0.2, "joint_unlabelled": None, "label_repeat": 50,
                 "test_images": None, "rotation_test_images": 2500, "epochs_supervised": 30, "batch_supervised": 32,
                 "epochs_pretext": 10, "batch_pretext": 128, "epochs_joint": 10, "batch_joint": 128},
    },
    run=run,
    module=__name__,
    student_functions=("rotate_batch", "build_trunk"),
)
