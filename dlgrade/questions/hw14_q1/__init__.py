"""hw14.q1: GloVe word vectors with gensim: neighbours, distances, analogies, PCA maps and a bias test."""

from .task import QUESTION

__all__ = ["QUESTION"]
