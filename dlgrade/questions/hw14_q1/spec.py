"""hw14.q1 constants and settings: the vectors, the homework's word lists, the extra bias tests, and the words
the report shows for their codes.

The vectors are GloVe 6B (Wikipedia 2014 + Gigaword 5) in **50 dimensions** (dataset ``glove-6b-50d``). The
reference report used gensim's ``glove-wiki-gigaword-100`` (the same corpus in 100 dimensions), which cannot be
had offline here; every number of the question is measured on the 50-d vectors.
"""

from __future__ import annotations

from dataclasses import dataclass

from dlgrade.kit.config import Config as BaseConfig

SANDBOX_SAFE = True

VECTORS = "glove-6b-50d"
VECTORS_NAME = "GloVe 6B 50d"  # how error messages name the vectors
REFERENCE_NAME = "glove-wiki-gigaword-100"
REFERENCE_DIM = 100

SIMILAR_WORDS = ("john", "iran", "laptop", "notebook", "mother")
# Where the expected neighbour ranks among all words: (query, neighbour).
NEIGHBOUR_RANKS = (("iran", "tehran"), ("mother", "daughter"), ("notebook", "laptop"))
# (word, nearer, farther): the homework expects d(word, nearer) < d(word, farther).
DISTANCE_TRIPLES = (("john", "alex", "iran"), ("laptop", "mac", "diary"), ("glass", "water", "foot"))
# (a, b, c, expected): a - c + b, as the homework writes it (king - man + woman -> queen).
ANALOGIES = (
    ("king", "woman", "man", "queen"),
    ("actor", "girl", "boy", "actress"),
    ("doctor", "she", "he", "nurse"),
    ("homemaker", "she", "he", "housewife"),
    ("football", "woman", "man", None),
)
CALF = ("cow", "young", "old", "calf")  # cow - old + young -> calf (the reference got "mad")
CALF_REFERENCE_ANSWER = "mad"

# Word groups of the five PCA maps (codes; their words are in WORDS). ``arrows``: (from, to, kind) drawn as arrows.
MAPS = {
    "gender_age": {
        "groups": {"male": ("man", "boy", "king", "prince", "father", "son", "uncle", "actor"),
                   "female": ("woman", "girl", "queen", "princess", "mother", "daughter", "aunt", "actress")},
        "arrows": tuple((m, f, "gender") for m, f in (("man", "woman"), ("boy", "girl"), ("king", "queen"), ("prince", "princess"),
                                                      ("father", "mother"), ("son", "daughter"), ("uncle", "aunt"), ("actor", "actress")))
                  + tuple((y, o, "age") for y, o in (("boy", "man"), ("girl", "woman"), ("son", "father"), ("daughter", "mother"))),
    },
    "singular_plural": {
        "groups": {"singular": ("man", "woman", "child"), "plural": ("men", "women", "children")},
        "arrows": (("man", "men", "plural"), ("woman", "women", "plural"), ("child", "children", "plural")),
    },
    "colours_animals_countries": {
        "groups": {"colours": ("red", "green", "blue", "yellow", "orange", "purple"),
                   "animals": ("dog", "cat", "horse", "lion", "tiger", "cow"),
                   "countries": ("iran", "france", "germany", "china", "japan", "brazil")},
        "arrows": (),
    },
    "electronics_kitchen_body": {
        "groups": {"electronics": ("laptop", "computer", "phone", "television", "camera", "keyboard"),
                   "kitchen": ("knife", "fork", "spoon", "plate", "pan", "oven"),
                   "body_parts": ("hand", "foot", "head", "arm", "leg", "eye")},
        "arrows": (),
    },
    "calf_analogy": {
        "groups": {"adult": ("cow", "dog", "cat", "sheep", "horse"), "young": ("calf", "puppy", "kitten", "lamb", "foal"),
                   "age_words": ("old", "young")},
        "arrows": tuple((a, y, "adult_to_young") for a, y in (("cow", "calf"), ("dog", "puppy"), ("cat", "kitten"),
                                                               ("sheep", "lamb"), ("horse", "foal")))
                  + (("old", "young", "old_to_young"),),
    },
}
CALF_MAP = "calf_analogy"  # the map that also shows the point cow - old + young and its nearest word

# WEAT word sets, as listed by Caliskan et al. (2017), tests 6, 7 and 8 (lowercased for GloVe).
WEAT_TESTS = {
    "career_family": {
        "X": ("john", "paul", "mike", "kevin", "steve", "greg", "jeff", "bill"),
        "Y": ("amy", "joan", "lisa", "sarah", "diana", "kate", "ann", "donna"),
        "A": ("executive", "management", "professional", "corporation", "salary", "office", "business", "career"),
        "B": ("home", "parents", "children", "family", "cousins", "marriage", "wedding", "relatives"),
    },
    "math_arts": {
        "X": ("male", "man", "boy", "brother", "he", "him", "his", "son"),
        "Y": ("female", "woman", "girl", "sister", "she", "her", "hers", "daughter"),
        "A": ("math", "algebra", "geometry", "calculus", "equations", "computation", "numbers", "addition"),
        "B": ("poetry", "art", "dance", "literature", "novel", "symphony", "drama", "sculpture"),
    },
    "science_arts": {
        "X": ("brother", "father", "uncle", "grandfather", "son", "he", "his", "him"),
        "Y": ("sister", "mother", "aunt", "grandmother", "daughter", "she", "hers", "her"),
        "A": ("science", "technology", "physics", "chemistry", "einstein", "nasa", "experiment", "astronomy"),
        "B": ("poetry", "art", "shakespeare", "dance", "literature", "novel", "symphony", "drama"),
    },
}
SIGNIFICANCE = 0.05  # the level the discussion calls a WEAT p-value significant at

# Definitional pairs (female, male) for the gender direction (Bolukbasi et al., 2016).
GENDER_PAIRS = (("she", "he"), ("her", "his"), ("woman", "man"), ("mary", "john"), ("herself", "himself"),
                ("daughter", "son"), ("mother", "father"), ("gal", "guy"), ("girl", "boy"), ("female", "male"))
OCCUPATIONS = ("homemaker", "housewife", "nurse", "receptionist", "librarian", "hairdresser", "nanny", "secretary",
               "dancer", "teacher", "designer", "cashier", "chef", "accountant", "lawyer", "doctor", "professor",
               "scientist", "manager", "surgeon", "programmer", "engineer", "architect", "pilot", "mechanic",
               "carpenter", "plumber", "firefighter", "soldier", "captain")
PROJECTED = ("nurse", "doctor", "homemaker", "engineer")  # occupations whose projections are metrics
EXTREMES = 5  # how many most she-side / he-side occupations the discussion names

REFERENCE = {
    "similar": {"iran": {"tehran": 0.80, "iranian": 0.79}, "mother": {"daughter": 0.86}},  # cosine similarities
    "distances": {"john": {"near": 0.68, "far": 0.95}, "laptop": {"near": 0.69, "far": 0.74}, "glass": {"near": 0.60, "far": 0.72}},
    "calf_top1": CALF_REFERENCE_ANSWER,
    "vectors": REFERENCE_NAME,
    # Caliskan et al. (2017) on GloVe 840B: effect size and p-value as they print it.
    "weat": {"career_family": {"d": 1.81, "p": "< 0.001"}, "math_arts": {"d": 1.06, "p": "0.018"},
             "science_arts": {"d": 1.24, "p": "0.01"}},
}
SEED_OFFSETS = {"random_pairs": 0, "weat_permutations": 0}


@dataclass(frozen=True)
class Config(BaseConfig):
    """Attributes:
        topn: how many neighbours / analogy answers are listed.
        weat_permutations: random equal splits for the WEAT p-values (None: the exact test over all 12,870).
        unknown_word: the word of the bad-input probe (not in the vocabulary).
        baseline_vocab, baseline_pairs: the random-pair distance baseline draws ``baseline_pairs`` pairs among the
            ``baseline_vocab`` most frequent words.
    """

    topn: int
    weat_permutations: int | None
    unknown_word: str
    baseline_vocab: int
    baseline_pairs: int


# Same vectors and word lists everywhere; profiles differ only in the WEAT permutation count.
CONFIGS = {
    "smoke": Config(topn=10, weat_permutations=2000, unknown_word="tehranistan", baseline_vocab=20000, baseline_pairs=5000),
    "quick": Config(topn=10, weat_permutations=10000, unknown_word="tehranistan", baseline_vocab=20000, baseline_pairs=5000),
    "full": Config(topn=10, weat_permutations=None, unknown_word="tehranistan", baseline_vocab=20000, baseline_pairs=5000),
}


def all_words() -> list[str]:
    """Every word the question looks up, once each, in first-use order."""
    words = list(SIMILAR_WORDS) + [w for t in DISTANCE_TRIPLES for w in t]
    words += [w for a in ANALOGIES for w in a if w] + list(CALF) + [CALF_REFERENCE_ANSWER]
    words += [w for spec in MAPS.values() for g in spec["groups"].values() for w in g]
    words += [w for t in WEAT_TESTS.values() for k in "XYAB" for w in t[k]]
    words += [w for p in GENDER_PAIRS for w in p] + list(OCCUPATIONS)
    return list(dict.fromkeys(words))


WORDS = {
    "column": {
        "rank": {"en": "#", "fa": "#"},
        "word": {"en": "word", "fa": "واژه"},
        "near_word": {"en": "near word", "fa": "واژهٔ نزدیک"},
        "near_distance": {"en": "distance", "fa": "فاصله"},
        "far_word": {"en": "far word", "fa": "واژهٔ دور"},
        "far_distance": {"en": "distance", "fa": "فاصله"},
        "near_is_nearer": {"en": "near < far", "fa": "نزدیک‌تر است؟"},
        "reference_near": {"en": "reference near (100-d)", "fa": "مرجع نزدیک (۱۰۰بعدی)"},
        "reference_far": {"en": "reference far (100-d)", "fa": "مرجع دور (۱۰۰بعدی)"},
        "direction": {"en": "direction", "fa": "جهت"},
        "query": {"en": "query", "fa": "پرسش"},
        "expected": {"en": "expected", "fa": "پاسخ مورد انتظار"},
        "top1_add": {"en": "top-1 (3CosAdd)", "fa": "اولین پاسخ (3CosAdd)"},
        "top1_add_score": {"en": "cosine", "fa": "کسینوس"},
        "rank_add": {"en": "rank of expected", "fa": "رتبهٔ پاسخ مورد انتظار"},
        "top1_cosmul": {"en": "top-1 (3CosMul)", "fa": "اولین پاسخ (3CosMul)"},
        "top1_cosmul_score": {"en": "score", "fa": "امتیاز"},
        "rank_cosmul": {"en": "rank of expected", "fa": "رتبهٔ پاسخ مورد انتظار"},
        "scoring": {"en": "scoring", "fa": "امتیازدهی"},
        "answers": {"en": "answers (score)", "fa": "پاسخ‌ها (امتیاز)"},
        "add_word": {"en": "3CosAdd", "fa": "3CosAdd"},
        "add_cosine": {"en": "cosine", "fa": "کسینوس"},
        "cosmul_word": {"en": "3CosMul", "fa": "3CosMul"},
        "cosmul_score": {"en": "score", "fa": "امتیاز"},
        "map": {"en": "map", "fa": "نقشه"},
        "explained_variance_2d": {"en": "variance kept by the 2-D map", "fa": "سهم واریانس حفظ‌شده در نقشهٔ دوبعدی"},
        "separation_1nn": {"en": "nearest word in the same group", "fa": "نزدیک‌ترین واژه در همان گروه"},
        "parallelism": {"en": "arrows parallel (mean cosine of offsets)", "fa": "هم‌جهتی پیکان‌ها (میانگین کسینوس جابه‌جایی‌ها)"},
        "test": {"en": "test", "fa": "آزمون"},
        "effect_size": {"en": "effect size d", "fa": "اندازهٔ اثر d"},
        "p_value": {"en": "p-value (one-sided)", "fa": "مقدار p (یک‌طرفه)"},
        "partitions": {"en": "partitions", "fa": "تعداد تقسیم‌ها"},
        "caliskan_d": {"en": "Caliskan et al. d (GloVe 840B)", "fa": "d کالیسکان و همکاران (GloVe 840B)"},
        "caliskan_p": {"en": "Caliskan et al. p", "fa": "p کالیسکان و همکاران"},
        "occupation": {"en": "occupation", "fa": "شغل"},
        "projection": {"en": "projection (she side +)", "fa": "تصویر (سمت she مثبت)"},
        "projection_she_he": {"en": "projection on she − he", "fa": "تصویر روی \u2066she − he\u2069"},
    },
    "caption": {
        "similar": {"en": "The nearest words (cosine similarity)", "fa": "واژه‌های نزدیک‌تر (شباهت کسینوسی)"},
        "distances": {"en": "Cosine distances (1 − cosine); the near word should be nearer",
                      "fa": "فاصله‌های کسینوسی (یک منهای کسینوس)؛ واژهٔ نزدیک باید نزدیک‌تر باشد"},
        "analogies": {"en": "Analogies a − c + b in both directions: the first answer and where the expected word ranks",
                      "fa": "قیاس‌های \u2066a − c + b\u2069 در هر دو جهت: اولین پاسخ و رتبهٔ واژهٔ مورد انتظار"},
        "analogies_top": {"en": "The best answers of each analogy, with their scores", "fa": "پاسخ‌های برتر هر قیاس همراه با امتیازشان"},
        "calf": {"en": "cow − old + young (expected calf; the reference got mad)",
                 "fa": "\u2066cow − old + young\u2069 (پاسخ مورد انتظار calf؛ مرجع به mad رسیده بود)"},
        "pca_gender_age": {"en": "PCA of gender and age pairs; red arrows go from the male to the female word, blue ones from young to adult.",
                           "fa": "PCA جفت‌های جنسیت و سن؛ پیکان‌های قرمز از واژهٔ مردانه به زنانه و پیکان‌های آبی از کودک به بزرگسال‌اند."},
        "pca_singular_plural": {"en": "PCA of singular and plural forms of man, woman and child.",
                                "fa": "PCA شکل مفرد و جمع man، woman و child."},
        "pca_colours_animals_countries": {"en": "PCA of colours, animals and countries.", "fa": "PCA رنگ‌ها، جانوران و کشورها."},
        "pca_electronics_kitchen_body": {"en": "PCA of electronics, kitchen things and body parts.",
                                         "fa": "PCA وسایل الکترونیکی، وسایل آشپزخانه و اعضای بدن."},
        "pca_calf_analogy": {"en": "PCA of adult and young animals with the point cow − old + young and its nearest word (stars).",
                             "fa": "PCA جانوران بالغ و نوزاد، همراه با نقطهٔ \u2066cow − old + young\u2069 و نزدیک‌ترین واژه به آن (ستاره‌ها)."},
        "maps": {"en": "What the maps show, measured in all the vectors' dimensions",
                 "fa": "آنچه نقشه‌ها نشان می‌دهند، اندازه‌گیری‌شده در همهٔ ابعاد بردارها"},
        "weat": {"en": "WEAT: are male targets nearer to the first attribute set than female ones?",
                 "fa": "WEAT: آیا واژه‌های هدف مردانه به مجموعهٔ ویژگی اول نزدیک‌ترند تا واژه‌های زنانه؟"},
        "gender_projection": {"en": "Cosine of each occupation with the gender direction (first principal component of ten centred she/he pairs); positive = she side.",
                              "fa": "کسینوس هر شغل با راستای جنسیت (نخستین مؤلفهٔ اصلی ده جفت she/he مرکزی‌شده)؛ مقدار مثبت یعنی سمت she."},
    },
    "direction": {
        "forward": {"en": "forward", "fa": "رفت"},
        "backward": {"en": "backward", "fa": "برگشت"},
    },
    "scoring": {
        "add": {"en": "3CosAdd", "fa": "3CosAdd"},
        "cosmul": {"en": "3CosMul", "fa": "3CosMul"},
    },
    "answer": {
        "open": {"en": "(open)", "fa": "(باز)"},
    },
    "separator": {"en": "; ", "fa": "؛ "},
    "map": {
        "gender_age": {"en": "Gender and age pairs", "fa": "جفت‌های جنسیت و سن"},
        "singular_plural": {"en": "Singular and plural", "fa": "مفرد و جمع"},
        "colours_animals_countries": {"en": "Colours, animals and countries", "fa": "رنگ‌ها، جانوران و کشورها"},
        "electronics_kitchen_body": {"en": "Electronics, kitchen things and body parts", "fa": "وسایل الکترونیکی، وسایل آشپزخانه و اعضای بدن"},
        "calf_analogy": {"en": "Adult and young animals (cow − old + young)", "fa": "جانوران بالغ و نوزاد (قیاس گوساله)"},
    },
    "group": {
        "male": {"en": "male", "fa": "مردانه"},
        "female": {"en": "female", "fa": "زنانه"},
        "singular": {"en": "singular", "fa": "مفرد"},
        "plural": {"en": "plural", "fa": "جمع"},
        "colours": {"en": "colours", "fa": "رنگ‌ها"},
        "animals": {"en": "animals", "fa": "جانوران"},
        "countries": {"en": "countries", "fa": "کشورها"},
        "electronics": {"en": "electronics", "fa": "الکترونیک"},
        "kitchen": {"en": "kitchen", "fa": "آشپزخانه"},
        "body_parts": {"en": "body parts", "fa": "اعضای بدن"},
        "adult": {"en": "adult", "fa": "بالغ"},
        "young": {"en": "young", "fa": "نوزاد"},
        "age_words": {"en": "age words", "fa": "واژه‌های سن"},
    },
    "arrow": {
        "gender": {"en": "gender", "fa": "جنسیت"},
        "age": {"en": "age", "fa": "سن"},
        "plural": {"en": "plural", "fa": "جمع"},
        "adult_to_young": {"en": "adult to young", "fa": "بالغ به نوزاد"},
        "old_to_young": {"en": "old to young", "fa": "پیر به جوان"},
    },
    "weat": {
        "career_family": {"en": "Career vs family, male vs female names (WEAT 6)", "fa": "شغل در برابر خانواده، نام‌های مردانه در برابر زنانه (WEAT ۶)"},
        "math_arts": {"en": "Math vs arts, male vs female terms (WEAT 7)", "fa": "ریاضی در برابر هنر، واژه‌های مردانه در برابر زنانه (WEAT ۷)"},
        "science_arts": {"en": "Science vs arts, male vs female terms (WEAT 8)", "fa": "علم در برابر هنر، واژه‌های مردانه در برابر زنانه (WEAT ۸)"},
    },
}


# The numbers the report shows side by side (this run, the shipped full run, the reference report): metric, REFERENCE key
# (a dotted path into the reference's nested numbers).
HEADLINE = (("vectors.count", None), ("similar.iran.tehran_cosine", "similar.iran.tehran"), ("similar.mother.daughter_cosine", "similar.mother.daughter"), ("distance.john.near", "distances.john.near"), ("distance.john.far", "distances.john.far"), ("weat.career_family.effect_size", "weat.career_family.d"), ("weat.math_arts.effect_size", "weat.math_arts.d"), ("weat.science_arts.effect_size", "weat.science_arts.d"))
