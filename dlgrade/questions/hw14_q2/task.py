"""hw14.q2's run: MNIST subsets and random triplets, three trainings of the student's embedding net (random
triplets, batch-hard, batch-semi-hard), each measured on labels and test triplets only the trusted side holds,
then the comparison, the curves and the t-SNE maps."""

from __future__ import annotations

import math
from pathlib import Path

from dlgrade.kit import plots
from dlgrade.kit.compare import compare_accuracies
from dlgrade.kit.question import Question, Step, TrainStep, Witness

from . import data, evaluate, figures, train
from .spec import HEADLINE
from .spec import (BATCH_TRIPLETS, COLLAPSE_LOSS, COLLAPSE_SPREAD, CONFIGS, MARGIN, MINING, MINING_BATCH, MOSTLY_EASY,
                   REFERENCE, SEED_OFFSETS, STRATEGIES, TSNE_PERPLEXITY, WORDS)

GAIN_METRIC = {"batch_hard": "compare.test.hard_minus_random_knn1", "batch_semi_hard": "compare.test.semi_hard_minus_random_knn1"}


def prepare_data(ctx, got) -> dict:
    cfg = ctx.config
    d = data.mnist_subsets(ctx.data.load("mnist"), cfg.train_samples, cfg.test_samples, ctx.seeds.rng("subset"))
    d["train_triplets"] = data.make_triplets(d["y_train"], cfg.train_triplets, ctx.seeds["train_triplets"])
    d["test_triplets"] = data.make_triplets(d["y_test"], cfg.test_triplets, ctx.seeds["test_triplets"])
    ctx.result.metrics.update({"setup.epochs": cfg.epochs, "data.train.samples": len(d["y_train"]), "data.test.samples": len(d["y_test"])})
    return d


def describe_setup(ctx, got) -> None:
    cfg = ctx.config
    ctx.result.facts.update({
        "reference": REFERENCE, "train_triplets": cfg.train_triplets, "test_triplets": cfg.test_triplets,
        "mining_batch_images": MINING_BATCH, "steps_per_epoch": math.ceil(cfg.train_triplets / BATCH_TRIPLETS),
        "images_seen": 3 * cfg.train_triplets * cfg.epochs, "tsne_points": cfg.tsne_points, "tsne_perplexity": TSNE_PERPLEXITY,
        "reduced_profile": cfg.epochs < REFERENCE["epochs"],
    })


def _evaluate(ctx, got, s: str) -> dict:
    d, cfg, r = got["data"], ctx.config, ctx.result
    out = evaluate.strategy_outputs(got[s], s, cfg.epochs, len(d["y_train"]), len(d["y_test"]), s in MINING)
    curves = evaluate.epoch_measures(out["train"], out["test"], d["y_train"], d["y_test"], d["train_triplets"], d["test_triplets"])
    finals = evaluate.final_measures(s, out, curves, d["y_train"], d["y_test"], cfg.train_triplets, cfg.epochs)
    r.metrics.update({f"{s}.{k}": float(v) for k, v in finals.items()})
    history = {**out["history"], **curves}
    r.facts.setdefault("history", {})[s] = history
    r.facts.setdefault("collapsed", {})[s] = bool(finals["test.embedding_spread"] < COLLAPSE_SPREAD * MARGIN
                                                  and finals["test.triplet_loss"] > COLLAPSE_LOSS * MARGIN)
    return {"finals": finals, "history": history, "embeddings": (out["train"][-1], out["test"][-1])}


def evaluate_random(ctx, got) -> dict:
    res = _evaluate(ctx, got, "random")
    f, h, r = res["finals"], res["history"], ctx.result
    r.metrics["random.train.active_drop"] = f["train.active_first"] - f["train.active_last"]
    r.add_table("random_epochs", ["epoch", "train_loss", "test_loss", "train_active", "test_active", "test_knn1"],
                [[i + 1, round(h["loss"][i], 4), round(h["test_triplet_loss"][i], 4), round(h["train_active"][i], 4),
                  round(h["test_active"][i], 4), round(h["test_knn1_accuracy"][i], 4)] for i in range(ctx.config.epochs)])
    r.facts.update({"random_active_fell": f["train.active_last"] < f["train.active_first"],
                    "random_mostly_easy": f["train.active_last"] < MOSTLY_EASY})
    return res


def evaluate_batch_hard(ctx, got) -> dict:
    return _evaluate(ctx, got, "batch_hard")


def evaluate_batch_semi_hard(ctx, got) -> dict:
    return _evaluate(ctx, got, "batch_semi_hard")


def _gain(ctx, got, s: str) -> None:
    """1-NN accuracy of a mining strategy minus that of random triplets."""
    mined, random = got[f"evaluate_{s}"]["finals"]["test.knn1_accuracy"], got["evaluate_random"]["finals"]["test.knn1_accuracy"]
    ctx.result.metrics[GAIN_METRIC[s]] = mined - random
    # against random triplets, with the binomial band of 1-NN accuracies on these test images
    ctx.result.facts.setdefault("gain", {})[s] = compare_accuracies(mined, random, int(ctx.result.metrics["data.test.samples"]))


def gain_batch_hard(ctx, got) -> None:
    _gain(ctx, got, "batch_hard")


def gain_batch_semi_hard(ctx, got) -> None:
    _gain(ctx, got, "batch_semi_hard")


def compare(ctx, got) -> None:
    finals = {s: got[f"evaluate_{s}"]["finals"] for s in STRATEGIES}
    knn1 = {s: f["test.knn1_accuracy"] for s, f in finals.items()}
    best = max(STRATEGIES, key=knn1.get)
    ctx.result.metrics.update({"compare.best_strategy": best, "compare.test.best_margin_knn1": knn1[best] - sorted(knn1.values(), reverse=True)[1]})
    ctx.result.add_table("comparison", ["strategy", "test_knn1_accuracy", "test_knn5_accuracy", "test_recall_at_1", "train_active_random",
                                        "train_active_own", "test_triplet_loss", "seconds"],
                         [[s, *(round(f[k], 4) for k in ("test.knn1_accuracy", "test.knn5_accuracy", "test.recall_at_1", "train.active_last",
                                                         "train.mined_active_last", "test.triplet_loss")), int(round(f["seconds"]))]
                          for s, f in finals.items()])
    ctx.result.facts["best_knn1_accuracy"] = knn1[best]
    runner_up = max((k for k in STRATEGIES if k != best), key=knn1.get)
    ctx.result.facts["best_vs_runner_up"] = compare_accuracies(knn1[best], knn1[runner_up], int(ctx.result.metrics["data.test.samples"]))


def draw(ctx, got) -> None:
    d = got["data"]
    plots.draw(ctx.figure("curves", "curves.png"), figures.curves, {s: got[f"evaluate_{s}"]["history"] for s in STRATEGIES})
    maps = evaluate.tsne_maps({s: got[f"evaluate_{s}"]["embeddings"] for s in STRATEGIES}, d["y_train"], d["y_test"],
                              ctx.config.tsne_points, ctx.seeds.rng("tsne_points"), ctx.seeds["tsne"])
    plots.draw(ctx.figure("tsne", "tsne.png"), figures.tsne, maps)


def _train_step(s: str) -> TrainStep:
    inputs = ("data.x_train", "data.train_triplets", "data.x_test") if s == "random" else \
        ("data.x_train", "data.y_train", "data.train_triplets", "data.x_test")
    loss = "triplet_loss" if s == "random" else f"{s}_triplet_loss"
    # Its reported losses count only when the 1-NN accuracy of its test embeddings, scored here against labels the
    # step never saw, stands up to the reference run's.
    return TrainStep(s, getattr(train, s), inputs=inputs, uses=("build_embedding_net", loss),
                     witness=Witness(f"{s}.test.knn1_accuracy"))


QUESTION = Question(
    id="hw14.q2",
    title={"en": "Triplet loss on MNIST: random triplets vs batch-hard and batch-semi-hard mining",
           "fa": "تابع ضرر سه‌تایی روی MNIST: سه‌تایی‌های تصادفی در برابر استخراج سخت و نیمه‌سخت درون دسته"},
    datasets=("mnist",),
    configs=CONFIGS,
    steps=(
        Step("data", prepare_data, held_out=("y_test", "test_triplets")),
        Step("setup", describe_setup),
        _train_step("random"),
        Step("evaluate_random", evaluate_random, needs=("data", "random")),
        _train_step("batch_hard"),
        Step("evaluate_batch_hard", evaluate_batch_hard, needs=("data", "batch_hard")),
        _train_step("batch_semi_hard"),
        Step("evaluate_batch_semi_hard", evaluate_batch_semi_hard, needs=("data", "batch_semi_hard")),
        Step("gain_batch_hard", gain_batch_hard, needs=("evaluate_random", "evaluate_batch_hard")),
        Step("gain_batch_semi_hard", gain_batch_semi_hard, needs=("evaluate_random", "evaluate_batch_semi_hard")),
        Step("compare", compare, needs=("evaluate_random", "evaluate_batch_hard", "evaluate_batch_semi_hard")),
        Step("figures", draw, needs=("data", "evaluate_random", "evaluate_batch_hard", "evaluate_batch_semi_hard")),
    ),
    student_functions=("build_embedding_net", "triplet_loss", "batch_hard_triplet_loss", "batch_semi_hard_triplet_loss"),
    seed_offsets=SEED_OFFSETS,
    package=__package__,
    folder=Path(__file__).parent,
    words=WORDS,
    unchecked={"build_embedding_net": "it returns a Keras model, which cannot cross the sandbox boundary as data; every "
                                      "training step builds it, and the rubric grades the embeddings it learns"},
    headline=HEADLINE,
)
