"""What a worker is: library versions, GPUs, and the gate that keeps jobs off workers whose versions differ.

Results from two workers are comparable only when both run the same Python, NumPy, TensorFlow, Keras,
keras-tuner, scikit-learn and dlgrade. :func:`library_versions` reads them from package metadata (cheap:
nothing is imported), :func:`gpus` asks ``nvidia-smi``; :mod:`dlgrade.autograde.executors.gate` keeps jobs off
workers whose versions differ. This module imports nothing heavy: local pool processes import it.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import socket
import subprocess
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

from dlgrade import versions

#: Libraries whose versions must agree between the client and every worker (plus Python and dlgrade).
COMPARED_LIBRARIES = ("numpy", "tensorflow", "keras", "keras-tuner", "scikit-learn")


def library_versions() -> dict[str, str]:
    """Versions of Python, dlgrade and :data:`COMPARED_LIBRARIES` in this process ("not installed" if absent)."""
    return versions.library_versions(COMPARED_LIBRARIES)


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
