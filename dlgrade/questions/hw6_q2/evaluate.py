"""hw6.q2 measurements: the closed form per component, the Keras layers sorted into components, and the
rows of the report's tables."""

from __future__ import annotations

from typing import Mapping, Sequence

from .spec import BERT_SIZES, COMPONENT_PREFIXES, COMPONENTS, REFERENCE, check_sizes


def bert_param_breakdown(layers: int, hidden: int, heads: int, ffn: int, vocab: int = 30522,
                         positions: int = 512, segments: int = 2) -> dict[str, int]:
    """Closed-form parameter count of a BERT encoder per component of ``COMPONENTS``, and ``total``.

    Example:
        >>> bert_param_breakdown(12, 768, 12, 3072)["total"]
        109482240
    """
    check_sizes(layers, hidden, heads, ffn, vocab, positions, segments)
    h = hidden
    parts = {
        "embeddings": (vocab + positions + segments) * h,
        "attention": layers * 4 * (h * h + h),
        "feed_forward": layers * (h * ffn + ffn + ffn * h + h),
        "layer_norms": (1 + 2 * layers) * 2 * h,
        "pooler": h * h + h,
    }
    parts["total"] = sum(parts.values())
    return parts


def per_layer_params(size: str) -> int:
    """Parameters of one encoder block of ``size`` (attention, feed-forward and its two LayerNorms)."""
    cfg = BERT_SIZES[size]
    f = bert_param_breakdown(**cfg)
    return (f["attention"] + f["feed_forward"]) // cfg["layers"] + 4 * cfg["hidden"]


def component_of(layer_name: str) -> str | None:
    """The component a layer belongs to by its name's prefix (None when the name fits none)."""
    for prefix, comp in COMPONENT_PREFIXES:
        if layer_name.startswith(prefix):
            return comp
    return None


def component_counts(names: Sequence[str], params: Sequence[int], count_params: int) -> dict[str, int]:
    """Parameters per component, ``total`` (Keras' count of the model) and ``unassigned`` (those of layers
    whose names fit no component, or that Keras counts outside the layers listed)."""
    parts = {c: 0 for c in COMPONENTS}
    for name, n in zip(names, params):
        comp = component_of(name)
        if comp is not None:
            parts[comp] += int(n)
    parts["total"] = int(count_params)
    parts["unassigned"] = parts["total"] - sum(parts[c] for c in COMPONENTS)
    return parts


def config_row(size: str, counts: Mapping[str, int], build_seconds: float) -> list:
    """``[model, layers, hidden, heads, head_dim, ffn, keras_params, closed_form, paper, build_seconds]``."""
    cfg = BERT_SIZES[size]
    return [size, cfg["layers"], cfg["hidden"], cfg["heads"], cfg["hidden"] // cfg["heads"], cfg["ffn"],
            counts["total"], bert_param_breakdown(**cfg)["total"], REFERENCE[size], round(build_seconds, 1)]


def shares(counts: Mapping[str, int]) -> dict[str, float]:
    """Each component's share of the model in percent (2 decimals), ``unassigned`` included."""
    total = counts["total"]
    return {c: round(100 * counts[c] / total, 2) if total else 0.0 for c in (*COMPONENTS, "unassigned")}


def breakdown_rows(counts: Mapping[str, Mapping[str, int]]) -> list[list]:
    """``[component, <size> params, <size> %, ...]`` per component, an ``unassigned`` row when any size has
    parameters outside the components, and ``total``."""
    names = list(COMPONENTS) + (["unassigned"] if any(c["unassigned"] for c in counts.values()) else []) + ["total"]
    rows = []
    for comp in names:
        row: list = [comp]
        for c in counts.values():
            row += [c[comp], round(100 * c[comp] / c["total"], 2) if c["total"] else 0.0]
        rows.append(row)
    return rows
