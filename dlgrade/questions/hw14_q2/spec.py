"""hw14.q2 constants and settings: the reference's network and loss settings, the three strategies, the sizes per
profile, the thresholds the discussion uses, and the words the report shows for the codes."""

from __future__ import annotations

from dataclasses import dataclass

from dlgrade.kit.config import Config as BaseConfig

SANDBOX_SAFE = True

MARGIN = 0.4
LEARNING_RATE = 1e-4
BATCH_TRIPLETS = 256  # random triplets per batch
MINING_BATCH = 3 * BATCH_TRIPLETS  # labelled images per batch of the mining strategies (the same images per step)
EMBEDDING_DIM = 10
PREDICT_BATCH = 2048  # batch size of every embedding pass (per-epoch and final)
STRATEGIES = ("random", "batch_hard", "batch_semi_hard")
MINING = ("batch_hard", "batch_semi_hard")
TSNE_PERPLEXITY = 30.0

# What the discussion calls things (thresholds as fractions of the margin or of the triplets).
MOSTLY_EASY = 0.2  # random triplets are "mostly easy" when fewer than this share still has a non-zero loss
COLLAPSE_SPREAD = 0.1  # a collapsed embedding: mean squared distance below this fraction of the margin ...
COLLAPSE_LOSS = 0.95  # ... and a random-triplet test loss above this fraction of the margin

REFERENCE = {"train_loss": 0.0020, "val_loss": 0.0107, "train_triplets": 180000, "test_triplets": 45000, "epochs": 10,
             "batch_size": BATCH_TRIPLETS, "learning_rate": LEARNING_RATE, "margin": MARGIN}
SEED_OFFSETS = {"subset": 0, "train_triplets": 0, "test_triplets": 1, "init": 0, "shuffle": 0, "tsne_points": 2, "tsne": 0}


@dataclass(frozen=True)
class Config(BaseConfig):
    """Attributes:
        train_samples, test_samples: MNIST images used (None: all 60,000 / 10,000), a seeded random subset.
        train_triplets, test_triplets: random triplets drawn once from those images.
        epochs: epochs of every strategy.
        tsne_points: training and test embeddings per t-SNE map (each).
    """

    train_samples: int | None
    test_samples: int | None
    train_triplets: int
    test_triplets: int
    epochs: int
    tsne_points: int


CONFIGS = {
    "smoke": Config(train_samples=1000, test_samples=500, train_triplets=1024, test_triplets=512, epochs=2, tsne_points=128),
    "quick": Config(train_samples=5000, test_samples=2000, train_triplets=4096, test_triplets=2048, epochs=4, tsne_points=512),
    "full": Config(train_samples=None, test_samples=None, train_triplets=180000, test_triplets=45000, epochs=10, tsne_points=512),
}

WORDS = {
    "column": {
        "strategy": {"en": "strategy", "fa": "راهبرد"},
        "test_knn1_accuracy": {"en": "k-NN acc k=1", "fa": "صحت k-NN با k=۱"},
        "test_knn5_accuracy": {"en": "k-NN acc k=5", "fa": "صحت k-NN با k=۵"},
        "test_recall_at_1": {"en": "recall@1", "fa": "بازخوانی در رتبهٔ یک"},
        "train_active_random": {"en": "active share (random train triplets)", "fa": "سهم فعال (سه‌تایی‌های تصادفی آموزش)"},
        "train_active_own": {"en": "active share (own triplets, last epoch)", "fa": "سهم فعال (سه‌تایی‌های خود روش، دورهٔ آخر)"},
        "test_triplet_loss": {"en": "test random-triplet loss", "fa": "ضرر سه‌تایی‌های تصادفی آزمون"},
        "seconds": {"en": "time (s)", "fa": "زمان (ثانیه)"},
        "epoch": {"en": "epoch", "fa": "دوره"},
        "train_loss": {"en": "train loss (dropout on)", "fa": "ضرر آموزش (با dropout)"},
        "test_loss": {"en": "test loss", "fa": "ضرر آزمون"},
        "train_active": {"en": "active share, train", "fa": "سهم فعال آموزش"},
        "test_active": {"en": "active share, test", "fa": "سهم فعال آزمون"},
        "test_knn1": {"en": "1-NN acc", "fa": "صحت یک‌نزدیک‌ترین‌همسایه"},
        "quantity": {"en": "quantity", "fa": "کمیت"},
        "measured": {"en": "measured", "fa": "اندازه‌گیری‌شده"},
    },
    "value": {
        "random": {"en": "random triplets", "fa": "سه‌تایی تصادفی"},
        "batch_hard": {"en": "batch-hard", "fa": "سخت‌ترین در دسته"},
        "batch_semi_hard": {"en": "batch-semi-hard", "fa": "نیمه‌سخت در دسته"},
    },
    "caption": {
        "comparison": {"en": "The three strategies after the last epoch (same network, images, steps and seed)",
                       "fa": "سه راهبرد پس از دورهٔ آخر (شبکه، تصاویر، گام‌ها و بذر یکسان)"},
        "curves": {"en": "Per epoch, one line per strategy: loss on the test random triplets, share of training random triplets with non-zero loss, and 1-NN accuracy of test embeddings.",
                   "fa": "در هر دوره، یک خط برای هر راهبرد: ضرر سه‌تایی‌های تصادفی آزمون، سهم سه‌تایی‌های تصادفی آموزش با ضرر غیرصفر، و صحت یک‌نزدیک‌ترین‌همسایه روی تعبیه‌های آزمون."},
        "random_epochs": {"en": "Random triplets, epoch by epoch", "fa": "سه‌تایی‌های تصادفی، دوره به دوره"},
    },
    "quantity": {
        "train_loss": {"en": "training loss, last epoch", "fa": "ضرر آموزش در دورهٔ آخر"},
        "val_loss": {"en": "test (validation) loss, last epoch", "fa": "ضرر آزمون (اعتبارسنجی) در دورهٔ آخر"},
    },
}


# The numbers the report shows side by side (this run, the shipped full run, the reference report): metric, REFERENCE key.
HEADLINE = (("random.test.knn1_accuracy", None), ("batch_hard.test.knn1_accuracy", None), ("batch_semi_hard.test.knn1_accuracy", None), ("random.test.triplet_loss", "val_loss"))
