"""Hidden checks for hw14.q3: balanced class weights."""

from __future__ import annotations

import numpy as np

from dlgrade.kit.hidden import CheckFailed, expect_array, expect_close, hidden_check


@hidden_check("class_weights_values", 2, ("class_weights",),
              {"en": "class_weights gives n / (classes * count) per class, 0 for an absent class.",
               "fa": "class_weights برای هر کلاس n / (classes * count) و برای کلاس غایب صفر می‌دهد."},
              {"en": "Count each class with np.bincount(labels, minlength=num_classes).",
               "fa": "شمار هر کلاس را با np.bincount(labels, minlength=num_classes) بگیرید."})
def class_weights_values(f, ref):
    labels = np.array([0, 0, 0, 1, 2, 2, 4, 4, 4, 4])
    got = expect_array(f.class_weights(labels.copy(), 6), "class_weights", (6,))
    expect_close(got, ref.class_weights(labels, 6), "class_weights", 1e-9)


@hidden_check("class_weights_bad_labels", 1, ("class_weights",),
              {"en": "class_weights raises ValueError for empty labels and for labels outside 0..num_classes-1.",
               "fa": "class_weights برای برچسب‌های خالی یا بیرون از بازهٔ ۰ تا num_classes-1 خطای ValueError می‌دهد."},
              requires=("class_weights_values",))
def class_weights_bad_labels(f, ref):
    for bad in (np.array([], dtype=int), np.array([0, 1, 9])):
        try:
            f.class_weights(bad, 3)
        except ValueError:
            continue
        raise CheckFailed(f"class_weights({bad.tolist()}, 3) did not raise ValueError")
