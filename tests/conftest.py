"""Shared fixtures: offline data, quiet progress, and one smoke run per task per test session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "datasets"

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("DLGRADE_OFFLINE", "1")
if not os.environ.get("DLGRADE_DATA") and SHARED.is_dir():
    os.environ["DLGRADE_DATA"] = str(SHARED)


@pytest.fixture(scope="session")
def smoke_out(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("smoke-out")


_SMOKE_RUNS: dict = {}


@pytest.fixture(scope="session")
def smoke_run(smoke_out):
    """``smoke_run(task_id)`` -> RunOutcome, run once per session in the smoke profile with seed 0."""
    from dlgrade.progress import Progress
    from dlgrade.questions import get_question
    from dlgrade.runstore import run_question

    def get(task_id: str):
        if task_id not in _SMOKE_RUNS:
            _SMOKE_RUNS[task_id] = run_question(get_question(task_id), "smoke", 0, smoke_out, force=True,
                                                progress=Progress(task_id, plain=True))
        return _SMOKE_RUNS[task_id]

    return get


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """An empty cache and data path, so only what a test puts there is found."""
    monkeypatch.setenv("DLGRADE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("DLGRADE_DATA", str(tmp_path / "data"))
    monkeypatch.setattr("dlgrade.data.resolve.SYSTEM_DIR", tmp_path / "system")
    monkeypatch.setenv("DLGRADE_SYSTEM_DATA", str(tmp_path / "system"))  # also in worker processes
    (tmp_path / "data").mkdir()
    return tmp_path
