"""hw6.q3 figures (trusted): learning curves of the supervised trainings, the pretext and the joint trainings."""

from __future__ import annotations

from dlgrade.kit import plots


def draw(ctx, histories: dict[str, dict], joint: dict[str, dict]) -> None:
    """``histories``: ``baseline``, ``transfer``, ``pretext`` (each with held-out curves); ``joint``: weighting
    code -> history with ``val_classifier_accuracy`` and ``val_rotator_accuracy``."""
    plots.learning_curves({"(a) baseline": histories["baseline"], "(b) transfer": histories["transfer"]},
                          ctx.figure("supervised_curves", "supervised_curves.png"),
                          title="200 labelled images (validation: test images)")
    plots.learning_curves({"rotation pretext": histories["pretext"]}, ctx.figure("pretext_curves", "pretext_curves.png"),
                          title="Rotation pretext (4 classes)")
    plots.learning_curves(joint, ctx.figure("joint_curves", "joint_curves.png"),
                          metrics=("classifier_accuracy", "rotator_accuracy"),
                          title="Joint training: classifier and rotator heads (validation: test images)")
