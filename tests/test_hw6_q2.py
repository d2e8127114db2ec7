"""hw6.q2: the closed-form BERT parameter count and the Keras encoder agree, per component."""

from __future__ import annotations

import pytest

from dlgrade.tasks.hw6_q2_bert import (COMPONENTS, CONFIGS, bert_param_breakdown, bert_param_count,
                                       build_bert_encoder, component_of, count_keras_params)


def test_known_sizes():
    assert bert_param_count(**CONFIGS["base"]) == 109_482_240
    assert bert_param_count(**CONFIGS["large"]) == 335_141_888


def test_breakdown_adds_up_and_heads_do_not_change_the_count():
    parts = bert_param_breakdown(**CONFIGS["base"])
    assert sum(parts[c] for c in COMPONENTS) == parts["total"]
    assert bert_param_count(12, 768, 6, 3072) == bert_param_count(12, 768, 12, 3072)
    # one layer more adds exactly one block: 4(H^2+H) + 2HF + F + H + 4H
    h, f = 768, 3072
    assert bert_param_count(13, h, 12, f) - bert_param_count(12, h, 12, f) == 4 * (h * h + h) + 2 * h * f + f + h + 4 * h


@pytest.mark.parametrize("cfg", [
    dict(layers=2, hidden=64, heads=4, ffn=128, vocab=100, positions=32, segments=2),
    dict(layers=1, hidden=48, heads=3, ffn=96, vocab=57, positions=16, segments=3),
])
def test_keras_model_matches_closed_form_per_component(cfg):
    counts = count_keras_params(build_bert_encoder(**cfg))
    formula = bert_param_breakdown(**cfg)
    for c in COMPONENTS + ("total",):
        assert counts[c] == formula[c], c
    assert counts["keras_count_params"] == formula["total"]


def test_small_encoder_runs_forward():
    import numpy as np

    model = build_bert_encoder(layers=1, hidden=32, heads=2, ffn=64, vocab=50, positions=16)
    seq, pooled = model([np.zeros((2, 7), "int32"), np.zeros((2, 7), "int32")])
    assert tuple(seq.shape) == (2, 7, 32) and tuple(pooled.shape) == (2, 32)


def test_component_names():
    assert component_of("attention_3") == "attention" and component_of("norm_output_0") == "layer_norms"
    assert component_of("dropout") is None


@pytest.mark.parametrize("bad", [dict(hidden=770), dict(layers=0), dict(vocab=-1), dict(heads=1.5)])
def test_bad_sizes_are_rejected(bad):
    cfg = {**CONFIGS["base"], **bad}
    with pytest.raises(ValueError):
        bert_param_count(**cfg)
