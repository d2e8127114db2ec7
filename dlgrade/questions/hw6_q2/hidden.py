"""Hidden checks for hw6.q2: the closed-form BERT parameter count."""

from __future__ import annotations

from dlgrade.kit.hidden import CheckFailed, Partial, hidden_check

SIZES = {"base": (12, 768, 12, 3072), "large": (24, 1024, 16, 4096), "tiny": (2, 64, 4, 128)}


@hidden_check("param_count_values", 3, ("bert_param_count",),
              {"en": "bert_param_count gives the reference count for BERT-base, BERT-large and a tiny configuration (1 point each).",
               "fa": "bert_param_count برای BERT-base، BERT-large و یک پیکربندی کوچک همان شمار مرجع را می‌دهد (هر کدام ۱ امتیاز)."},
              {"en": "Count embeddings (token, position, segment, LayerNorm), per layer attention Q/K/V/O with biases, two LayerNorms and the FFN, plus the pooler.",
               "fa": "تعبیه‌ها (توکن، موقعیت، سگمنت و LayerNorm)، در هر لایه Q/K/V/O با بایاس، دو LayerNorm و FFN و در پایان pooler را بشمارید."})
def param_count_values(f, ref):
    good, wrong = 0, []
    for name, cfg in SIZES.items():
        got = f.bert_param_count(*cfg)
        if isinstance(got, bool) or not isinstance(got, (int, float)) and not hasattr(got, "__int__"):
            raise CheckFailed(f"bert_param_count returned {type(got).__name__}, expected an int", "wrong_type")
        want = ref.bert_param_count(*cfg)
        if int(got) == want:
            good += 1
        else:
            wrong.append(f"{name}: {int(got):,} instead of {want:,}")
    if good == 0:
        raise CheckFailed("; ".join(wrong))
    return Partial(good / len(SIZES), "; ".join(wrong)) if wrong else None
