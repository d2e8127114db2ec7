"""hw14.q4, deliberately broken (``dlgrade calibrate hw14.q4 --variant broken``): the homework's search space over
a dense net that never learns (Adam with learning rate 0): a model at chance, which the tuned model's ranges must
fail (the baseline is the trusted side's own model and is not broken)."""

from __future__ import annotations

from .spec import LEARNING_RATES, UNITS
from .train import build_dense


def build_model(hp):
    units = hp.Int("units", min_value=UNITS[0], max_value=UNITS[1], step=UNITS[2])
    hp.Choice("learning_rate", values=list(LEARNING_RATES))
    return build_dense(units, 0.0)
