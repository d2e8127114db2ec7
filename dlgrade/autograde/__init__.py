"""Autograding: students' code in a throwaway sandbox, their notebooks and results hand-ins, batches,
feedback, the starter kit (handout) and calibration of rubric ranges."""
