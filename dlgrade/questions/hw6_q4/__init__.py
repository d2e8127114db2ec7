"""hw6.q4: keras-tuner RandomSearch of a CNN on CIFAR-10."""

from .task import QUESTION

__all__ = ["QUESTION"]
