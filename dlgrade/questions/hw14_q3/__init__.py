"""hw14.q3: ResNet-14 (v1) on imbalanced DermaMNIST, with a measured remedy for the imbalance."""

from .task import QUESTION

__all__ = ["QUESTION"]
