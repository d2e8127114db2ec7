"""hw6.q3: self-supervised rotation pre-training with 200 labelled CIFAR-10 images."""

from .task import QUESTION

__all__ = ["QUESTION"]
