"""hw14.q3: ResNet-14 (v1) on imbalanced DermaMNIST, with a measured remedy for the imbalance.

Data: DermaMNIST (MedMNIST v2; 28x28x3, 7 classes, official split 7007 / 1003 / 2005). When it
cannot be had (it is never on the offline course machine) the task says so and runs on a
deterministic, clearly labelled stand-in: seven CIFAR-10 classes resampled to DermaMNIST's class
proportions per split and resized to 28x28. Results, report and grader all carry which data was used
(metric ``data.source``: ``dermamnist`` or ``standin``).

Model: ResNet v1 of depth 14 (3 stages x 2 residual blocks, 16/32/64 filters) as in the Keras CIFAR
ResNet example, with global average pooling because a 28x28 input ends at 7x7 (the example's 8x8
average pool assumes 32x32). Adam, sparse categorical cross-entropy.

Evaluated per split: classification report, accuracy, balanced accuracy, macro/weighted F1,
one-vs-rest AUC, normalised confusion matrix, per-class precision-recall curves with average
precision, and the majority-class baseline. The baseline training is compared with two remedies
(class-weighted loss; class-balanced resampling drawn afresh each epoch) with the same epochs,
batches per epoch and seeds.
"""

from __future__ import annotations

import numpy as np

from dlgrade.data.registry import CIFAR10_CLASSES, DERMA_CLASSES
from dlgrade.errors import DatasetError
from dlgrade.reports import plots
from dlgrade.results import TaskResult
from dlgrade.tasks._keras import history_dict, scale_images
from dlgrade.tasks.base import Context, Task

CLASSES = DERMA_CLASSES  # akiec, bcc, bkl, df, mel, nv, vasc
CLASS_NAMES = {
    "en": ("actinic keratoses / intraepithelial carcinoma", "basal cell carcinoma", "benign keratosis-like lesions",
           "dermatofibroma", "melanoma", "melanocytic nevi", "vascular lesions"),
    "fa": ("کراتوز اکتینیک و کارسینوم درون‌اپیدرمی", "کارسینوم سلول پایه (بازال)", "ضایعات خوش‌خیم شبه‌کراتوز",
           "درماتوفیبروم", "ملانوم", "خال ملانوسیتی", "ضایعات عروقی"),
}
MALIGNANT = ("akiec", "bcc", "mel")
TRAIN_COUNTS = (228, 359, 769, 80, 779, 4693, 99)  # DermaMNIST's official train split
SPLIT_SIZES = {"train": 7007, "val": 1003, "test": 2005}
SPLITS = ("train", "val", "test")
# Stand-in: the CIFAR-10 class playing each DermaMNIST class (cat/dog plays mel/nv, the hard pair).
STANDIN_SOURCE = ("bird", "deer", "frog", "horse", "cat", "dog", "truck")
STANDIN_SEED = 20150101  # the stand-in is the same for every run seed, like a real dataset
CIFAR_PER_CLASS = 6000   # train + test images per CIFAR-10 class
BN_MOMENTUM = 0.9
VARIANTS = ("baseline", "class_weights", "oversampling")
VARIANT_TITLES = {"baseline": "baseline (plain loss)", "class_weights": "class-weighted loss",
                  "oversampling": "balanced resampling"}
REFERENCE = {"train_accuracy": 0.81, "val_accuracy": 0.58, "test_accuracy": 0.60, "test_macro_f1": 0.37,
             "test_weighted_f1": 0.63, "never_predicted": "df",
             "medmnist_resnet18_28_test_accuracy": 0.735, "medmnist_resnet18_28_test_auc": 0.917}


# -- data ----------------------------------------------------------------------------------------
def allocate(total: int, proportions, minimum: int = 1) -> np.ndarray:
    """Split ``total`` into integer counts proportional to ``proportions`` (largest remainder),
    each at least ``minimum``.

    >>> allocate(10, [1, 1, 2]).tolist()
    [3, 2, 5]
    """
    p = np.asarray(proportions, dtype=np.float64)
    if p.ndim != 1 or len(p) == 0 or (p < 0).any() or p.sum() <= 0:
        raise ValueError(f"proportions must be non-negative with a positive sum, got {proportions!r}")
    if total < minimum * len(p):
        raise ValueError(f"cannot give {len(p)} classes at least {minimum} each out of {total}")
    share = p / p.sum() * total
    counts = np.floor(share).astype(int)
    order = np.argsort(-(share - counts), kind="stable")
    counts[order[: total - counts.sum()]] += 1
    while (counts < minimum).any():  # lift tiny classes, taking from the largest
        k = int(np.argmin(counts))
        counts[k] += 1
        counts[int(np.argmax(counts))] -= 1
    return counts


def split_counts(fraction: float) -> dict[str, np.ndarray]:
    """DermaMNIST's per-class counts of each split, scaled by ``fraction`` (val/test in the train proportions)."""
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    return {s: allocate(max(len(CLASSES), round(n * fraction)), TRAIN_COUNTS) for s, n in SPLIT_SIZES.items()}


def fit_standin_counts(counts: dict[str, np.ndarray], per_class: int = CIFAR_PER_CLASS) -> tuple[dict[str, np.ndarray], float]:
    """Shrink val/test (never train) until every class fits in ``per_class`` source images.

    Returns the counts and the factor applied to val/test (1.0 when all fits).
    """
    train = counts["train"]
    if (train > per_class).any():
        raise ValueError(f"train counts {train.tolist()} exceed {per_class} images per source class")
    rest = counts["val"] + counts["test"]
    room = per_class - train
    factor = float(min(1.0, np.min(room / np.maximum(rest, 1))))
    if factor >= 1.0:
        return counts, 1.0
    out = {"train": train}
    for s in ("val", "test"):
        out[s] = allocate(max(len(CLASSES), int(counts[s].sum() * factor)), TRAIN_COUNTS)
    while ((out["train"] + out["val"] + out["test"]) > per_class).any():  # rounding can overshoot by one
        for s in ("val", "test"):
            out[s] = allocate(out[s].sum() - 1, TRAIN_COUNTS)
    return out, factor


def resize_images(x: np.ndarray, size: int = 28) -> np.ndarray:
    """uint8 images (N, H, W, 3) to (N, size, size, 3) uint8 with antialiased bilinear resizing."""
    import tensorflow as tf

    if len(x) == 0:
        return np.zeros((0, size, size, 3), np.uint8)
    out = tf.image.resize(tf.convert_to_tensor(x, tf.float32), (size, size), method="bilinear", antialias=True)
    return np.clip(np.round(out.numpy()), 0, 255).astype(np.uint8)


def build_standin(cifar: dict, counts: dict[str, np.ndarray], seed: int = STANDIN_SEED) -> dict[str, np.ndarray]:
    """The CIFAR-10 stand-in: for class k, ``counts[split][k]`` distinct images of CIFAR-10 class
    ``STANDIN_SOURCE[k]`` (train and test pooled), disjoint across splits, resized to 28x28."""
    x_pool = np.concatenate([cifar["x_train"], cifar["x_test"]])
    y_pool = np.concatenate([np.asarray(cifar["y_train"]).reshape(-1), np.asarray(cifar["y_test"]).reshape(-1)])
    rng = np.random.default_rng(seed)
    chosen: dict[str, list[np.ndarray]] = {s: [] for s in SPLITS}
    for k, name in enumerate(STANDIN_SOURCE):
        src = CIFAR10_CLASSES.index(name)
        idx = rng.permutation(np.flatnonzero(y_pool == src))
        need = sum(int(counts[s][k]) for s in SPLITS)
        if need > len(idx):
            raise ValueError(f"stand-in class {CLASSES[k]} needs {need} images, CIFAR-10 {name} has {len(idx)}")
        start = 0
        for s in SPLITS:
            chosen[s].append(idx[start:start + int(counts[s][k])])
            start += int(counts[s][k])
    out = {}
    for s in SPLITS:
        labels = np.concatenate([np.full(len(ix), k, np.uint8) for k, ix in enumerate(chosen[s])])
        idx = np.concatenate(chosen[s])
        order = rng.permutation(len(idx))
        out[f"x_{s}"] = resize_images(x_pool[idx[order]])
        out[f"y_{s}"] = labels[order]
    return out


def stratified_subset(x: np.ndarray, y: np.ndarray, counts, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``counts[k]`` seeded random samples of each class k (all of a class when it has fewer)."""
    rng = np.random.default_rng(seed)
    idx = np.concatenate([rng.permutation(np.flatnonzero(y == k))[: int(c)] for k, c in enumerate(counts)])
    idx = rng.permutation(idx)
    return x[idx], y[idx]


def load_data(ctx: Context) -> tuple[dict[str, np.ndarray], dict]:
    """DermaMNIST if it can be had, else the CIFAR-10 stand-in; returns arrays and a description."""
    fraction = ctx.config["fraction"]
    try:
        real = ctx.data.load("dermamnist")
    except DatasetError as e:
        reason = str(e).splitlines()[0]
        ctx.progress.log("DermaMNIST is not available here: " + reason + " -> running on the CIFAR-10 STAND-IN "
                         "(7 CIFAR-10 classes at DermaMNIST's class proportions, 28x28). Its numbers say nothing "
                         "about skin lesions; `dlgrade data import dermamnist FILE` gives the real data.")
        counts, factor = fit_standin_counts(split_counts(fraction))
        arrays = build_standin(ctx.data.load("cifar10").arrays, counts)
        info = {"source": "standin", "standin": True, "title": "CIFAR-10 stand-in for DermaMNIST",
                "missing_reason": str(e), "fraction": fraction, "eval_shrink": factor,
                "standin_classes": dict(zip(CLASSES, STANDIN_SOURCE)), "standin_seed": STANDIN_SEED}
        return arrays, info
    arrays = {}
    for s in SPLITS:
        y = real[f"y_{s}"].reshape(-1)
        if fraction < 1:
            have = np.bincount(y, minlength=len(CLASSES))
            want = allocate(max(len(CLASSES), round(len(y) * fraction)), have)
            arrays[f"x_{s}"], arrays[f"y_{s}"] = stratified_subset(real[f"x_{s}"], y, np.minimum(want, have), STANDIN_SEED)
        else:
            arrays[f"x_{s}"], arrays[f"y_{s}"] = real[f"x_{s}"], y
    ctx.progress.log(f"DermaMNIST loaded from {real.provenance.get('where')}")
    return arrays, {"source": "dermamnist", "standin": False, "title": "DermaMNIST (MedMNIST v2)", "fraction": fraction}


# -- student functions ---------------------------------------------------------------------------
def build_resnet14(input_shape=(28, 28, 3), num_classes: int = 7):
    """ResNet v1, depth 14: a 3x3 conv, then 3 stages x 2 residual blocks (16, 32, 64 filters; stride 2
    at the start of stages 2 and 3 with a 1x1 projection shortcut), global average pooling, softmax.

    Each conv is Conv2D(he_normal, L2 1e-4) -> BatchNorm -> ReLU as in the Keras CIFAR ResNet example
    (BatchNorm momentum 0.9 instead of 0.99 so that the moving statistics settle within the few
    hundred steps of the small profiles; the same in every profile).
    Returns an uncompiled ``keras.Model``.
    """
    import keras
    from keras import layers

    def conv(x, filters, kernel=3, strides=1, activation=True, bn=True):
        x = layers.Conv2D(filters, kernel, strides=strides, padding="same", kernel_initializer="he_normal",
                          kernel_regularizer=keras.regularizers.l2(1e-4))(x)
        if bn:
            x = layers.BatchNormalization(momentum=BN_MOMENTUM)(x)
        return layers.Activation("relu")(x) if activation else x

    inputs = keras.Input(input_shape)
    x = conv(inputs, 16)
    filters = 16
    for stage in range(3):
        for block in range(2):
            strides = 2 if stage > 0 and block == 0 else 1
            y = conv(x, filters, strides=strides)
            y = conv(y, filters, activation=False)
            if strides != 1:
                x = conv(x, filters, kernel=1, strides=strides, activation=False, bn=False)
            x = layers.Activation("relu")(layers.add([x, y]))
        filters *= 2
    x = layers.GlobalAveragePooling2D()(x)
    outputs = layers.Dense(num_classes, activation="softmax", kernel_initializer="he_normal")(x)
    return keras.Model(inputs, outputs, name="resnet14_v1")


def class_weights(labels, num_classes: int) -> np.ndarray:
    """Balanced class weights ``n / (num_classes * count_k)`` (scikit-learn's "balanced"); 0 for absent classes.

    Raises:
        ValueError: empty labels, or labels outside ``0..num_classes-1``.
    """
    y = np.asarray(labels).reshape(-1)
    if y.size == 0:
        raise ValueError("class_weights needs at least one label")
    if not np.issubdtype(y.dtype, np.integer) or y.min() < 0 or y.max() >= num_classes:
        raise ValueError(f"labels must be integers in 0..{num_classes - 1}, got values {np.unique(y)[:10].tolist()}")
    counts = np.bincount(y, minlength=num_classes).astype(np.float64)
    return np.where(counts > 0, y.size / (num_classes * np.maximum(counts, 1)), 0.0)


def balanced_indices(labels, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` indices drawn so that every present class is equally likely (with replacement inside a class)."""
    y = np.asarray(labels).reshape(-1)
    present = np.unique(y)
    cls = rng.choice(present, size=n)
    out = np.empty(n, dtype=np.int64)
    for k in present:
        pool = np.flatnonzero(y == k)
        where = np.flatnonzero(cls == k)
        out[where] = rng.choice(pool, size=len(where))
    return out


# -- evaluation ----------------------------------------------------------------------------------
def evaluate(y_true, proba, num_classes: int = 7, majority_class: int | None = None) -> dict:
    """Every number the question asks for, for one split.

    Returns a dict with ``accuracy``, ``balanced_accuracy`` (= macro recall), ``macro_f1``, ``weighted_f1``,
    ``auc`` (one-vs-rest, macro over classes present), per-class ``precision``/``recall``/``f1``/``support``/
    ``ap``/``auc``, the ``confusion`` counts, ``pr_curves`` and ``never_predicted`` classes.
    """
    from sklearn import metrics as skm

    y = np.asarray(y_true).reshape(-1)
    p = np.asarray(proba, dtype=np.float64)
    if p.shape != (len(y), num_classes):
        raise ValueError(f"probabilities have shape {p.shape}, expected ({len(y)}, {num_classes})")
    pred = p.argmax(axis=1)
    labels = list(range(num_classes))
    prec, rec, f1, support = skm.precision_recall_fscore_support(y, pred, labels=labels, zero_division=0)
    present = support > 0
    ap, auc, curves = np.full(num_classes, np.nan), np.full(num_classes, np.nan), []
    for k in labels:
        pos = (y == k).astype(int)
        if 0 < pos.sum() < len(y):
            ap[k] = skm.average_precision_score(pos, p[:, k])
            auc[k] = skm.roc_auc_score(pos, p[:, k])
            pr, rc, _ = skm.precision_recall_curve(pos, p[:, k])
            curves.append((rc, pr))
        else:
            curves.append((np.array([0.0, 1.0]), np.array([np.nan, np.nan])))
    out = {
        "accuracy": float(np.mean(pred == y)),
        "balanced_accuracy": float(np.mean(rec[present])),
        "macro_recall": float(np.mean(rec[present])),
        "macro_precision": float(np.mean(prec[present])),
        "macro_f1": float(np.mean(f1[present])),
        "weighted_f1": float(np.sum(f1 * support) / max(support.sum(), 1)),
        "auc": float(np.nanmean(auc)) if np.isfinite(auc).any() else float("nan"),
        "mean_ap": float(np.nanmean(ap)) if np.isfinite(ap).any() else float("nan"),
        "precision": prec, "recall": rec, "f1": f1, "support": support, "ap": ap, "class_auc": auc,
        "confusion": skm.confusion_matrix(y, pred, labels=labels),
        "pr_curves": curves,
        "never_predicted": [CLASSES[k] if num_classes == len(CLASSES) else str(k) for k in labels if not (pred == k).any()],
        "n": int(len(y)),
    }
    if majority_class is not None:
        out["majority_accuracy"] = float(np.mean(y == majority_class))
    return out


# -- training ------------------------------------------------------------------------------------
def _reset(model, weights, optimizer_state) -> None:
    """Back to the given initial weights and optimizer state (same compiled model: no retracing)."""
    model.set_weights(weights)
    for v, value in zip(model.optimizer.variables, optimizer_state):
        v.assign(value)


def _train(ctx: Context, model, variant: str, data: dict, weights_per_class: np.ndarray, seed: int) -> dict:
    import keras

    cfg = ctx.config
    x, y = data["x_train"], data["y_train"]
    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng([seed, VARIANTS.index(variant)])
    logger = ctx.progress.keras_callback(f"{variant} seed {seed}", cfg["epochs"])
    history: dict[str, list[float]] = {}
    for epoch in range(cfg["epochs"]):
        if variant == "oversampling":
            idx = balanced_indices(y, len(y), rng)
            xe, ye = x[idx], y[idx]
        else:
            xe, ye = x, y
        sw = weights_per_class[ye] if variant == "class_weights" else np.ones(len(ye), np.float32)
        h = model.fit(xe, ye, sample_weight=sw.astype(np.float32), batch_size=cfg["batch_size"], epochs=epoch + 1,
                      initial_epoch=epoch, validation_data=(data["x_val"], data["y_val"]), verbose=0, callbacks=[logger])
        for k, v in history_dict(h).items():
            history.setdefault(k, []).extend(v)
    return history


def _pr_figure(ev_by_split: dict, path, title: str) -> None:
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(ev_by_split), figsize=(4.6 * len(ev_by_split), 4.2), squeeze=False)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, (split, ev) in zip(axes[0], ev_by_split.items()):
        for k, name in enumerate(CLASSES):
            rc, pr = ev["pr_curves"][k]
            ap = ev["ap"][k]
            label = f"{name} ({CLASS_NAMES['en'][k].split(' /')[0]}) AP {ap:.2f}" if np.isfinite(ap) else f"{name}: absent"
            ax.plot(rc, pr, color=colours[k % len(colours)], lw=1.3, label=label,
                    ls="--" if name in MALIGNANT else "-")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("recall")
        ax.set_ylabel("precision")
        ax.set_title(f"{split} (n={ev['n']})")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6, loc="upper right")
    fig.suptitle(title)
    plots.save(fig, path)


def _remedy_figure(rows: list[dict], path, title: str) -> None:
    import matplotlib.pyplot as plt

    keys = [("accuracy", "accuracy"), ("balanced_accuracy", "balanced acc. (= macro recall)"), ("macro_f1", "macro F1"),
            ("mel_recall", "mel recall"), ("malignant_recall", "akiec/bcc/mel recall")]
    fig, ax = plt.subplots(figsize=(8.5, 3.6))
    width = 0.8 / len(rows)
    for i, r in enumerate(rows):
        vals = [r[k] for k, _ in keys]
        errs = [r.get(k + "_std", 0.0) for k, _ in keys]
        pos = np.arange(len(keys)) + (i - (len(rows) - 1) / 2) * width
        ax.bar(pos, vals, width, yerr=errs, capsize=2, label=VARIANT_TITLES[r["variant"]])
        for p_, v in zip(pos, vals):
            ax.text(p_, v + 0.01, f"{v:.2f}", ha="center", va="bottom", fontsize=6)
    ax.set_xticks(range(len(keys)), [label for _, label in keys], fontsize=8)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("test score")
    ax.legend(fontsize=7)
    ax.grid(axis="y", alpha=0.3)
    ax.set_title(title)
    plots.save(fig, path)


def _r(v, digits=4):
    return None if v is None or not np.isfinite(v) else round(float(v), digits)


def run(ctx: Context) -> TaskResult:
    import keras

    cfg = ctx.config
    result = TaskResult(task=ctx.task_id)
    with ctx.timed("data"):
        raw, data_info = load_data(ctx)
    standin = data_info["standin"]
    tag = "CIFAR-10 STAND-IN, not DermaMNIST" if standin else "DermaMNIST"
    data = {k: (scale_images(v) if k.startswith("x_") else v.astype(np.int64)) for k, v in raw.items()}
    y_train = data["y_train"]
    counts = {s: np.bincount(data[f"y_{s}"], minlength=len(CLASSES)) for s in SPLITS}
    majority = int(np.argmax(counts["train"]))
    cw = ctx.impl("class_weights", class_weights)(y_train, len(CLASSES))

    build = ctx.impl("build_resnet14", build_resnet14)
    model = build((28, 28, 3), len(CLASSES))
    model.compile(optimizer=keras.optimizers.Adam(cfg["learning_rate"]), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"], jit_compile=False)
    model.optimizer.build(model.trainable_variables)
    optimizer_state = [np.array(v.numpy()) for v in model.optimizer.variables]  # step 0, zero moments, the lr
    seeds = [ctx.seed + i for i in range(cfg["seeds"])]
    evals: dict[tuple[str, int], dict[str, dict]] = {}
    histories: dict[str, dict] = {}
    with ctx.timed("train"):
        for seed in seeds:
            keras.utils.set_random_seed(seed)
            init = build((28, 28, 3), len(CLASSES)).get_weights()
            for variant in VARIANTS:
                _reset(model, init, optimizer_state)
                hist = _train(ctx, model, variant, data, cw, seed)
                if seed == seeds[0]:
                    histories[variant] = hist
                evals[variant, seed] = {s: evaluate(data[f"y_{s}"], model.predict(data[f"x_{s}"], batch_size=512, verbose=0),
                                                    majority_class=majority) for s in SPLITS}

    mel, malignant = CLASSES.index("mel"), [CLASSES.index(c) for c in MALIGNANT]
    m = result.metrics
    m.update({"data.source": data_info["source"], "data.is_standin": standin, "data.fraction": cfg["fraction"],
              "remedy.seeds": len(seeds), "remedy.epochs": cfg["epochs"]})
    for s in SPLITS:
        m[f"data.{s}_samples"] = int(counts[s].sum())
    # The reference setup (baseline, first seed): every split in full.
    base = evals["baseline", seeds[0]]
    for s in SPLITS:
        ev = base[s]
        for key in ("accuracy", "balanced_accuracy", "macro_f1", "weighted_f1", "auc", "mean_ap", "majority_accuracy"):
            m[f"baseline.{s}.{key}"] = _r(ev[key])
        m[f"baseline.{s}.never_predicted"] = len(ev["never_predicted"])
        for k, name in enumerate(CLASSES):
            m[f"baseline.{s}.recall.{name}"] = _r(ev["recall"][k])
        result.add_table(f"report_{s}", ["class", "name", "precision", "recall", "F1", "support", "AP", "AUC"], [
            [name, CLASS_NAMES["en"][k], _r(ev["precision"][k]), _r(ev["recall"][k]), _r(ev["f1"][k]),
             int(ev["support"][k]), _r(ev["ap"][k]), _r(ev["class_auc"][k])] for k, name in enumerate(CLASSES)])
    result.add_table("splits", ["split", "samples", "accuracy", "majority-class accuracy", "balanced accuracy",
                                "macro F1", "weighted F1", "AUC (OvR)", "never predicted"], [
        [s, base[s]["n"], _r(base[s]["accuracy"]), _r(base[s]["majority_accuracy"]), _r(base[s]["balanced_accuracy"]),
         _r(base[s]["macro_f1"]), _r(base[s]["weighted_f1"]), _r(base[s]["auc"]),
         ", ".join(base[s]["never_predicted"]) or "-"] for s in SPLITS])
    result.add_table("class_counts", ["class", "name", "train", "val", "test"] + (["CIFAR-10 stand-in"] if standin else []), [
        [name, CLASS_NAMES["en"][k]] + [int(counts[s][k]) for s in SPLITS] + ([STANDIN_SOURCE[k]] if standin else [])
        for k, name in enumerate(CLASSES)])

    # Remedies: mean (and spread) over seeds on the test split.
    remedy_rows, summary = [], {}
    for variant in VARIANTS:
        per_seed = []
        for seed in seeds:
            ev = evals[variant, seed]["test"]
            per_seed.append({"accuracy": ev["accuracy"], "balanced_accuracy": ev["balanced_accuracy"],
                             "macro_recall": ev["macro_recall"], "macro_f1": ev["macro_f1"], "auc": ev["auc"],
                             "mel_recall": float(ev["recall"][mel]),
                             "malignant_recall": float(np.mean(ev["recall"][malignant])),
                             "nv_recall": float(ev["recall"][CLASSES.index("nv")]),
                             "never_predicted": len(ev["never_predicted"])})
        row = {"variant": variant}
        for key in per_seed[0]:
            vals = np.array([p[key] for p in per_seed], dtype=np.float64)
            row[key] = float(np.nanmean(vals))
            row[key + "_std"] = float(np.nanstd(vals)) if len(vals) > 1 else 0.0
            m[f"remedy.{variant}.{key}"] = _r(row[key])
        val_ev = [evals[variant, s]["val"] for s in seeds]
        row["val_balanced_accuracy"] = float(np.mean([e["balanced_accuracy"] for e in val_ev]))
        m[f"remedy.{variant}.val_balanced_accuracy"] = _r(row["val_balanced_accuracy"])
        summary[variant] = row
        remedy_rows.append(row)
    best = max(VARIANTS[1:], key=lambda v: summary[v]["val_balanced_accuracy"])  # chosen on validation, not test
    b = summary["baseline"]
    m.update({
        "remedy.best": best,
        "remedy.best_balanced_accuracy": _r(summary[best]["balanced_accuracy"]),
        "remedy.best_mel_recall": _r(summary[best]["mel_recall"]),
        "remedy.best_balanced_accuracy_gain": _r(summary[best]["balanced_accuracy"] - b["balanced_accuracy"]),
        "remedy.best_mel_recall_gain": _r(summary[best]["mel_recall"] - b["mel_recall"]),
        "remedy.best_malignant_recall_gain": _r(summary[best]["malignant_recall"] - b["malignant_recall"]),
        "remedy.best_accuracy_change": _r(summary[best]["accuracy"] - b["accuracy"]),
        "remedy.best_nv_recall_change": _r(summary[best]["nv_recall"] - b["nv_recall"]),
        "remedy.max_balanced_accuracy_gain": _r(max(summary[v]["balanced_accuracy"] for v in VARIANTS[1:]) - b["balanced_accuracy"]),
    })
    keys = ("balanced_accuracy", "macro_recall", "macro_f1", "mel_recall", "malignant_recall", "nv_recall", "accuracy", "auc")
    heads = ["training", "balanced accuracy", "macro recall", "macro F1", "mel recall", "akiec/bcc/mel recall",
             "nv recall", "accuracy", "AUC (OvR)"]
    result.add_table("remedies", heads, [[VARIANT_TITLES[r["variant"]]] + [_r(r[k]) for k in keys] for r in remedy_rows])
    result.add_table("remedies_sd", heads, [[VARIANT_TITLES[r["variant"]]] + [_r(r[k + "_std"]) for k in keys] for r in remedy_rows])
    result.add_table("remedy_recall", ["class", "name"] + [VARIANT_TITLES[v] for v in VARIANTS], [
        [name, CLASS_NAMES["en"][k]] + [_r(np.mean([evals[v, s]["test"]["recall"][k] for s in seeds])) for v in VARIANTS]
        for k, name in enumerate(CLASSES)])
    for variant in VARIANTS:
        cm = evals[variant, seeds[0]]["test"]["confusion"]
        result.add_table(f"confusion_{variant}_test", ["true \\ predicted"] + list(CLASSES),
                         [[name] + [int(c) for c in cm[k]] for k, name in enumerate(CLASSES)])

    with ctx.timed("figures"):
        figs = {
            "confusion_baseline": ("confusion_baseline.png", evals["baseline", seeds[0]]["test"]["confusion"], "baseline"),
            "confusion_best": ("confusion_best.png", evals[best, seeds[0]]["test"]["confusion"], VARIANT_TITLES[best]),
        }
        for key, (fname, cm, label) in figs.items():
            plots.confusion_matrix(cm, list(CLASSES), ctx.figure_path(fname), normalise=True,
                                   title=f"{label}, test, row-normalised\n[{tag}]")
            result.figures[key] = fname
        _pr_figure(base, ctx.figure_path("pr_curves.png"), f"Per-class precision-recall, baseline, seed {seeds[0]} [{tag}]")
        result.figures["pr_curves"] = "pr_curves.png"
        _remedy_figure(remedy_rows, ctx.figure_path("remedies.png"),
                       f"Test scores over {len(seeds)} seed(s), {cfg['epochs']} epochs [{tag}]")
        result.figures["remedies"] = "remedies.png"
        plots.learning_curves({VARIANT_TITLES[v]: histories[v] for v in VARIANTS}, ctx.figure_path("learning_curves.png"),
                              title=f"ResNet-14 learning curves, seed {seeds[0]} [{tag}]")
        result.figures["learning_curves"] = "learning_curves.png"

    result.facts.update({
        "data": data_info, "reference": REFERENCE, "classes": list(CLASSES), "class_names": {k: list(v) for k, v in CLASS_NAMES.items()},
        "malignant": list(MALIGNANT), "majority_class": CLASSES[majority], "seeds": seeds, "best_remedy": best,
        "best_remedy_title": VARIANT_TITLES[best], "variant_titles": VARIANT_TITLES,
        "never_predicted": {s: base[s]["never_predicted"] for s in SPLITS},
        "class_weights": {name: round(float(w), 4) for name, w in zip(CLASSES, cw)},
        "model": {"name": "ResNet v1, depth 14", "parameters": int(model.count_params()), "stages": [16, 32, 64],
                  "blocks_per_stage": 2},
        "remedies": {r["variant"]: {k: _r(v) for k, v in r.items() if k != "variant"} for r in remedy_rows},
        "history": histories,
    })
    return result


TASK = Task(
    id="hw14.q3",
    title={"en": "ResNet-14 on imbalanced DermaMNIST, with a measured remedy",
           "fa": "ResNet-14 روی DermaMNIST نامتوازن و سنجش یک راه‌حل برای عدم توازن"},
    datasets=("dermamnist", "cifar10"),
    configs={
        "smoke": {"fraction": 0.04, "epochs": 1, "seeds": 1, "batch_size": 64, "learning_rate": 1e-3},
        "quick": {"fraction": 0.15, "epochs": 6, "seeds": 1, "batch_size": 64, "learning_rate": 1e-3},
        "full": {"fraction": 1.0, "epochs": 30, "seeds": 2, "batch_size": 64, "learning_rate": 1e-3},
    },
    run=run,
    module=__name__,
    student_functions=("build_resnet14", "class_weights"),
)
