"""hw14.q2: triplet-loss embeddings of MNIST digits, random triplets vs batch-hard and batch-semi-hard mining."""

from .task import QUESTION

__all__ = ["QUESTION"]
