"""hw14.q4 pieces: test scoring on the trusted side, the search's table and metrics under the student's own
hyper-parameter names, and the baseline network."""

from __future__ import annotations

import types

import numpy as np
import pytest

from dlgrade.kit.runner import StepFailed
from dlgrade.questions.hw14_q4 import task
from dlgrade.questions.hw14_q4.spec import LEARNING_RATES, UNITS
from dlgrade.questions.hw14_q4.train import build_dense
from dlgrade.results import TaskResult


def test_test_accuracy_is_exact_and_refuses_wrong_shapes():
    logits = np.eye(10)[[0, 1, 2, 3]] * 5.0
    assert task.test_accuracy("retrain", logits, np.array([0, 1, 2, 9])) == 0.75
    with pytest.raises(StepFailed) as e:
        task.test_accuracy("retrain", logits[:, :9], np.array([0, 1, 2, 9]))
    assert e.value.verdict == "shape"


def _space(units_name, lr_name):
    return [{"class_name": "Int", "name": units_name, "min_value": UNITS[0], "max_value": UNITS[1], "step": UNITS[2]},
            {"class_name": "Choice", "name": lr_name, "values": list(LEARNING_RATES)}]


@pytest.mark.parametrize("units_name,lr_name", [("units", "learning_rate"), ("dense_layer_units", "learning_rate_choice")])
def test_the_search_is_read_under_the_students_own_names(units_name, lr_name):
    trials = [{"trial": 1, "values": {units_name: 32, lr_name: 1e-3}, "score": 0.886, "status": "COMPLETED"},
              {"trial": 2, "values": {units_name: 496, lr_name: 1e-2}, "score": 0.84, "status": "COMPLETED"}]
    ctx = types.SimpleNamespace(result=TaskResult("hw14.q4"))
    got = {"search": {"trials": trials, "best_values": trials[0]["values"], "space": _space(units_name, lr_name)}}
    names = task.evaluate_search(ctx, got)
    m = ctx.result.metrics
    assert names == {"units": units_name, "learning_rate": lr_name}
    assert m["tuner.best_units"] == 32 and m["tuner.best_learning_rate"] == 1e-3 and m["tuner.val.best_accuracy"] == 0.886
    assert ctx.result.tables["trials"]["rows"][1][1:3] == [496, 1e-2]


def test_a_search_without_any_score_fails_its_step():
    ctx = types.SimpleNamespace(result=TaskResult("hw14.q4"))
    got = {"search": {"trials": [{"trial": 1, "values": {}, "score": None, "status": "FAILED"}], "best_values": {}}}
    with pytest.raises(StepFailed, match="no trial produced a score"):
        task.evaluate_search(ctx, got)


def test_the_baseline_network_outputs_logits():
    import keras

    model = build_dense(16, 1e-3)
    assert [type(l).__name__ for l in model.layers] == ["Flatten", "Dense", "Dense"]
    assert model.layers[-1].activation is keras.activations.linear and model.loss.get_config()["from_logits"]
