#!/usr/bin/env python3
"""Measures the sandbox's overhead: start + load of a tiny module, one call round trip, and the
TensorFlow import time inside a sandbox vs a plain interpreter. Prints one JSON object.

Usage: .venv/bin/python scripts/measure-sandbox.py [--starts 10] [--calls 100] [--tf 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dlgrade.autograde.sandbox import Limits, Session, protections  # noqa: E402

TINY = b"def add(a, b):\n    return a + b\n"
TF = b"""
import time
def import_tf():
    t = time.perf_counter()
    import tensorflow
    return time.perf_counter() - t
"""
OUTSIDE = "import time; t = time.perf_counter(); import tensorflow; print(time.perf_counter() - t)"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--starts", type=int, default=10)
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--tf", type=int, default=3)
    parser.add_argument("--cpus", type=float, default=Limits.cpus, help="CPU quota of the sandboxes (cores)")
    args = parser.parse_args()
    t = time.perf_counter()
    prot = protections()
    probe_ms = (time.perf_counter() - t) * 1000
    limits = Limits(memory_mb=3072, timeout_s=300, cpus=args.cpus)

    starts, closes = [], []
    for _ in range(args.starts):
        t = time.perf_counter()
        s = Session(submission={"tiny.py": TINY}, limits=limits)
        s.load("tiny.py")
        starts.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        s.close()
        closes.append((time.perf_counter() - t) * 1000)

    with Session(submission={"tiny.py": TINY}, limits=limits) as s:
        s.load("tiny.py")
        calls = []
        for i in range(args.calls):
            t = time.perf_counter()
            s.call("add", (i, 1))
            calls.append((time.perf_counter() - t) * 1000)

    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": "1",
           "TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1"}  # the sandbox's thread settings
    inside, inside_call, outside = [], [], []
    for _ in range(args.tf):  # interleaved, so load from other users hits both alike
        with Session(submission={"tf.py": TF}, limits=limits) as s:
            s.load("tf.py")
            t = time.perf_counter()
            inside.append(s.call("import_tf"))
            inside_call.append(time.perf_counter() - t)
        out = subprocess.run([sys.executable, "-c", OUTSIDE], capture_output=True, text=True, env=env, check=True)
        outside.append(float(out.stdout.strip().splitlines()[-1]))
    print(json.dumps({
        "mode": prot.mode,
        "cpus": args.cpus,
        "probe_ms (once per process)": round(probe_ms, 1),
        f"start_and_load_ms (median of {args.starts})": round(statistics.median(starts), 1),
        f"close_ms (median of {args.starts})": round(statistics.median(closes), 1),
        f"call_round_trip_ms (median of {args.calls})": round(statistics.median(calls), 3),
        f"tf_import_inside_s (median of {args.tf})": round(statistics.median(inside), 2),
        f"tf_import_inside_call_s (median of {args.tf})": round(statistics.median(inside_call), 2),
        f"tf_import_outside_s (median of {args.tf})": round(statistics.median(outside), 2),
        "tf_import_inside_s": [round(x, 2) for x in inside],
        "tf_import_outside_s": [round(x, 2) for x in outside],
        "load_average": os.getloadavg(),
    }, indent=1))


if __name__ == "__main__":
    main()
