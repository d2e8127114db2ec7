"""hw6.q3's run: pick the labelled and unlabelled images, train (a) the supervised baseline, (b) the rotation
pretext and its transfer, (c) the joint two-head network with three loss weightings, and score every model on
test images (and rotations) whose labels only the trusted side holds."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dlgrade.kit.compare import accuracy_band
from dlgrade.kit.question import Question, Step, TrainStep, Witness

from . import data, evaluate, figures, train
from .spec import HEADLINE
from .spec import (BN_MOMENTUM, CHANCE, CONFIGS, DROPOUT, FEATURES, FILTERS, FULL_TEST_IMAGES, NUM_CLASSES, REFERENCE,
                   ROTATIONS, SEED_OFFSETS, WEIGHTINGS, WORDS)


def prepare_data(ctx, got) -> dict:
    cfg = ctx.config
    out = data.prepare(ctx.data.load("cifar10"), cfg, ctx.seeds)
    per_class, sizes = np.bincount(out["y_lab"], minlength=NUM_CLASSES), out["sizes"]
    n_test = len(out["x_test"])
    ctx.result.metrics.update({
        "data.labelled": int(len(out["x_lab"])),
        "data.labelled_per_class_min": int(per_class.min()), "data.labelled_per_class_max": int(per_class.max()),
        "data.unlabelled_pretext": sizes["unlabelled"], "data.unlabelled_joint": sizes["joint_unlabelled"],
        "data.test.images": int(n_test), "data.test.rotated_samples": int(len(out["x_rot_test"])),
    })
    ctx.result.facts.update({
        "reference": REFERENCE, "chance": CHANCE, "weightings": {k: list(v) for k, v in WEIGHTINGS.items()},
        "filters": list(FILTERS), "dropout": DROPOUT, "bn_momentum": BN_MOMENTUM, "features": FEATURES,
        "pretext_train_images": int(len(out["x_unlabelled"])), "pretext_val_images": sizes["pretext_val"],
        "pretext_train_samples": int(len(ROTATIONS) * len(out["x_unlabelled"])),
        "joint_samples_labelled": int(cfg.label_repeat * len(out["x_lab"])),
        "joint_samples_rotated": int(len(ROTATIONS) * len(out["x_joint_unlabelled"])),
        "joint_label_views": cfg.epochs_joint * cfg.label_repeat,
        "rotation_test_images": sizes["rotation_test"], "rotation_test_samples": int(len(out["x_rot_test"])),
        "test_is_subset": n_test < FULL_TEST_IMAGES, "test_noise": accuracy_band(0.5, 0.5, n_test),
        "reduced_profile": ctx.profile != "full",
    })
    return out


def evaluate_rotation(ctx, got) -> None:
    probe = got["rotation_probe"]
    ctx.result.metrics["rotation.labels_verified"] = evaluate.rotation_labels_ok(probe["rotated"], probe["labels"],
                                                                                   got["data"]["probe"])


def evaluate_baseline(ctx, got) -> dict:
    out = got["baseline"]
    hist = evaluate.scored_history("baseline", out["history"], out["test_probabilities"], got["data"]["y_test"],
                                   NUM_CLASSES, ctx.config.epochs_supervised)
    ctx.result.metrics.update({"baseline.train.accuracy": hist["accuracy"][-1], "baseline.test.accuracy": hist["val_accuracy"][-1],
                               "baseline.test.best_accuracy": max(hist["val_accuracy"])})
    return {"history": hist, "speed": {"baseline": float(out["images_per_second"])}}


def evaluate_pretext(ctx, got) -> dict:
    out = got["pretext_transfer"]
    hist = evaluate.scored_history("pretext_transfer", out["pretext_history"], out["pretext_val_probabilities"],
                                   got["data"]["y_pretext_val"], len(ROTATIONS), ctx.config.epochs_pretext)
    ctx.result.metrics.update({"pretext.train.accuracy": hist["accuracy"][-1], "pretext.val.accuracy": hist["val_accuracy"][-1]})
    return {"history": hist, "speed": {"pretext": float(out["pretext_images_per_second"])}}


def evaluate_transfer(ctx, got) -> dict:
    out = got["pretext_transfer"]
    hist = evaluate.scored_history("pretext_transfer", out["transfer_history"], out["transfer_test_probabilities"],
                                   got["data"]["y_test"], NUM_CLASSES, ctx.config.epochs_supervised)
    test = hist["val_accuracy"][-1]
    ctx.result.metrics.update({"transfer.train.accuracy": hist["accuracy"][-1], "transfer.test.accuracy": test,
                               "transfer.test.best_accuracy": max(hist["val_accuracy"]),
                               "transfer.test.gain_over_baseline": test - ctx.result.metrics["baseline.test.accuracy"]})
    return {"history": hist, "speed": {"transfer": float(out["transfer_images_per_second"])}}


def evaluate_joint(ctx, got) -> dict:
    d, m, epochs = got["data"], ctx.result.metrics, ctx.config.epochs_joint
    histories, scores, speed = {}, {}, {}
    for name in WEIGHTINGS:
        out = got["joint"]["weightings"][name]
        cls, _ = evaluate.epoch_scores(out["classifier_probabilities"], d["y_test"], "joint", f"{name} classifier", NUM_CLASSES, epochs)
        rot, _ = evaluate.epoch_scores(out["rotator_probabilities"], d["y_rot_test"], "joint", f"{name} rotator", len(ROTATIONS), epochs)
        train = {k: evaluate.train_curve(out["history"], k, "joint", epochs) for k in ("loss", "classifier_accuracy", "rotator_accuracy")}
        histories[name] = {**train, "val_classifier_accuracy": cls, "val_rotator_accuracy": rot}
        scores[name] = (cls[-1], rot[-1])
        speed[f"joint {name}"] = float(out["images_per_second"])
        m.update({f"joint.{name}.test.classifier_accuracy": cls[-1], f"joint.{name}.test.rotator_accuracy": rot[-1],
                  f"joint.{name}.train.classifier_accuracy": train["classifier_accuracy"][-1],
                  f"joint.{name}.train.rotator_accuracy": train["rotator_accuracy"][-1]})
    best = max(scores, key=lambda k: scores[k][0])
    m.update({"joint.variants": len(scores), "joint.best_weighting": best, "joint.test.best_classifier_accuracy": scores[best][0],
              "joint.test.best_gain_over_baseline": scores[best][0] - m["baseline.test.accuracy"],
              "joint.test.min_rotator_accuracy": min(v[1] for v in scores.values()),
              "joint.test.max_rotator_accuracy": max(v[1] for v in scores.values())})
    return {"histories": histories, "speed": speed}


def summarise(ctx, got) -> None:
    m, r = ctx.result.metrics, ctx.result
    speed = {k: v for s in ("evaluate_baseline", "evaluate_pretext", "evaluate_transfer", "evaluate_joint") for k, v in got[s]["speed"].items()}
    m["speed.train.images_per_second"] = round(float(np.median(list(speed.values()))), 1)
    r.add_table("summary", list(evaluate.SUMMARY_COLUMNS), evaluate.summary_rows(m))
    r.add_table("reference", ["quantity", "measured", "reference", "chance"], evaluate.reference_rows(m))
    r.facts.update({
        **evaluate.discussion_facts(m), "images_per_second": {k: round(v, 1) for k, v in speed.items()},
        "history": {"baseline": got["evaluate_baseline"]["history"], "pretext": got["evaluate_pretext"]["history"],
                    "transfer": got["evaluate_transfer"]["history"],
                    **{f"joint {k}": h for k, h in got["evaluate_joint"]["histories"].items()}},
    })


def draw_figures(ctx, got) -> None:
    figures.draw(ctx, {"baseline": got["evaluate_baseline"]["history"], "transfer": got["evaluate_transfer"]["history"],
                       "pretext": got["evaluate_pretext"]["history"]}, got["evaluate_joint"]["histories"])


_LABELLED = ("data.x_lab", "data.y_lab")

QUESTION = Question(
    id="hw6.q3",
    title={"en": "Self-supervised rotation pre-training with 200 labels (CIFAR-10)",
           "fa": "پیش‌آموزش خودنظارتی با چرخش تصویر و ۲۰۰ برچسب (CIFAR-10)"},
    datasets=("cifar10",),
    configs=CONFIGS,
    steps=(
        Step("data", prepare_data, held_out=("y_test", "y_pretext_val", "y_rot_test")),
        TrainStep("rotation_probe", train.rotation_probe, inputs=("data.probe",), uses=("rotate_batch",)),
        Step("evaluate_rotation", evaluate_rotation, needs=("data", "rotation_probe")),
        # Each training step's reported numbers (training accuracies) count only when its held-out measure, scored
        # here, stands up to the reference run's (see kit.question.Witness).
        TrainStep("baseline", train.baseline, inputs=(*_LABELLED, "data.x_test"), uses=("build_trunk",),
                  witness=Witness("baseline.test.accuracy")),
        Step("evaluate_baseline", evaluate_baseline, needs=("data", "baseline")),
        TrainStep("pretext_transfer", train.pretext_transfer,
                  inputs=(*_LABELLED, "data.x_unlabelled", "data.x_pretext_val", "data.x_test"),
                  uses=("rotate_batch", "build_trunk"), witness=Witness("pretext.val.accuracy")),
        Step("evaluate_pretext", evaluate_pretext, needs=("data", "pretext_transfer")),
        Step("evaluate_transfer", evaluate_transfer, needs=("data", "pretext_transfer", "evaluate_baseline")),
        TrainStep("joint", train.joint, inputs=(*_LABELLED, "data.x_joint_unlabelled", "data.x_test", "data.x_rot_test"),
                  uses=("rotate_batch", "build_trunk"), witness=Witness("joint.test.best_classifier_accuracy")),
        Step("evaluate_joint", evaluate_joint, needs=("data", "joint", "evaluate_baseline")),
        Step("summary", summarise, needs=("evaluate_baseline", "evaluate_pretext", "evaluate_transfer", "evaluate_joint")),
        Step("figures", draw_figures, needs=("evaluate_baseline", "evaluate_pretext", "evaluate_transfer", "evaluate_joint")),
    ),
    student_functions=("rotate_batch", "build_trunk"),
    seed_offsets=SEED_OFFSETS,
    package=__package__,
    folder=Path(__file__).parent,
    words=WORDS,
    unchecked={"build_trunk": "no hidden check: every training step uses it, so the run's rubric checks grade it"},
    headline=HEADLINE,
)
