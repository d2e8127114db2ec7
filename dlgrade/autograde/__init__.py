"""Grading students' hand-ins: sandbox, submissions, batch runs over executors, feedback, calibration."""
