"""hw6.q3 figures (trusted): learning curves of the supervised trainings, the pretext and the joint trainings,
drawn in each report language (legend words: ``spec.WORDS["value"]``)."""

from __future__ import annotations

from dlgrade.kit import plots

from .spec import WORDS

TITLES = {
    "supervised": {"en": "200 labelled images (validation: test images)", "fa": "۲۰۰ تصویر برچسب‌دار (اعتبارسنجی: تصاویر آزمون)"},
    "pretext": {"en": "Rotation pretext (4 classes)", "fa": "تسک ساختگی چرخش (۴ کلاس)"},
    "joint": {"en": "Joint training: classifier and rotator heads (validation: test images)",
              "fa": "آموزش هم‌زمان: سرهای دسته‌بند و چرخش‌یاب (اعتبارسنجی: تصاویر آزمون)"},
}
JOINT_METRICS = {"classifier_accuracy": {"en": "classifier accuracy", "fa": "صحت دسته‌بند"},
                 "rotator_accuracy": {"en": "rotator accuracy", "fa": "صحت چرخش‌یاب"}}


def draw(ctx, histories: dict[str, dict], joint: dict[str, dict]) -> None:
    """``histories``: ``baseline``, ``transfer``, ``pretext`` (each with held-out curves); ``joint``: weighting
    code -> history with ``val_classifier_accuracy`` and ``val_rotator_accuracy``."""
    words = WORDS["value"]
    plots.draw(ctx.figure("supervised_curves", "supervised_curves.png"), plots.learning_curves,
               {k: histories[k] for k in ("baseline", "transfer")}, labels=words, title=TITLES["supervised"])
    plots.draw(ctx.figure("pretext_curves", "pretext_curves.png"), plots.learning_curves,
               {"pretext": histories["pretext"]}, labels=words, title=TITLES["pretext"])
    plots.draw(ctx.figure("joint_curves", "joint_curves.png"), plots.learning_curves, joint,
               metrics=tuple(JOINT_METRICS), metric_words=JOINT_METRICS, labels=words, title=TITLES["joint"])
