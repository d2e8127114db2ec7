"""Autograding: students' code in a throwaway sandbox, their notebooks and results hand-ins, batches on a local
pool or a Dask cluster, the starter kit (handout) and calibration of rubric ranges.

Student code runs only in a sandbox (:mod:`.sandbox`: bubblewrap, own uid, cgroup, tmpfs) whose runtime
(:mod:`.runtime`, :mod:`.bundle`) returns data only (:mod:`.protocol`); every verdict is computed here.
"""
