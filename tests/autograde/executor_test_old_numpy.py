"""Preloaded into one test Dask worker (``dask worker --preload executor_test_old_numpy``): that worker
reports an older NumPy than the client, so the version gate must refuse it. Test-only: nothing in dlgrade
reads an environment variable or flag to fake versions."""

from dlgrade.autograde.executors import workers as worker_info

_real = worker_info.library_versions


def _older_numpy() -> dict[str, str]:
    versions = _real()
    versions["numpy"] = "1.26.4"
    return versions


worker_info.library_versions = _older_numpy
