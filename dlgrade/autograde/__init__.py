<<<<<<< HEAD
"""Autograding: students' code in a throwaway sandbox, their notebooks and results hand-ins, batches,
feedback, the starter kit (handout) and calibration of rubric ranges."""
=======
"""Grading students' hand-ins: student code runs only in a throwaway sandbox that returns data.

``protocol`` frames data-only messages (JSON + ``.npy``, size-capped) between the trusted grader and
the sandbox; ``sandbox`` starts and tears down the sandbox (bubblewrap, own uid, cgroup, tmpfs);
``runtime`` is the only code of ours that runs inside it.
"""
>>>>>>> executors
