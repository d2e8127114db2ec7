"""Run profiles: how big each task runs.

- ``smoke``: seconds per task, used by the test suite.
- ``quick``: the default; the whole report in about 12 minutes on an idle 2-core CPU (measured 687 s).
- ``full``: the assignment's real sizes (a GPU job for the CIFAR-10 questions).

Each task declares its own settings per profile (``Task.configs``); this module
only names the profiles and picks a task's settings.
"""

from __future__ import annotations

from typing import Any, Mapping

from dlgrade.errors import UsageError

PROFILES = ("smoke", "quick", "full")
DEFAULT_PROFILE = "quick"


def check_profile(name: str) -> str:
    """Return ``name`` if it is a known profile, else raise a UsageError."""
    if name not in PROFILES:
        raise UsageError(f"unknown profile {name!r}; expected one of {', '.join(PROFILES)}")
    return name


def config_for(configs: Mapping[str, Mapping[str, Any]], profile: str, task_id: str) -> dict[str, Any]:
    """The settings of ``task_id`` for ``profile``; every task must define all three profiles."""
    check_profile(profile)
    if profile not in configs:
        raise UsageError(f"task {task_id} defines no settings for profile {profile!r}")
    return dict(configs[profile])
