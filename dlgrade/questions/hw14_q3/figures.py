"""hw14.q3 figures (trusted): per-class precision-recall curves, confusion matrices, the remedies' test scores
and the learning curves, drawn in each report language. Every title says which data was used (a stand-in is
named as such); class and variant names come from ``spec.WORDS``."""

from __future__ import annotations

import numpy as np

from dlgrade.kit import plots

from .data import CLASSES
from .spec import CLASS_NAMES, MALIGNANT, WORDS

COLUMN, VALUE = WORDS["column"], WORDS["value"]
REMEDY_KEYS = ("accuracy", "balanced_accuracy", "macro_f1", "mel_recall", "malignant_recall")
REMEDY_WORDS = {**{k: COLUMN[k] for k in REMEDY_KEYS},
                "balanced_accuracy": {"en": "balanced acc.\n(= macro recall)", "fa": "صحت متوازن\n(= بازخوانی ماکرو)"},
                "malignant_recall": {"en": "akiec/bcc/mel\nrecall", "fa": "بازخوانی\nakiec/bcc/mel"}}
DATA_TAG = {"standin": {"en": "CIFAR-10 STAND-IN, not DermaMNIST", "fa": "جانشین CIFAR-10، نه DermaMNIST"},
            "dermamnist": {"en": "DermaMNIST", "fa": "DermaMNIST"}}
TITLES = {
    "confusion": {"en": "{variant}, test, row-normalised\n[{tag}]", "fa": "{variant}، آزمون، نرمال‌شده در هر سطر\n[{tag}]"},
    "pr_curves": {"en": "Per-class precision-recall, baseline, seed {seed} [{tag}]",
                  "fa": "دقت–بازخوانی هر کلاس، مدل پایه، بذر {seed} [{tag}]"},
    "remedies": {"en": "Test scores over {seeds} seed(s), {epochs} epochs [{tag}]",
                 "fa": "امتیازهای آزمون با {seeds} بذر، {epochs} دوره [{tag}]"},
    "learning_curves": {"en": "ResNet-14 learning curves, seed {seed} [{tag}]", "fa": "منحنی‌های یادگیری ResNet-14، بذر {seed} [{tag}]"},
    "split": {"en": "{split} ({n} images)", "fa": "{split} ({n} تصویر)"},
    "ap": {"en": "{name}: {aps}", "fa": "{name}: {aps}"},
    "ap_title": {"en": "AP ({splits})", "fa": "AP ({splits})"},
    "score": {"en": "test score", "fa": "امتیاز آزمون"},
}
PRECISION = {"en": "precision", "fa": "دقت"}
SHORT_CLASS = {code: {"en": f"{code} ({en.split(' /')[0]})", "fa": f"{fa.split(' (')[0].split(' و ')[0]} ({code})"}
               for code, (en, fa) in CLASS_NAMES.items()}


def pr_curves(scores_by_split: dict, title: plots.Words, *, lang: str):
    """One panel per split side by side, every class's precision-recall curve (dashed: malignant classes); the
    legend below the panels gives each class's AP per split."""
    import matplotlib.pyplot as plt

    n = len(scores_by_split)
    fig, axes = plt.subplots(1, n, figsize=plots.size(1.0, 0.66), squeeze=False, sharey=True, layout="constrained")
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, (split, ev) in zip(axes.flat, scores_by_split.items()):
        for k, name in enumerate(CLASSES):
            rc, pr = ev["pr_curves"][k]
            ax.plot(rc, pr, color=colours[k % len(colours)], lw=1.3, ls="--" if name in MALIGNANT else "-",
                    label=plots.text(SHORT_CLASS[name], lang))
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.02)
        ax.set_xlabel(plots.text(COLUMN["recall"], lang))
        if ax is axes.flat[0]:
            ax.set_ylabel(plots.text(PRECISION, lang))
        ax.set_title(plots.text(TITLES["split"], lang, split=VALUE.get(split, {}).get(lang, split), n=ev["n"]))
        ax.grid(alpha=0.3)
    ap_rows = [plots.text(TITLES["ap"], lang, name=plots.text(SHORT_CLASS[name], lang),
                          aps=" / ".join(plots.number(ev["ap"][k], lang) if np.isfinite(ev["ap"][k]) else "—"
                                        for ev in scores_by_split.values()))
               for k, name in enumerate(CLASSES)]
    handles, _ = axes.flat[0].get_legend_handles_labels()
    splits = " / ".join(plots.text(VALUE.get(s, {}).get(lang, s), lang) for s in scores_by_split)
    fig.legend(handles, ap_rows, loc="outside lower center", ncol=2, markerfirst=lang != "fa",
               title=plots.text(TITLES["ap_title"], lang, splits=splits))
    fig.suptitle(plots.text(title, lang))
    return fig


def remedies(rows: dict[str, dict], title: plots.Words, *, lang: str):
    """Bars of the test scores per training (mean over seeds, whiskers: standard deviation); legend below."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=plots.size(1.0, 0.6), layout="constrained")
    width = 0.8 / len(rows)
    for i, (variant, r) in enumerate(rows.items()):
        vals = [r[k] for k in REMEDY_KEYS]
        errs = [r.get(k + "_std", 0.0) for k in REMEDY_KEYS]
        pos = np.arange(len(REMEDY_KEYS)) + (i - (len(rows) - 1) / 2) * width
        ax.bar(pos, vals, width, yerr=errs, capsize=2, label=plots.text(VALUE[variant], lang))
        for p_, v in zip(pos, vals):
            ax.text(p_, v + 0.01, plots.number(v, lang), ha="center", va="bottom", fontsize=plots.MIN_FONT_PT, rotation=90)
    ax.set_xticks(range(len(REMEDY_KEYS)), [plots.text(REMEDY_WORDS[k], lang) for k in REMEDY_KEYS])
    ax.set_ylim(0, 1.18)
    ax.set_ylabel(plots.text(TITLES["score"], lang))
    fig.legend(loc="outside lower center", ncol=len(rows), markerfirst=lang != "fa")
    ax.grid(axis="y", alpha=0.3)
    ax.set_title(plots.text(title, lang))
    return fig


def draw(ctx, baseline_scores: dict, confusions: dict, best: str, summaries: dict, histories: dict, seed: int, source: str) -> None:
    """Every figure of the question; ``source`` (``standin`` or ``dermamnist``) names the data in each title."""
    def title(key: str, **fields) -> dict[str, str]:
        return {lang: TITLES[key][lang].format(tag=DATA_TAG[source][lang],
                                               **{k: v[lang] if isinstance(v, dict) else v for k, v in fields.items()})
                for lang in TITLES[key]}

    for key, variant in (("confusion_baseline", "baseline"), ("confusion_best", best)):
        plots.draw(ctx.figure(key, f"{key}.png"), plots.confusion_matrix, confusions[variant], list(CLASSES), normalise=True,
                   title=title("confusion", variant=VALUE[variant]))
    plots.draw(ctx.figure("pr_curves", "pr_curves.png"), pr_curves, baseline_scores, title("pr_curves", seed=seed))
    plots.draw(ctx.figure("remedies", "remedies.png"), remedies, summaries,
               title("remedies", seeds=ctx.config.seeds, epochs=ctx.config.epochs))
    plots.draw(ctx.figure("learning_curves", "learning_curves.png"), plots.learning_curves, histories, labels=VALUE,
               title=title("learning_curves", seed=seed))
