"""hw6.q1: batch normalization vs layer normalization on a 5x5 matrix."""

from .task import QUESTION

__all__ = ["QUESTION"]
