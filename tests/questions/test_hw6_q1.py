"""hw6.q1 pieces: how normalised an output is, Keras' layers as the comparison, and the hidden checks' guard
against functions that return their input."""

from __future__ import annotations

import numpy as np
import pytest

from dlgrade.kit.hidden import CheckFailed
from dlgrade.questions.hw6_q1 import evaluate, hidden
from dlgrade.questions.hw6_q1.reference import batch_norm, layer_norm
from dlgrade.questions.hw6_q1.spec import EPSILON

X = np.array([[8, 6, 5, 2, 3], [0, 0, 0, 1, 8], [6, 9, 5, 6, 9], [7, 6, 5, 5, 9], [2, 8, 6, 0, 3]], float)


def test_normalisation_errors_are_zero_for_the_reference_and_large_for_the_input():
    assert max(evaluate.normalisation_errors(X, batch_norm(X, EPSILON), 0)) < 1e-12
    assert max(evaluate.normalisation_errors(X, layer_norm(X, EPSILON), 1)) < 1e-12
    mean_err, _ = evaluate.normalisation_errors(X, X, 0)
    assert mean_err > 1


def test_keras_layers_agree_with_the_reference_to_float32_precision():
    bn, ln = evaluate.keras_norms(X)
    np.testing.assert_allclose(bn, batch_norm(X, EPSILON), atol=1e-5)
    np.testing.assert_allclose(ln, layer_norm(X, EPSILON), atol=1e-5)


def test_stats_row_summarises_means_and_stds():
    row = evaluate.stats_row("bn", "column", batch_norm(X, EPSILON), 0)
    assert row[:2] == ["bn", "column"] and abs(row[2]) < 1e-6 and abs(row[3]) < 1e-6 and 0.99 < row[4] <= row[5] <= 1


@pytest.mark.parametrize("out", [X.copy(), np.ones_like(X)])
def test_a_function_that_returns_its_input_or_a_constant_did_nothing(out):
    with pytest.raises(CheckFailed, match="nothing was normalised"):
        hidden.did_something(out, X, "batch_norm")
    hidden.did_something(batch_norm(X, EPSILON), X, "batch_norm")  # the real thing passes
