"""hw6.q2: BERT-base and BERT-large encoders built in Keras and their parameter counts."""

from .task import QUESTION

__all__ = ["QUESTION"]
