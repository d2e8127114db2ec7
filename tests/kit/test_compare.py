"""Comparisons with their noise band: the verdict the reports' "above / within noise / below" sentences use."""

from __future__ import annotations

import math

import pytest

from dlgrade.kit.compare import accuracy_band, compare, compare_accuracies, compare_runs, compare_seeds, seeds_band


def test_accuracy_band_is_two_standard_errors_of_a_difference():
    assert accuracy_band(0.5, 0.5, 1000) == pytest.approx(2 * math.sqrt(0.5 / 1000))
    assert accuracy_band(0.9, 0.9, 10000) < accuracy_band(0.9, 0.9, 100)
    with pytest.raises(ValueError, match="positive number of test images, got 0"):
        accuracy_band(0.5, 0.5, 0)


def test_a_difference_inside_the_band_is_within_and_outside_is_above_or_below():
    assert compare(0.62, 0.60, 0.03)["verdict"] == "within"
    assert compare(0.65, 0.60, 0.03)["verdict"] == "above"
    assert compare(0.55, 0.60, 0.03)["verdict"] == "below"
    assert compare(0.65, 0.60, None)["verdict"] == "unmeasured"
    c = compare_accuracies(0.6155, 0.625, 2000)  # hw6.q4 quick, seed 0: the searched model vs the smallest
    assert c["verdict"] == "within" and c["diff"] == pytest.approx(-0.0095) and c["band"] == pytest.approx(0.0305, abs=1e-3)


def test_seeds_give_the_band_only_from_two_seeds_on():
    assert seeds_band([0.3], [0.2]) is None
    assert compare_seeds([0.30, 0.31, 0.32], [0.26, 0.27, 0.28])["verdict"] == "above"
    assert compare_seeds([0.30, 0.20, 0.40], [0.26, 0.27, 0.28])["verdict"] == "within"
    one = compare_runs([0.70], [0.669], 600)  # one seed: the binomial band on the test images instead
    assert one["seeds"] == 1 and one["band"] == pytest.approx(accuracy_band(0.70, 0.669, 600))
    assert compare_runs([0.70, 0.69, 0.68], [0.669] * 3, 600)["verdict"] == "above"
