"""hw14.q4: keras-tuner BayesianOptimization of a dense net on Fashion-MNIST.

Baseline: Flatten -> Dense(128, relu) -> Dense(10) logits. Search space (the
homework's): units 16..512 step 16, learning rate in {1e-4, 5e-4, 1e-3, 5e-3, 1e-2};
Adam, sparse categorical cross-entropy from logits, objective ``val_accuracy`` with
``validation_split=0.2``. The best configuration is then retrained from scratch.
"""

from __future__ import annotations

from .spec import LEARNING_RATES, UNITS
from .train import build_dense


def build_model(hp):
    """The tuner's hypermodel: the homework's search space over ``build_dense``."""
    units = hp.Int("units", min_value=UNITS[0], max_value=UNITS[1], step=UNITS[2])
    lr = hp.Choice("learning_rate", values=list(LEARNING_RATES))
    return build_dense(units, lr)
