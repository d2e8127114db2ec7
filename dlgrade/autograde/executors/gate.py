"""The Dask side of the version gate: jobs run only on workers whose library versions equal the client's.

:class:`EnvironmentGate` is a worker plugin; Dask runs its ``setup`` on every worker of the cluster when it is
registered and on every worker that joins later. A worker whose versions
(:func:`dlgrade.autograde.executors.workers.library_versions`) match the client's is given the Dask resource
:func:`~dlgrade.autograde.executors.workers.environment_resource` names, which every job asks for, so the scheduler
never places a job on a worker that lacks it. Refused workers keep running (other clients may use them).
"""

from __future__ import annotations

import logging

from distributed.core import Status
from distributed.diagnostics.plugin import WorkerPlugin

from dlgrade.autograde.executors import workers as worker_info

logger = logging.getLogger(__name__)

#: Topic of the Dask events the gate logs (one per worker it checks).
GATE_TOPIC = "dlgrade-environment-gate"
#: How many jobs may hold the environment resource at once on one worker: no limit in practice
#: (a worker's threads limit concurrency); the resource only marks the worker as accepted.
_GATE_CAPACITY = 1_000_000


class EnvironmentGate(WorkerPlugin):
    """Dask worker plugin: accept a worker (give it the environment resource) only if its versions match.

    It runs on every worker when registered and on every worker that joins later. A refused worker keeps
    running (other clients may use it) but never offers the resource our jobs ask for; the refusal is
    logged on the worker and published as an event on :data:`GATE_TOPIC`.

    Args:
        expected: the client's :func:`library_versions`.
    """

    def __init__(self, expected: dict[str, str]):
        self.expected = dict(expected)
        self.resource = worker_info.environment_resource(self.expected)
        self.name = f"dlgrade-gate-{self.resource}"

    async def setup(self, worker) -> None:
        diff = worker_info.version_differences(self.expected, worker_info.library_versions())
        event = {"address": worker.address, "resource": self.resource, "accepted": not diff,
                 "refusal": worker_info.describe_differences(diff)}
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
    if worker.status == Status.running:
        worker.status = Status.paused
        worker.status = Status.running
