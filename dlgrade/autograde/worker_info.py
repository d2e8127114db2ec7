"""What a worker is: library versions, GPUs, and the gate that keeps jobs off workers whose versions differ.

Results from two workers are comparable only when both run the same Python, NumPy, TensorFlow, Keras,
keras-tuner, scikit-learn and dlgrade. :func:`library_versions` reads them from package metadata (cheap:
nothing is imported), :func:`gpus` asks ``nvidia-smi``, and :class:`EnvironmentGate` is a Dask worker plugin
that runs on every worker of a cluster, including ones that join later: a worker whose versions match the
client's is given the Dask resource :func:`environment_resource` names, which every job asks for, so the
scheduler never places a job on a worker that lacks it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import platform
import shutil
import socket
import subprocess
from dataclasses import asdict, dataclass, field
from importlib import metadata
from typing import Any, Callable

logger = logging.getLogger(__name__)

#: Libraries whose versions must agree between the client and every worker (plus Python and dlgrade).
COMPARED_LIBRARIES = ("numpy", "tensorflow", "keras", "keras-tuner", "scikit-learn")
#: Topic of the Dask events the gate logs (one per worker it checks).
GATE_TOPIC = "dlgrade-environment-gate"
#: How many jobs may hold the environment resource at once on one worker: no limit in practice
#: (a worker's threads limit concurrency); the resource only marks the worker as accepted.
_GATE_CAPACITY = 1_000_000


def library_versions() -> dict[str, str]:
    """Versions of Python, dlgrade and :data:`COMPARED_LIBRARIES` in this process ("not installed" if absent)."""
    from dlgrade import __version__

    versions = {"python": platform.python_version(), "dlgrade": __version__}
    for lib in COMPARED_LIBRARIES:
        try:
            versions[lib] = metadata.version(lib)
        except metadata.PackageNotFoundError:
            versions[lib] = "not installed"
    return versions


def gpus(timeout_s: float = 5.0) -> list[str]:
    """The GPUs ``nvidia-smi`` lists here (name and memory), or ``[]`` when it is absent or fails."""
    exe = shutil.which("nvidia-smi")
    if not exe:
        return []
    try:
        out = subprocess.run([exe, "--query-gpu=name,memory.total", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=timeout_s, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [line.strip() for line in out.splitlines() if line.strip()]


def version_differences(expected: dict[str, str], found: dict[str, str]) -> dict[str, tuple[str, str]]:
    """``{library: (expected, found)}`` for every library whose version differs."""
    return {k: (v, found.get(k, "unknown")) for k, v in expected.items() if found.get(k, "unknown") != v}


def describe_differences(diff: dict[str, tuple[str, str]]) -> str:
    """``numpy 2.4.6 on the client but 1.26.4 here; ...``"""
    return "; ".join(f"{lib} {want} on the client but {got} here" for lib, (want, got) in sorted(diff.items()))


def environment_resource(versions: dict[str, str]) -> str:
    """The name of the Dask resource that marks a worker as running exactly ``versions``."""
    digest = hashlib.sha256(json.dumps(versions, sort_keys=True).encode()).hexdigest()[:12]
    return f"dlgrade-env-{digest}"


@dataclass
class WorkerInfo:
    """One worker as it describes itself.

    Attributes:
        address: the worker's address (``tcp://...``) or ``local`` for the local pool.
        versions: :func:`library_versions` there.
        gpus: :func:`gpus` there.
        host: its host name.
        nthreads: jobs it runs at once.
        resources: its Dask resources (``{"GPU": 1}``); empty on the local pool.
        accepted: whether jobs may run there (its versions match the client's).
        refusal: why not, when not accepted.
        described: what the caller's ``describe()`` returned there (``None`` when none was given).
    """

    address: str
    versions: dict[str, str]
    gpus: list[str]
    host: str = ""
    nthreads: int = 1
    resources: dict[str, float] = field(default_factory=dict)
    accepted: bool = True
    refusal: str = ""
    described: Any = None

    def to_dict(self) -> dict:
        return asdict(self)


def probe(describe: Callable[[], Any] | None = None) -> dict:
    """What this process says about itself (runs on a worker): versions, GPUs, host, and ``describe()``."""
    info = {"versions": library_versions(), "gpus": gpus(), "host": socket.gethostname(), "described": None}
    if describe is not None:
        try:
            info["described"] = describe()
        except Exception as e:  # noqa: BLE001 - a probe that fails is reported, not fatal
            info["described"] = {"error": f"{type(e).__name__}: {e}"}
    return info


try:  # Dask is a dependency, but keep this module importable for the version helpers without it
    from distributed.diagnostics.plugin import WorkerPlugin as _WorkerPlugin
except ImportError:  # pragma: no cover
    _WorkerPlugin = object  # type: ignore[misc,assignment]


class EnvironmentGate(_WorkerPlugin):
    """Dask worker plugin: accept a worker (give it the environment resource) only if its versions match.

    It runs on every worker when registered and on every worker that joins later. A refused worker keeps
    running (other clients may use it) but never offers the resource our jobs ask for; the refusal is
    logged on the worker and published as an event on :data:`GATE_TOPIC`.

    Args:
        expected: the client's :func:`library_versions`.
    """

    def __init__(self, expected: dict[str, str]):
        self.expected = dict(expected)
        self.resource = environment_resource(self.expected)
        self.name = f"dlgrade-gate-{self.resource}"

    async def setup(self, worker) -> None:
        diff = version_differences(self.expected, library_versions())
        event = {"address": worker.address, "resource": self.resource, "accepted": not diff,
                 "refusal": describe_differences(diff)}
        if diff:
            logger.error("dlgrade refuses this worker (%s): %s. Install the client's versions here to take "
                         "part in its batches.", worker.address, event["refusal"])
        else:
            await worker.set_resources(**{self.resource: _GATE_CAPACITY})
            _reconsider_waiting_jobs(worker)
        worker.log_event(GATE_TOPIC, event)


def _reconsider_waiting_jobs(worker) -> None:
    """Make the scheduler look again for jobs that had no worker.

    The scheduler places waiting ("no-worker") tasks when a worker joins or turns ``running``, but not when
    a worker's resources change, and the plugin runs after the worker joined. A status round trip
    (paused, then running: what the memory monitor does) makes it reconsider them on this worker.
    """
    from distributed.core import Status

    if worker.status == Status.running:
        worker.status = Status.paused
        worker.status = Status.running
