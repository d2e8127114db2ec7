"""hw14.q4: keras-tuner BayesianOptimization of a dense net on Fashion-MNIST."""

from .task import QUESTION

__all__ = ["QUESTION"]
