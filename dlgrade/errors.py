"""Errors a user can act on: each says what was wrong, where, and what to do."""


class DlgradeError(Exception):
    """Base class; the CLI prints these without a traceback and exits with status 2."""


class DatasetError(DlgradeError):
    """A dataset is missing, corrupt or could not be downloaded."""


class RubricError(DlgradeError):
    """A rubric file is malformed."""


class ResultsError(DlgradeError):
    """A results.json file is missing or does not match the schema."""


class UsageError(DlgradeError):
    """Bad command-line input (unknown task, unknown profile, ...)."""
