"""hw14.q3 figures (trusted): per-class precision-recall curves, confusion matrices, the remedies' test scores
and the learning curves. Every title says which data was used (a stand-in is named as such)."""

from __future__ import annotations

import numpy as np

from dlgrade.kit import plots

from .data import CLASSES
from .spec import CLASS_NAMES, MALIGNANT, WORDS

REMEDY_KEYS = (("accuracy", "accuracy"), ("balanced_accuracy", "balanced acc. (= macro recall)"), ("macro_f1", "macro F1"),
               ("mel_recall", "mel recall"), ("malignant_recall", "akiec/bcc/mel recall"))


def title_of(variant: str) -> str:
    return WORDS["value"][variant]["en"]


def pr_curves(scores_by_split: dict, path, title: str) -> None:
    """One panel per split: every class's precision-recall curve with its AP (dashed: malignant classes)."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(scores_by_split), figsize=(4.6 * len(scores_by_split), 4.2), squeeze=False)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, (split, ev) in zip(axes[0], scores_by_split.items()):
        for k, name in enumerate(CLASSES):
            rc, pr = ev["pr_curves"][k]
            ap = ev["ap"][k]
            label = f"{name} ({CLASS_NAMES[name][0].split(' /')[0]}) AP {ap:.2f}" if np.isfinite(ap) else f"{name}: absent"
            ax.plot(rc, pr, color=colours[k % len(colours)], lw=1.3, label=label, ls="--" if name in MALIGNANT else "-")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("recall")
        ax.set_ylabel("precision")
        ax.set_title(f"{split} (n={ev['n']})")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6, loc="upper right")
    fig.suptitle(title)
    plots.save(fig, path)


def remedies(rows: dict[str, dict], path, title: str) -> None:
    """Bars of the test scores per training (mean over seeds, whiskers: standard deviation)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8.5, 3.6))
    width = 0.8 / len(rows)
    for i, (variant, r) in enumerate(rows.items()):
        vals = [r[k] for k, _ in REMEDY_KEYS]
        errs = [r.get(k + "_std", 0.0) for k, _ in REMEDY_KEYS]
        pos = np.arange(len(REMEDY_KEYS)) + (i - (len(rows) - 1) / 2) * width
        ax.bar(pos, vals, width, yerr=errs, capsize=2, label=title_of(variant))
        for p_, v in zip(pos, vals):
            ax.text(p_, v + 0.01, f"{v:.2f}", ha="center", va="bottom", fontsize=6)
    ax.set_xticks(range(len(REMEDY_KEYS)), [label for _, label in REMEDY_KEYS], fontsize=8)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("test score")
    ax.legend(fontsize=7)
    ax.grid(axis="y", alpha=0.3)
    ax.set_title(title)
    plots.save(fig, path)


def draw(ctx, baseline_scores: dict, confusions: dict, best: str, summaries: dict, histories: dict, seed: int, tag: str) -> None:
    """Every figure of the question; ``tag`` names the data in each title."""
    for key, variant, label in (("confusion_baseline", "baseline", "baseline"), ("confusion_best", best, title_of(best))):
        plots.confusion_matrix(confusions[variant], list(CLASSES), ctx.figure(key, f"{key}.png"), normalise=True,
                               title=f"{label}, test, row-normalised\n[{tag}]")
    pr_curves(baseline_scores, ctx.figure("pr_curves", "pr_curves.png"), f"Per-class precision-recall, baseline, seed {seed} [{tag}]")
    remedies(summaries, ctx.figure("remedies", "remedies.png"),
             f"Test scores over {ctx.config.seeds} seed(s), {ctx.config.epochs} epochs [{tag}]")
    plots.learning_curves({title_of(v): h for v, h in histories.items()}, ctx.figure("learning_curves", "learning_curves.png"),
                          title=f"ResNet-14 learning curves, seed {seed} [{tag}]")
