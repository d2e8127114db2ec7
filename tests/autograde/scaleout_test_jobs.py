"""Job functions for tests/autograde/test_scaleout.py (imported by pool processes and Dask workers): the real
student x question job, with a worker that dies under it (once, or every time) for chosen students."""

import os
import time

from dlgrade.autograde.worker_jobs import grade_question_job


def die_once_for(marker_dir: str, students: tuple, **kwargs) -> dict:
    """Kill this worker the first time one of ``students`` is graded (a marker file per student), then grade."""
    marker = os.path.join(marker_dir, f"died-{kwargs['student']}")
    if kwargs["student"] in students and not os.path.exists(marker):
        with open(marker, "w") as f:
            f.write(str(os.getpid()))
        time.sleep(0.2)  # the worker holds the job a moment, like a real crash mid-grading
        os._exit(17)
    return grade_question_job(**kwargs)


def always_die_for(students: tuple, **kwargs) -> dict:
    """Kill this worker every time one of ``students`` is graded (worker lost twice)."""
    if kwargs["student"] in students:
        os._exit(17)
    return grade_question_job(**kwargs)


def slow_grade(seconds: float, **kwargs) -> dict:
    """The real job, taking at least ``seconds`` (so that a client can be killed mid-batch)."""
    time.sleep(seconds)
    return grade_question_job(**kwargs)


def environment(names: tuple) -> dict:
    return {n: os.environ.get(n) for n in names}
