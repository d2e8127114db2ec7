"""Each question's deliberately broken implementation (broken.py): what the calibrated ranges must fail."""

from __future__ import annotations

import numpy as np

from dlgrade.autograde.calibrate import Proposal, format_proposals
from dlgrade.questions import all_questions, get_question

TRAINED = ("hw6.q3", "hw6.q4", "hw14.q2", "hw14.q3", "hw14.q4")


def test_every_trained_question_has_a_broken_variant_with_every_student_function():
    for qid in TRAINED:
        q = get_question(qid)
        broken = q.module("broken")
        assert (q.folder / "broken.py").is_file()
        for name in q.student_functions:
            assert callable(getattr(broken, name, None)), f"{qid} broken.py lacks {name}()"
    assert {q.id for q in all_questions() if (q.folder / "broken.py").is_file()} == set(TRAINED)


def test_a_broken_variant_is_reported_by_whether_the_range_fails_it():
    inside = Proposal("m", [0.1, 0.12, 0.3], 0.17, 0.1, 0.0, 0.5, (0.25, 0.6), "c")
    outside = Proposal("m", [0.1, 0.12, 0.11], 0.11, 0.01, 0.0, 0.5, (0.25, 0.6), "c")
    assert inside.current_excludes is False and outside.current_excludes is True
    table = format_proposals([inside, outside], "hw6.q4", "quick", 3.0, variant="broken")
    assert "fails all?" in table and "NO" in table and "yes" in table


def test_a_collapsed_embedding_is_mapped_to_one_point_without_running_tsne():
    """scikit-learn's t-SNE crashed the trusted process (SIGSEGV) on identical points; a student's collapsed
    embedding must not take the grader down."""
    from dlgrade.questions.hw14_q2.evaluate import tsne_maps

    emb = np.zeros((40, 10), dtype=np.float32)
    maps = tsne_maps({"batch_hard": (emb, emb[:20])}, np.arange(40) % 10, np.arange(20) % 10, 10,
                     np.random.default_rng(0), 0)
    pts, labels, split = maps["batch_hard"]
    assert pts.shape == (20, 2) and not pts.any() and len(labels) == 20 and set(split) == {"train", "test"}
