"""hw14.q1's run: load GloVe into gensim, then neighbours, distances (student's ``cosine_distance``), analogies
(student's ``analogy``), PCA maps, WEAT (student's ``weat_effect_size``) and the gender direction."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from dlgrade.kit import plots
from dlgrade.kit.question import Question, Step, TrainStep
from dlgrade.kit.runner import StepFailed, expect_output

from . import evaluate, figures, reference, train
from .spec import HEADLINE
from .spec import (ANALOGIES, CALF, CALF_MAP, CONFIGS, DISTANCE_TRIPLES, EXTREMES, GENDER_PAIRS, MAPS, NEIGHBOUR_RANKS,
                   OCCUPATIONS, PROJECTED, REFERENCE, REFERENCE_DIM, REFERENCE_NAME, SEED_OFFSETS, SIGNIFICANCE,
                   SIMILAR_WORDS, VECTORS, WEAT_TESTS, WORDS, all_words)
from .vocab import require_words


def load_vectors(ctx, got) -> dict:
    data = ctx.data.load(VECTORS)
    return {"words": data["words"], "vectors": data["vectors"]}


def index_vectors(ctx, got) -> dict:
    """The KeyedVectors, the full-vocabulary scorer, and the vectors of every word the question looks up."""
    t0 = time.perf_counter()
    kv = train.build_keyed_vectors(got["data"]["words"], got["data"]["vectors"])
    build_s = time.perf_counter() - t0
    require_words(kv, all_words(), where="hw14.q1 word lists")
    dim = int(kv.vector_size)
    ctx.result.metrics.update({"vectors.dim": dim, "vectors.count": len(kv.key_to_index), "timing.keyedvectors_build_s": round(build_s, 3)})
    ctx.result.facts.update({"vectors": {"dataset": VECTORS, "dim": dim, "words": len(kv.key_to_index), "reference_name": REFERENCE_NAME,
                                         "reference_dim": REFERENCE_DIM, "same_as_reference": dim == REFERENCE_DIM},
                             "reference": REFERENCE, "topn": ctx.config.topn})
    scorer = evaluate.Scorer(kv)
    scorer.prefetch([w for a in ANALOGIES for w in a if w] + list(CALF) + [q for q, _ in NEIGHBOUR_RANKS])
    return {"kv": kv, "scorer": scorer, "word_vectors": {w: kv[w] for w in all_words()},
            "weat_vectors": {n: {k: np.array([kv[w] for w in t[k]], dtype=np.float64) for k in "XYAB"} for n, t in WEAT_TESTS.items()}}


def similar_words(ctx, got) -> None:
    kv, scorer, topn, r = got["vectors"]["kv"], got["vectors"]["scorer"], ctx.config.topn, ctx.result
    similar = {w: [[str(s), float(c)] for s, c in kv.most_similar(w, topn=topn)] for w in SIMILAR_WORDS}
    r.add_table("similar_words", ["rank"] + [c for w in SIMILAR_WORDS for c in (w, f"{w}_cosine")],
                [[i + 1] + [x for w in SIMILAR_WORDS for x in (similar[w][i][0], round(similar[w][i][1], 4))] for i in range(topn)])
    for w in SIMILAR_WORDS:
        r.metrics.update({f"similar.{w}.top1": similar[w][0][0], f"similar.{w}.top1_cosine": similar[w][0][1]})
    for w, other in NEIGHBOUR_RANKS:
        r.metrics[f"similar.{w}.{other}_rank"] = scorer.rank(scorer.cosines(w), other, (w,))
        r.metrics[f"similar.{w}.{other}_cosine"] = float(kv.similarity(w, other))
    r.facts.update({"similar": similar, "similar_queries": list(SIMILAR_WORDS),
                    "similar_rows": [{"rank": i + 1, "cells": [{"word": similar[w][i][0], "cosine": similar[w][i][1]} for w in SIMILAR_WORDS]}
                                     for i in range(topn)],
                    "tehran_first": r.metrics["similar.iran.tehran_rank"] == 1, "daughter_first": r.metrics["similar.mother.daughter_rank"] == 1,
                    "notebook_neighbours": [w for w, _ in similar["notebook"][:6]]})


def random_pairs(ctx, got) -> dict:
    cfg = ctx.config
    base = evaluate.random_pair_distances(got["vectors"]["scorer"].unit, cfg.baseline_vocab, cfg.baseline_pairs, ctx.seeds["random_pairs"])
    ctx.result.metrics.update({"distance.random_pair_mean": float(base.mean()), "distance.random_pair_std": float(base.std())})
    return {"mean": float(base.mean()), "std": float(base.std())}


def evaluate_distances(ctx, got) -> None:
    kv, r = got["vectors"]["kv"], ctx.result
    d = expect_output(got["distances"]["distances"], "distances", "the cosine distances", (len(DISTANCE_TRIPLES), 2))
    rows, worst, closer = [], 0.0, {}
    for (w, near, far), (dn, df) in zip(DISTANCE_TRIPLES, d.tolist()):
        worst = max(worst, abs(dn - float(kv.distance(w, near))), abs(df - float(kv.distance(w, far))))
        ref = REFERENCE["distances"][w]
        rows.append([w, near, round(dn, 4), far, round(df, 4), bool(dn < df), ref["near"], ref["far"]])
        r.metrics.update({f"distance.{w}.near": dn, f"distance.{w}.far": df, f"distance.{w}.near_is_nearer": bool(dn < df)})
        closer[w] = df < got["random_pairs"]["mean"] - got["random_pairs"]["std"]
    r.metrics["distance.max_abs_diff_gensim"] = worst
    r.add_table("distances", ["word", "near_word", "near_distance", "far_word", "far_distance", "near_is_nearer",
                              "reference_near", "reference_far"], rows)
    r.facts["far_closer_than_random"] = closer  # the far word is more than one std nearer than two random words


def evaluate_analogies(ctx, got) -> None:
    out, kv, scorer, topn, r = got["analogies"], got["vectors"]["kv"], got["vectors"]["scorer"], ctx.config.topn, ctx.result
    records = evaluate.analogy_records(out.get("analogies") if isinstance(out, dict) else None, ANALOGIES, kv, scorer, topn)
    r.metrics.update(evaluate.analogy_metrics(records))
    r.add_table("analogies", ["direction", "query", "expected", "top1_add", "top1_add_score", "rank_add", "top1_cosmul",
                              "top1_cosmul_score", "rank_cosmul"],
                [[x["direction"], x["query"], x["expected"], x["top1_add"], round(x["top1_add_score"], 4), x["rank_add"],
                  x["top1_cosmul"], round(x["top1_cosmul_score"], 4), x["rank_cosmul"]] for x in records])
    r.add_table("analogies_top", ["query", "scoring", "rank", "word", "score"],
                [[x["query"], s, i + 1, w, v] for x in records for s in ("add", "cosmul") for i, (w, v) in enumerate(x[s])])
    by_key = {x["key"]: x for x in records}
    r.facts.update({"analogies": records, "analogy": by_key,  # words 3CosMul ranks high for homemaker - he + she:
                    "cosmul_rare_examples": [w for w, _ in by_key["homemaker.forward"]["cosmul"][1:4]]})
    cow, young, old, calf = CALF
    calf_out = out.get("calf") if isinstance(out.get("calf"), dict) else {}
    add, mul = (evaluate.expect_answers(calf_out.get(k), "analogies", f"calf {k}", topn) for k in ("add", "cosmul"))
    r.add_table("calf", ["rank", "add_word", "add_cosine", "cosmul_word", "cosmul_score"],
                [[i + 1, add[i][0], round(add[i][1], 4), mul[i][0], round(mul[i][1], 4)] for i in range(topn)])
    r.metrics.update(evaluate.calf_metrics(add, mul, (cow, young, old), calf, REFERENCE["calf_top1"], scorer))
    probe, message = ctx.config.unknown_word, (out.get("unknown_word") or {}).get("message", "")
    if not isinstance(message, str):
        raise StepFailed("analogies", "wrong_type", f"the unknown-word probe's message is a {type(message).__name__}, not text")
    r.facts["bad_input"] = {"call": f"analogy(kv, 'king', {probe!r}, 'man')", "message": message}
    r.metrics["bad_input.unknown_word_named"] = evaluate.names_word(message, probe)


def pca_maps(ctx, got) -> None:
    kv, r = got["vectors"]["kv"], ctx.result
    for name, spec in MAPS.items():
        words = [w for ws in spec["groups"].values() for w in ws]
        extra = None
        if name == CALF_MAP:  # the calf analogy's point and gensim's answer to it
            cow, young, old, _ = CALF
            top1 = kv.most_similar(positive=[cow, young], negative=[old], topn=ctx.config.topn)[0][0]
            extra = {f"{cow} \u2212 {old} + {young}": kv[cow] - kv[old] + kv[young], top1: kv[top1]}
        points, stars, explained = evaluate.pca_projection(np.array([kv[w] for w in words], dtype=np.float64), extra)
        plots.draw(ctx.figure(f"pca_{name}", f"pca_{name}.png"), figures.pca_map, dict(zip(words, points)), spec["groups"],
                   spec["arrows"], stars, explained, name, answer=top1 if extra else None)
        info = r.facts.setdefault("maps", {})[name] = evaluate.map_geometry(kv, spec["groups"], spec["arrows"], explained)
        r.metrics.update({f"pca.{name}.explained_variance_2d": info["explained_variance_2d"], f"pca.{name}.separation_1nn": info["separation_1nn"],
                          **{f"pca.{name}.parallelism_{k}": v for k, v in info["parallelism"].items()}})
    r.metrics["pca.maps"] = len(r.facts["maps"])


def evaluate_weat(ctx, got) -> None:
    cfg, vecs, r = ctx.config, got["vectors"]["weat_vectors"], ctx.result
    sizes = expect_output(got["weat"]["effect_sizes"], "weat", "the WEAT effect sizes", (len(WEAT_TESTS),))
    rows = []
    for name, d in zip(WEAT_TESTS, sizes.tolist()):
        X, Y, A, B = (vecs[name][k] for k in "XYAB")
        p, n_used = evaluate.weat_p_value(X, Y, A, B, cfg.weat_permutations, ctx.seeds["weat_permutations"])
        ref = REFERENCE["weat"][name]
        rows.append({"test": name, "effect_size": d, "p_value": p, "partitions": n_used, "caliskan_d": ref["d"], "caliskan_p": ref["p"],
                     "significant": p <= SIGNIFICANCE, "extreme_splits": int(round(p * n_used))})
        r.metrics.update({f"weat.{name}.effect_size": d, f"weat.{name}.p_value": p, f"weat.{name}.partitions": n_used,
                          f"weat.{name}.effect_size_abs_error": abs(d - reference.weat_effect_size(X, Y, A, B))})
    r.add_table("weat", ["test", "effect_size", "p_value", "partitions", "caliskan_d", "caliskan_p"],
                [[x["test"], round(x["effect_size"], 4), x["p_value"], x["partitions"], x["caliskan_d"], x["caliskan_p"]] for x in rows])
    r.facts.update({"weat": {n: {k: list(t[k]) for k in "XYAB"} for n, t in WEAT_TESTS.items()}, "weat_rows": rows,
                    "weat_result": {x["test"]: x for x in rows}, "weat_exact": cfg.weat_permutations is None,
                    "weat_permutations": cfg.weat_permutations, "weat_seed": ctx.seeds["weat_permutations"], "significance": SIGNIFICANCE})


def gender(ctx, got) -> None:
    kv, r = got["vectors"]["kv"], ctx.result
    direction, explained = evaluate.gender_direction(kv, GENDER_PAIRS)
    he_she = evaluate.unit(kv["she"] - kv["he"])
    proj = {o: float(evaluate.unit(kv[o]) @ direction) for o in OCCUPATIONS}
    plots.draw(ctx.figure("gender_projection", "gender_projection.png"), figures.projection_plot, proj, len(GENDER_PAIRS))
    ranked = sorted(proj.items(), key=lambda kv_: -kv_[1])
    r.add_table("gender_projection", ["occupation", "projection", "projection_she_he"],
                [[o, round(v, 4), round(float(evaluate.unit(kv[o]) @ he_she), 4)] for o, v in ranked])
    female_side = [o for o, v in ranked if v > 0]
    r.metrics.update({"gender.pc1_explained": explained, "gender.direction_cosine_she_he": float(direction @ he_she),
                      **{f"gender.projection.{o}": proj[o] for o in PROJECTED},
                      "gender.nurse_minus_doctor": proj["nurse"] - proj["doctor"],
                      "gender.homemaker_minus_engineer": proj["homemaker"] - proj["engineer"],
                      "gender.female_side_share": len(female_side) / len(proj)})
    most_female = [o for o, _ in ranked[:EXTREMES]]
    r.facts.update({"gender": {"pairs": [list(p) for p in GENDER_PAIRS], "most_female": most_female,
                               "most_male": [o for o, _ in ranked[::-1][:EXTREMES]], "female_side": female_side},
                    "homemaker_most_female": most_female[0] == "homemaker", "secretary_on_he_side": proj["secretary"] < 0})


QUESTION = Question(
    id="hw14.q1",
    title={"en": "GloVe word vectors: neighbours, analogies, PCA maps and a gender-bias test",
           "fa": "بردارهای واژهٔ GloVe: همسایه‌ها، قیاس‌ها، نقشه‌های PCA و آزمون سوگیری جنسیتی"},
    datasets=(VECTORS,),
    configs=CONFIGS,
    steps=(
        Step("data", load_vectors),
        Step("vectors", index_vectors, needs=("data",)),
        Step("similar", similar_words, needs=("vectors",)),
        Step("random_pairs", random_pairs, needs=("vectors",)),
        TrainStep("distances", train.distances, inputs=("vectors.word_vectors",), uses=("cosine_distance",)),
        Step("evaluate_distances", evaluate_distances, needs=("vectors", "random_pairs", "distances")),
        TrainStep("analogies", train.analogies, inputs=("data.words", "data.vectors"), uses=("analogy",)),
        Step("evaluate_analogies", evaluate_analogies, needs=("vectors", "analogies")),
        Step("maps", pca_maps, needs=("vectors",)),
        TrainStep("weat", train.weat, inputs=("vectors.weat_vectors",), uses=("weat_effect_size",)),
        Step("evaluate_weat", evaluate_weat, needs=("vectors", "weat")),
        Step("gender", gender, needs=("vectors",)),
    ),
    student_functions=("cosine_distance", "analogy", "weat_effect_size"),
    seed_offsets=SEED_OFFSETS,
    package=__package__,
    folder=Path(__file__).parent,
    words=WORDS,
    unchecked={"analogy": "it takes a gensim KeyedVectors, which cannot cross the sandbox boundary as data; the analogies "
                          "step runs it on the real vectors and the rubric grades its answers"},
    headline=HEADLINE,
)
