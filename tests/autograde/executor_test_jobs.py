"""Small top-level job functions for tests/autograde/test_executors.py (imported by pool and Dask workers)."""

import os
import time


def square(x: int, sleep_s: float = 0.0) -> int:
    if sleep_s:
        time.sleep(sleep_s)
    return x * x


def fail(message: str) -> None:
    raise ValueError(message)


def nothing() -> None:
    return None


def die_once(marker: str, value: int) -> int:
    """Kill this worker the first time (``marker`` does not exist yet); return ``value`` the next time."""
    if not os.path.exists(marker):
        with open(marker, "w") as f:
            f.write(str(os.getpid()))
        os._exit(17)
    return value


def always_die() -> None:
    os._exit(17)


def where_am_i() -> int:
    return os.getpid()


def describe_here() -> dict:
    return {"pid": os.getpid(), "probe": "sandbox-ok"}


def blob(n: int) -> dict:
    """A result with bytes (a figure, a results.json) and a tuple, to check they come back unchanged."""
    return {"png": bytes(range(256)) * (n // 256), "shape": (n, 1)}
