"""hw14.q3's run: DermaMNIST (or the labelled CIFAR-10 stand-in), the student's ResNet-14 trained plainly and with
two remedies for the imbalance, every split scored on the trusted side, the remedy chosen on validation."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dlgrade.kit.keras_fit import scale_images
from dlgrade.kit.compare import compare_runs
from dlgrade.kit.question import Question, Step, TrainStep, Witness

from . import data, evaluate, figures, train
from .data import CLASSES
from .evaluate import rounded
from .spec import HEADLINE
from .spec import (BLOCKS_PER_STAGE, CONFIGS, MALIGNANT, NUM_CLASSES, REFERENCE, REMEDIES, SEED_OFFSETS,
                   SPLITS, STAGE_FILTERS, STANDIN_SOURCE, VARIANTS, WORDS)

SPLIT_MEASURES = ("accuracy", "balanced_accuracy", "macro_f1", "weighted_f1", "auc", "mean_ap")
SPLITS_TABLE = ("balanced_accuracy", "macro_f1", "weighted_f1", "auc")  # the splits table's columns after the majority class
REMEDY_MEASURES = ("balanced_accuracy", "macro_recall", "macro_f1", "mel_recall", "malignant_recall", "nv_recall", "accuracy", "auc")


def prepare_data(ctx, got) -> dict:
    cfg, m = ctx.config, ctx.result.metrics
    raw, info = data.load(ctx.data, cfg.fraction, ctx.progress.log)
    arrays = {k: (scale_images(v) if k.startswith("x_") else v.astype(np.int64)) for k, v in raw.items()}
    counts = {s: np.bincount(arrays[f"y_{s}"], minlength=NUM_CLASSES) for s in SPLITS}
    majority = int(np.argmax(counts["train"]))
    m.update({"data.source": info["source"], "data.is_standin": info["standin"], "data.fraction": cfg.fraction})
    for s in SPLITS:
        m[f"data.{s}.samples"] = int(counts[s].sum())
        m[f"majority.{s}.accuracy"] = rounded(np.mean(arrays[f"y_{s}"] == majority))
    ctx.result.add_table("class_counts", ["class", *SPLITS] + (["standin_source"] if info["standin"] else []), [
        [name] + [int(counts[s][k]) for s in SPLITS] + ([STANDIN_SOURCE[k]] if info["standin"] else []) for k, name in enumerate(CLASSES)])
    seeds = [ctx.seeds[f"repeat_{i}"] for i in range(cfg.seeds)]
    ctx.result.facts.update({
        "data": info, "reference": REFERENCE, "classes": list(CLASSES), "malignant": list(MALIGNANT), "majority_class": CLASSES[majority],
        "seeds": seeds, "first_seed": seeds[0], "several_seeds": len(seeds) > 1, "eval_shrunk": info.get("eval_shrink", 1.0) < 1.0,
        "reduced_profile": ctx.profile != "full",
        "model": {"name": "ResNet v1, depth 14", "stages": list(STAGE_FILTERS), "blocks_per_stage": BLOCKS_PER_STAGE},
    })
    return arrays


def _evaluate(ctx, got, variant: str) -> dict:
    """Score every seed's run of ``variant``; write its means over seeds (``remedy.<variant>.*``) and its test
    confusion matrix (first seed)."""
    d, out = got["data"], got[variant]
    scores = evaluate.score_runs(variant, out["runs"], {s: d[f"y_{s}"] for s in SPLITS}, ctx.config.seeds)
    summary = evaluate.over_seeds(scores)
    for key in evaluate.SEED_KEYS:
        ctx.result.metrics[f"remedy.{variant}.test.{key}"] = rounded(summary[key])
    ctx.result.metrics[f"remedy.{variant}.val.balanced_accuracy"] = rounded(summary["val_balanced_accuracy"])
    ctx.result.add_table(f"confusion_{variant}_test", ["true_class", *CLASSES], evaluate.confusion_rows(scores[0]["test"]))
    return {"scores": scores, "summary": summary, "confusion": scores[0]["test"]["report"].confusion,
            "history": evaluate.curves(variant, out.get("history"), out.get("val_probabilities"), d["y_val"], ctx.config.epochs)}


def evaluate_baseline(ctx, got) -> dict:
    """The reference setup (baseline, first seed) on every split, in full."""
    out = _evaluate(ctx, got, "baseline")
    base, m = out["scores"][0], ctx.result.metrics
    for s in SPLITS:
        ev = base[s]
        m.update({f"baseline.{s}.{key}": rounded(ev[key]) for key in SPLIT_MEASURES})
        m[f"baseline.{s}.never_predicted"] = len(ev["never_predicted"])
        m.update({f"baseline.{s}.recall.{name}": rounded(ev["report"].recall[k]) for k, name in enumerate(CLASSES)})
        ctx.result.add_table(f"report_{s}", ["class", "precision", "recall", "f1", "support", "ap", "auc"], evaluate.report_rows(ev))
    ctx.result.add_table("splits", ["split", "samples", "accuracy", "majority_accuracy", *SPLITS_TABLE, "never_predicted"], [
        [s, base[s]["n"], rounded(base[s]["accuracy"]), m[f"majority.{s}.accuracy"],
         *(rounded(base[s][k]) for k in SPLITS_TABLE), ", ".join(base[s]["never_predicted"]) or "none"] for s in SPLITS])
    ctx.result.facts["never_predicted"] = {s: base[s]["never_predicted"] for s in SPLITS}
    ctx.result.facts["model"]["parameters"] = int(got["baseline"]["parameters"])
    return out


def evaluate_class_weights(ctx, got) -> dict:
    ctx.result.facts["class_weights"] = {name: round(float(w), 4) for name, w in zip(CLASSES, got["class_weights"]["class_weights"])}
    return _evaluate(ctx, got, "class_weights")


def evaluate_oversampling(ctx, got) -> dict:
    return _evaluate(ctx, got, "oversampling")


def compare_remedies(ctx, got) -> dict:
    """Choose the remedy on validation balanced accuracy (never on test) and compare it with the baseline."""
    rows = {v: got[f"evaluate_{v}"]["summary"] for v in VARIANTS}
    best = max(REMEDIES, key=lambda v: rows[v]["val_balanced_accuracy"])
    b, r, m = rows["baseline"], rows[best], ctx.result.metrics
    m.update({
        "remedy.seeds": ctx.config.seeds, "remedy.epochs": ctx.config.epochs, "remedy.best": best,
        "remedy.test.best_balanced_accuracy": rounded(r["balanced_accuracy"]), "remedy.test.best_mel_recall": rounded(r["mel_recall"]),
        "remedy.test.best_balanced_accuracy_gain": rounded(r["balanced_accuracy"] - b["balanced_accuracy"]),
        "remedy.test.best_mel_recall_gain": rounded(r["mel_recall"] - b["mel_recall"]),
        "remedy.test.best_malignant_recall_gain": rounded(r["malignant_recall"] - b["malignant_recall"]),
        "remedy.test.best_accuracy_change": rounded(r["accuracy"] - b["accuracy"]),
        "remedy.test.best_nv_recall_change": rounded(r["nv_recall"] - b["nv_recall"]),
        "remedy.test.max_balanced_accuracy_gain": rounded(max(rows[v]["balanced_accuracy"] for v in REMEDIES) - b["balanced_accuracy"]),
        # the student's own remedy (their class_weights), whichever was chosen on validation
        "remedy.class_weights.test.balanced_accuracy_gain": rounded(rows["class_weights"]["balanced_accuracy"] - b["balanced_accuracy"]),
        "remedy.class_weights.test.mel_recall_gain": rounded(rows["class_weights"]["mel_recall"] - b["mel_recall"]),
    })
    columns = ["training", *REMEDY_MEASURES]
    ctx.result.add_table("remedies", columns, [[v] + [rounded(rows[v][k]) for k in REMEDY_MEASURES] for v in VARIANTS])
    ctx.result.add_table("remedies_sd", columns, [[v] + [rounded(rows[v][k + "_std"]) for k in REMEDY_MEASURES] for v in VARIANTS])
    ctx.result.add_table("remedy_recall", ["class", *VARIANTS],
                         [[name] + [rounded(rows[v]["class_recall"][k]) for v in VARIANTS] for k, name in enumerate(CLASSES)])
    per_seed = {v: [evaluate.seed_values(sc["test"]) for sc in got[f"evaluate_{v}"]["scores"]] for v in VARIANTS}
    n_test = len(got["data"]["y_test"])

    def versus(measure: str, v: str, against: list[float] | None = None) -> dict:
        base = against if against is not None else [p[measure] for p in per_seed["baseline"]]
        return compare_runs([p[measure] for p in per_seed[v]], base, n_test)

    majority = [m["majority.test.accuracy"]] * ctx.config.seeds
    cost = [{"class": name, "baseline": rounded(b["class_recall"][k]), "remedy": rounded(r["class_recall"][k]),
             "change": rounded(r["class_recall"][k] - b["class_recall"][k])} for k, name in enumerate(CLASSES)]
    ctx.result.facts.update({
        "best_remedy": best, "other_remedy": next(v for v in REMEDIES if v != best),
        "remedies": {v: {k: rounded(x) for k, x in row.items() if k != "class_recall"} for v, row in rows.items()},
        # Every comparative sentence is chosen from these (mean over the profile's seeds, band of two standard errors).
        "baseline_vs_majority": versus("accuracy", "baseline", majority),
        "remedy_vs_baseline": versus("balanced_accuracy", best),
        "remedy_malignant_vs_baseline": versus("malignant_recall", best),
        "remedy_accuracy_vs_baseline": versus("accuracy", best),
        "recall_fell": sorted((c for c in cost if c["change"] < 0), key=lambda c: c["change"]),
        "recall_rose": sorted((c for c in cost if c["change"] > 0), key=lambda c: -c["change"]),
        "history": {v: got[f"evaluate_{v}"]["history"] for v in VARIANTS},
    })
    return {"best": best, "rows": rows}


def draw_figures(ctx, got) -> None:
    f = ctx.result.facts
    figures.draw(ctx, got["evaluate_baseline"]["scores"][0], {v: got[f"evaluate_{v}"]["confusion"] for v in VARIANTS},
                 got["compare_remedies"]["best"], got["compare_remedies"]["rows"], f["history"], f["first_seed"], f["data"]["source"])


_SPLITS_IN = ("data.x_train", "data.y_train", "data.x_val", "data.x_test")

QUESTION = Question(
    id="hw14.q3",
    title={"en": "ResNet-14 on imbalanced DermaMNIST, with a measured remedy",
           "fa": "ResNet-14 روی DermaMNIST نامتوازن و سنجش یک راه‌حل برای عدم توازن"},
    datasets=("dermamnist", "cifar10"),
    configs=CONFIGS,
    steps=(
        Step("data", prepare_data, held_out=("y_val", "y_test")),
        # Reported numbers (histories, train-split scores) count only when the held-out test accuracy, scored here,
        # is within 0.1 of the reference run's.
        TrainStep("baseline", train.baseline, inputs=_SPLITS_IN, uses=("build_resnet14",),
                  witness=Witness("baseline.test.accuracy", 0.10)),
        Step("evaluate_baseline", evaluate_baseline, needs=("data", "baseline")),
        TrainStep("class_weights", train.class_weights, inputs=_SPLITS_IN, uses=("build_resnet14", "class_weights"),
                  witness=Witness("remedy.class_weights.test.accuracy", 0.10)),
        Step("evaluate_class_weights", evaluate_class_weights, needs=("data", "class_weights")),
        TrainStep("oversampling", train.oversampling, inputs=_SPLITS_IN, uses=("build_resnet14",),
                  witness=Witness("remedy.oversampling.test.accuracy", 0.10)),
        Step("evaluate_oversampling", evaluate_oversampling, needs=("data", "oversampling")),
        Step("compare_remedies", compare_remedies, needs=("data", "evaluate_baseline", "evaluate_class_weights", "evaluate_oversampling")),
        Step("figures", draw_figures, needs=("evaluate_baseline", "evaluate_class_weights", "evaluate_oversampling", "compare_remedies")),
    ),
    student_functions=("build_resnet14", "class_weights"),
    seed_offsets=SEED_OFFSETS,
    package=__package__,
    folder=Path(__file__).parent,
    words=WORDS,
    unchecked={"build_resnet14": "no hidden check: every training step uses it, so the run's rubric checks grade it"},
    headline=HEADLINE,
)
