"""hw6.q2 constants and settings: the two BERT sizes of the paper, the encoder's components and how their
layers are named, the paper's rounded sizes; no training and no randomness, the same in every profile."""

from __future__ import annotations

from dataclasses import dataclass

from dlgrade.kit.config import Config as BaseConfig, ConfigError
from dlgrade.profiles import PROFILES

SANDBOX_SAFE = True

# Devlin et al. (2019), table 1: L layers, H hidden, A heads; F = 4H; WordPiece vocabulary, 512 positions, 2 segments.
BERT_SIZES = {
    "base": {"layers": 12, "hidden": 768, "heads": 12, "ffn": 3072, "vocab": 30522, "positions": 512, "segments": 2},
    "large": {"layers": 24, "hidden": 1024, "heads": 16, "ffn": 4096, "vocab": 30522, "positions": 512, "segments": 2},
}
REFERENCE = {"base": 110_000_000, "large": 340_000_000}  # the paper's rounded sizes
COMPONENTS = ("embeddings", "attention", "feed_forward", "layer_norms", "pooler")
# A layer of the encoder belongs to the component its name starts with (build_bert_encoder names them so).
COMPONENT_PREFIXES = (("embeddings_", "embeddings"), ("attention_", "attention"), ("feed_forward_", "feed_forward"),
                      ("norm_", "layer_norms"), ("pooler", "pooler"))
# The closed form per component (V vocabulary, P positions, S segments, H hidden, F feed-forward, L layers).
FORMULA = {"embeddings": "(V + P + S) * H", "attention": "L * 4 * (H^2 + H)", "feed_forward": "L * (2 * H * F + F + H)",
           "layer_norms": "(1 + 2L) * 2H", "pooler": "H^2 + H"}
SEED_OFFSETS: dict[str, int] = {}  # nothing random is measured: parameter counts do not depend on the weights


def check_sizes(layers: int, hidden: int, heads: int, ffn: int, vocab: int, positions: int, segments: int) -> None:
    """Raise ValueError unless every size is a positive int and ``heads`` divides ``hidden``."""
    values = {"layers": layers, "hidden": hidden, "heads": heads, "ffn": ffn, "vocab": vocab,
              "positions": positions, "segments": segments}
    bad = {k: v for k, v in values.items() if not isinstance(v, int) or isinstance(v, bool) or v < 1}
    if bad:
        raise ValueError(f"BERT sizes must be positive integers, got {bad}")
    if hidden % heads:
        raise ValueError(f"hidden size {hidden} is not divisible by the number of heads {heads}")


@dataclass(frozen=True)
class Config(BaseConfig):
    """Attributes:
        sizes: which of ``BERT_SIZES`` are built and counted (names from ``base``, ``large``).
    """

    sizes: tuple[str, ...]

    def __post_init__(self) -> None:
        super().__post_init__()
        unknown = [s for s in self.sizes if s not in BERT_SIZES]
        if unknown or not self.sizes:
            raise ConfigError(f"Config.sizes: expected a non-empty selection of {list(BERT_SIZES)}, got {list(self.sizes)}")


CONFIGS = {p: Config(sizes=("base", "large")) for p in PROFILES}

WORDS = {
    "column": {
        "model": {"en": "model", "fa": "مدل"},
        "layers": {"en": "layers L", "fa": "لایه‌ها L"},
        "hidden": {"en": "hidden H", "fa": "بعد پنهان H"},
        "heads": {"en": "heads", "fa": "سرها"},
        "head_dim": {"en": "head dim", "fa": "بعد هر سر"},
        "ffn": {"en": "feed-forward F", "fa": "پیش‌خور F"},
        "keras_params": {"en": "Keras params", "fa": "پارامتر در کراس"},
        "closed_form": {"en": "closed form", "fa": "فرمول بسته"},
        "paper": {"en": "paper (rounded)", "fa": "مقاله (گرد شده)"},
        "build_seconds": {"en": "build time (s)", "fa": "زمان ساخت (ثانیه)"},
        "component": {"en": "component", "fa": "جزء"},
        "base_params": {"en": "base params", "fa": "پارامتر base"},
        "base_share": {"en": "base %", "fa": "درصد base"},
        "large_params": {"en": "large params", "fa": "پارامتر large"},
        "large_share": {"en": "large %", "fa": "درصد large"},
    },
    "value": {
        "base": {"en": "base", "fa": "base"},
        "large": {"en": "large", "fa": "large"},
        "embeddings": {"en": "embeddings", "fa": "جاسازی‌ها"},
        "attention": {"en": "attention", "fa": "توجه چندسره"},
        "feed_forward": {"en": "feed-forward", "fa": "پیش‌خور"},
        "layer_norms": {"en": "layer norms", "fa": "نرمال‌سازی‌های لایه‌ای"},
        "pooler": {"en": "pooler", "fa": "pooler"},
        "unassigned": {"en": "in no component", "fa": "بیرون از اجزا"},
        "total": {"en": "total", "fa": "جمع"},
    },
    "caption": {
        "configs": {"en": "Configurations and total parameters", "fa": "پیکربندی‌ها و کل پارامترها"},
        "breakdown": {"en": "Parameters per component (layer norms include the embedding LayerNorm)",
                      "fa": "پارامترها به تفکیک جزء (نرمال‌سازی‌های لایه‌ای شامل LayerNorm جاسازی هم هست)"},
    },
    "heading": {
        "theory": {"en": "Theory", "fa": "مبانی نظری"},
    },
}


# The numbers the report shows side by side (this run, the shipped full run, the reference report): metric, REFERENCE key
# (a dotted path into the reference's nested numbers).
HEADLINE = (("base.params", "base"), ("large.params", "large"))
