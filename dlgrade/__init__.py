"""dlgrade: re-run deep-learning homework questions, grade them, report them in Persian and English."""

__version__ = "0.1.0"
