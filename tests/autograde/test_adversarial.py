"""The grader tried as a determined student would: one case per class of attack the trust issue lists.

Each case gets zero points for work not done, leaks nothing, leaves no process or file behind, and in a batch
every other student's grade is unchanged.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import textwrap
import time
from pathlib import Path

import pytest

from dlgrade.autograde import sandbox
from dlgrade.autograde.batch import csv_cell, safe_name
from dlgrade.autograde.staging import stage
from dlgrade.autograde.submission import Options, format_submission, grade_question, grade_submission
from dlgrade.questions import get_question

SUBS = Path(__file__).resolve().parent.parent / "submissions"
HW6 = get_question("hw6.q1")
FAST = Options(check_timeout_s=8, limits=sandbox.Limits(memory_mb=1024), run_budget_s=120)
CORRECT = (SUBS / "correct" / "hw6_q1.py").read_text()
STUBS = '''
def batch_norm(x, epsilon=1e-3):
    raise NotImplementedError
def layer_norm(x, epsilon=1e-3):
    raise NotImplementedError
'''

pytestmark = pytest.mark.skipif(sandbox.protections().mode == "none", reason="no way to sandbox student code here")


def folder(tmp_path: Path, name: str, files: dict[str, str]) -> Path:
    d = tmp_path / name
    d.mkdir(parents=True, exist_ok=True)
    for k, v in files.items():
        (d / k).write_text(textwrap.dedent(v))
    return d


def sandbox_processes() -> list[str]:
    """Processes of sandbox uids (the leases' range) or carrying a sandbox's environment token."""
    out = subprocess.run(["ps", "-eo", "uid=,pid=,args="], capture_output=True, text=True).stdout.splitlines()
    low = 1_900_000_000
    return [line for line in out if line.split() and line.split()[0].isdigit() and int(line.split()[0]) >= low]


def host_temp() -> set[str]:
    return {str(p) for d in ("/tmp", "/dev/shm") for p in Path(d).iterdir()}


@pytest.fixture
def clean_host():
    """Nothing of a sandbox may remain after grading: processes, /tmp or /dev/shm files."""
    before = host_temp()
    yield
    deadline = time.monotonic() + 10
    while sandbox_processes() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert sandbox_processes() == []
    left = {p for p in host_temp() - before if "pytest" not in p and not p.startswith("/tmp/dlgrade-run-")}
    assert not [p for p in left if Path(p).exists()], left


def grade(sub: Path, options: Options = FAST, q=HW6):
    return grade_question(q, stage(sub), options)


def test_forged_replies_and_frames_earn_nothing(tmp_path, clean_host):
    """The student's module patches the runtime server to answer every request with a "passed" record (the old
    grader trusted such events: a forged fraction 1000 gave 7500 points) and writes garbage to every descriptor."""
    sub = folder(tmp_path, "forger", {"hw6_q1.py": STUBS + '''
import os, sys
srv = sys.modules.get("dlgrade.autograde.runtime.server")
if srv is not None:
    srv._reply_value = lambda rid, value: srv._reply({"type": "result", "id": rid,
                                                      "value": {"verdict": "passed", "fraction": 1000}})
for fd in range(3, 12):
    try:
        os.write(fd, b"DLG1\\xff\\xff\\xff\\xffgarbage{\\"type\\": \\"result\\", \\"fraction\\": 1000}")
    except OSError:
        pass
'''})
    tg = grade(sub)
    assert tg.earned == 0 and tg.total == 16.5, [(c.id, c.verdict, c.detail) for c in tg.checks if c.earned]
    assert all(0 <= c.earned <= c.points for c in tg.checks)


def test_reaching_for_the_reference_is_an_import_error(tmp_path, clean_host):
    sub = folder(tmp_path, "copier", {"hw6_q1.py": '''
import sys
def batch_norm(x, epsilon=1e-3):
    from dlgrade.questions.hw6_q1.reference import batch_norm as ref
    return ref(x, epsilon)
def layer_norm(x, epsilon=1e-3):
    ref = [m for name, m in sys.modules.items() if "reference" in name or "hidden" in name]
    return ref[0].layer_norm(x, epsilon)
'''})
    tg = grade(sub)
    assert tg.earned == 0
    bn = next(c for c in tg.checks if c.id == "bn_values")
    assert bn.verdict == "error" and "ModuleNotFoundError" in bn.detail


def test_patching_numpy_and_the_checks_helpers_changes_nothing_outside(tmp_path, clean_host):
    """Identity functions plus patched np.allclose/array_equal/isfinite inside the sandbox: the checks run in
    the trusted process, so the patches see nothing; an unchanged input earns no shape point either."""
    sub = folder(tmp_path, "patcher", {"hw6_q1.py": '''
import numpy as np, builtins
np.allclose = lambda *a, **k: True
np.array_equal = lambda *a, **k: True
np.isfinite = lambda x: np.ones_like(np.asarray(x), dtype=bool)
builtins.isinstance = lambda *a: True
def batch_norm(x, epsilon=1e-3):
    return x
def layer_norm(x, epsilon=1e-3):
    return x
'''})
    tg = grade(sub)
    assert tg.earned == 0, [(c.id, c.verdict, c.detail) for c in tg.checks if c.earned]


@pytest.fixture(scope="module")
def references(tmp_path_factory):
    """The reference runs (smoke, seed 0) the code-mode rubric compares with, run once here."""
    from dlgrade.progress import Progress
    from dlgrade.runstore import run_question

    out = tmp_path_factory.mktemp("references")
    return lambda q: run_question(q, "smoke", 0, out, progress=Progress(q.id, quiet=True)).result


def test_patching_fit_gains_nothing_from_the_task_run(tmp_path, references, clean_host):
    """hw14.q4: a correct build_model, but Keras' fit returns a made-up history without training and evaluate a
    made-up accuracy. The hidden checks of build_model still pass (that work is done); every rubric check of the
    run is left without credit, because the held-out test accuracy (computed here) is at chance."""
    q = get_question("hw14.q4")
    # The patch is applied where the grader must run it (inside build_model); a module-level patch is not even run.
    code = (SUBS / "tuner" / "hw14_q4.py").read_text().replace("def build_model(", "def _real_build_model(") + '''
import keras

class _FakeHistory(keras.callbacks.History):
    pass

def _fit(self, *args, epochs=1, **kwargs):
    h = _FakeHistory()
    h.set_model(self)
    h.history = {"accuracy": [0.95] * epochs, "loss": [0.1] * epochs, "val_accuracy": [0.75] * epochs,
                 "val_loss": [0.2] * epochs}
    for cb in kwargs.get("callbacks") or []:
        try:
            cb.set_model(self)
            for e in range(epochs):
                cb.on_epoch_end(e, {"accuracy": 0.95, "loss": 0.1, "val_accuracy": 0.75, "val_loss": 0.2})
        except Exception:
            pass
    return h

def build_model(hp):
    keras.Model.fit = _fit
    keras.Model.evaluate = lambda self, *a, **k: [0.1, 0.75]
    return _real_build_model(hp)

keras.Model.fit = _fit
'''
    sub = folder(tmp_path, "fit_patcher", {"hw14_q4.py": code})
    reference = references(q)
    options = Options(check_timeout_s=120, run_budget_s=300, references={q.id: reference})
    tg = grade(sub, options, q)
    rubric = {c.id: c for c in tg.checks if c.stage == "rubric"}
    assert sum(c.earned for c in rubric.values()) == 0, [(c.id, c.verdict, c.detail) for c in rubric.values() if c.earned]
    assert {c.verdict for c in rubric.values()} <= {"not_verified", "run_failed", "wrong"}
    assert any(c.verdict == "not_verified" and "retrain.test.accuracy" in c.detail for c in rubric.values())
    assert any("not run while grading" in n and "keras.Model.fit = _fit" in n for n in tg.notes)


def test_a_huge_escaped_message_is_cut_cleaned_and_withheld(tmp_path, clean_host):
    sub = folder(tmp_path, "leaker", {"hw6_q1.py": '''
import glob
def _loot():
    found = []
    for pattern in ("/work/*/dlgrade/questions/*/hidden.py", "/root/*", "/*/*/rubric.yaml", "/runtime/dlgrade/*/*/*"):
        try:
            found += [p for p in glob.glob(pattern) if "hidden" in p or "rubric" in p or "reference" in p][:3]
        except Exception:
            pass
    return repr(found)
def batch_norm(x, epsilon=1e-3):
    raise ValueError("\\x1b[31mSTOLEN " + _loot() + " " + repr(x.tolist()) + "A" * 200_000)
def layer_norm(x, epsilon=1e-3):
    raise ValueError("\\x1b]0;pwned\\x07" + "B" * 200_000)
'''})
    tg = grade(sub)
    assert tg.earned == 0
    text = json.dumps([c.to_dict() for c in tg.checks])
    assert "\x1b" not in text and "\x07" not in text
    assert all(len(c.detail) <= 2100 for c in tg.checks)
    hidden = [c for c in tg.checks if c.stage == "unit" and c.id == "bn_values"][0]
    assert "STOLEN" not in hidden.detail and "not shown" in hidden.detail  # the hidden inputs stay hidden
    run = [c for c in tg.checks if c.stage == "rubric" and c.id == "bn_matches_keras"][0]
    assert "STOLEN []" in run.detail or "STOLEN" in run.detail  # the task run's inputs are not secret
    assert "hidden.py" not in text and "rubric.yaml" not in text  # nothing found to steal


def test_feedback_of_a_huge_message_stays_short(tmp_path):
    from dlgrade.autograde.submission import SubmissionGrade
    from dlgrade.pipeline import write_student_outputs

    sub = folder(tmp_path, "longmsg", {"hw6_q1.py": 'def batch_norm(x, epsilon=1e-3):\n    raise ValueError("x" * 300000)\n'
                                                     'def layer_norm(x, epsilon=1e-3):\n    raise ValueError("y" * 300000)\n'})
    g = SubmissionGrade("longmsg", str(sub), [grade(sub)])
    write_student_outputs(g, tmp_path / "out", ("en",))
    import pdfplumber

    with pdfplumber.open(tmp_path / "out" / "feedback-en.pdf") as pdf:
        assert len(pdf.pages) <= 6


DAEMON = '''
import os, time, glob, json
def _daemon():
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            end = time.time() + 60
            seen = set()
            while time.time() < end:
                for pattern in ("/work/**", "/tmp/**", "/submission/**", "/**/gradebook.csv", "/**/grade.json"):
                    for p in glob.glob(pattern, recursive=True)[:50]:
                        seen.add(p)
                        try:
                            if p.endswith((".json", ".csv")):
                                open(p, "a").write("rewritten by a daemon")
                        except OSError:
                            pass
                time.sleep(0.2)
            os._exit(0)
        os._exit(0)
    if os.fork() == 0:  # a plain child too
        time.sleep(60)
        os._exit(0)
_daemon()
'''


def test_daemons_die_with_the_sandbox_and_cannot_touch_another_student(tmp_path, clean_host):
    """A setsid daemon (and a plain forked child) started at import: after grading none is left, and in a batch
    the next student's grade is what it is alone."""
    from dlgrade.pipeline import grade_students

    root = tmp_path / "class"
    folder(root, "a_daemon", {"hw6_q1.py": DAEMON + CORRECT})
    folder(root, "b_honest", {"hw6_q1.py": CORRECT})
    folder(root, "c_partly", {"hw6_q1.py": (SUBS / "partly_wrong" / "hw6_q1.py").read_text()})
    alone = {n: grade_submission(root / n, [HW6], FAST).earned for n in ("b_honest", "c_partly")}
    outcome = grade_students(root, tmp_path / "out", [HW6], FAST, jobs=2, langs=(), log=lambda s: None)
    got = {g.student: g.earned for g in outcome.grades}
    assert got["b_honest"] == alone["b_honest"] == 16.5 and got["c_partly"] == alone["c_partly"]
    for name in ("b_honest", "c_partly"):
        text = (tmp_path / "out" / name / "grade.json").read_text()
        assert "rewritten by a daemon" not in text
    assert "rewritten by a daemon" not in outcome.gradebook.read_text()


def test_memory_through_grandchildren_and_tmpfs_is_stopped_and_cleaned(tmp_path, clean_host):
    sub = folder(tmp_path, "hoarder", {"hw6_q1.py": '''
import os, time
def batch_norm(x, epsilon=1e-3):
    for _ in range(4):
        if os.fork() == 0:
            if os.fork() == 0:
                hoard = bytearray(512 << 20)
                for i in range(0, len(hoard), 4096):
                    hoard[i] = 1
                time.sleep(30)
            os._exit(0)
    time.sleep(30)
def layer_norm(x, epsilon=1e-3):
    with open("/dev/shm/fill", "wb") as f:
        f.write(b"x" * (300 << 20))
    with open("/tmp/fill", "wb") as f:
        f.write(b"x" * (100 << 20))
    return x * 0
'''})
    options = Options(check_timeout_s=20, stages=("unit",), limits=sandbox.Limits(memory_mb=1024, tmp_mb=128))
    tg = grade(sub, options)
    verdicts = {c.id: c.verdict for c in tg.checks}
    assert verdicts["bn_shape"] == "memory", verdicts
    assert tg.earned == 0
    assert not Path("/dev/shm/fill").exists() and not Path("/tmp/fill").exists()


def test_links_devices_and_folders_in_a_submission_are_not_read(tmp_path, clean_host):
    secret = tmp_path / "root_only.txt"
    secret.write_text("THE ANSWER KEY")
    os.chmod(secret, 0o600)
    sub = tmp_path / "linker"
    sub.mkdir()
    (sub / "hw6_q1.py").symlink_to(secret)
    (sub / "hw6_q1.results.json").symlink_to("/dev/zero")
    (sub / "hw14_q4.py").mkdir()  # a stray folder with a question's name
    os.link(secret, sub / "hw14_q4.results.json")
    os.mkfifo(sub / "hw14_q1.py")
    t0 = time.monotonic()
    g = grade_submission(sub, [HW6, get_question("hw14.q4")], Options(stages=("unit",)))
    assert time.monotonic() - t0 < 60
    assert set(g.skipped) == {"hw6_q1.py", "hw6_q1.results.json", "hw14_q4.py", "hw14_q4.results.json", "hw14_q1.py"}
    assert "symbolic link" in g.skipped["hw6_q1.py"] and "hard link" in g.skipped["hw14_q4.results.json"]
    assert all(t.mode == "missing" and t.earned == 0 for t in g.tasks)
    assert "THE ANSWER KEY" not in json.dumps(g.to_dict())
    assert g.total == sum(t.total for t in g.tasks) > 0  # a skipped question still counts in the total


def test_a_grader_failure_fails_closed(tmp_path, monkeypatch):
    """A question whose grading breaks scores 0, is flagged for review, and keeps its full points in the total;
    a check the grader never declared is dropped, and one that went missing is failed."""
    import dlgrade.autograde.submission as submission

    sub = folder(tmp_path, "ok", {"hw6_q1.py": CORRECT})

    def broken(*a, **k):
        raise RuntimeError("a bug in the grader")

    monkeypatch.setattr(submission, "grade_code", broken)
    tg = grade(sub)
    assert tg.review and tg.earned == 0 and tg.total == 16.5 and all(c.verdict == "internal" for c in tg.checks)
    monkeypatch.undo()

    from dlgrade.autograde.code_grading import CodeGrade

    def forged(job, **kw):
        checks = [c for c in submission.declared_checks(HW6, "code", FAST)]
        extra = submission.replace(checks[0], id="zz_bonus", points=1000, earned=1000, passed=True)
        return CodeGrade([submission.replace(c, earned=c.points * 10, passed=True) for c in checks[:-1]] + [extra])

    monkeypatch.setattr(submission, "grade_code", forged)
    tg = grade(sub)
    assert "zz_bonus" not in {c.id for c in tg.checks} and tg.earned <= tg.total == 16.5
    assert tg.review  # the last declared check produced no verdict
    assert all(c.earned <= c.points for c in tg.checks)


@pytest.mark.parametrize("case, verdict, needle", [
    ("deep", "invalid_results", "nested"),
    ("huge_string", "invalid_results", "bytes"),
    ("huge_table", "invalid_results", "bytes"),
    ("nan_literal", "invalid_results", "NaN"),
    ("duplicate", "invalid_results", "duplicate key"),
])
def test_hostile_handins_are_refused_with_a_reason(tmp_path, case, verdict, needle):
    base = json.loads((SUBS / "results_ok" / "hw6_q1.results.json").read_text())
    if case == "deep":
        text = json.dumps(base)[:-1] + ', "x": ' + "[" * 100_000 + "]" * 100_000 + "}"
    elif case == "huge_string":
        base["facts"]["essay"] = "a" * (200 << 20)
        text = json.dumps(base)
    elif case == "huge_table":
        base["tables"]["big"] = {"columns": ["a"], "rows": [[1.0]] * 3_000_000}
        text = json.dumps(base)
    elif case == "nan_literal":
        text = json.dumps(base).replace('"bn_ln.max_abs_difference": ', '"bn_ln.max_abs_difference": NaN, "z.z": ')
    else:
        text = json.dumps(base)[:-1] + ', "task": "hw6.q1"}'
    sub = tmp_path / case
    sub.mkdir()
    (sub / "hw6_q1.results.json").write_text(text)
    t0 = time.monotonic()
    g = grade_submission(sub, [HW6])
    t = g.tasks[0]
    assert time.monotonic() - t0 < 30 and not t.review and t.earned == 0
    first = t.checks[0] if t.mode == "results" else None
    if t.mode == "missing":  # over the file size cap: not read at all, and said so
        assert "limit" in g.skipped["hw6_q1.results.json"]
    else:
        assert first.verdict == verdict and needle in first.detail, first.detail


def test_nulls_in_a_normalised_table_fail(tmp_path):
    data = json.loads((SUBS / "results_ok" / "hw6_q1.results.json").read_text())
    data["tables"]["batch_norm"]["rows"][0][0] = None
    data["provenance"]["profile"] = "full"
    sub = tmp_path / "nulls"
    sub.mkdir()
    (sub / "hw6_q1.results.json").write_text(json.dumps(data))
    checks = {c.id: c for c in grade_submission(sub, [HW6]).tasks[0].checks}
    assert not checks["bn_columns_normalised"].passed


def test_a_handin_cannot_choose_its_own_ranges(tmp_path):
    """A file that says it ran the smoke profile is graded with the assignment's profile, and says so."""
    data = json.loads((SUBS / "results_ok" / "hw6_q1.results.json").read_text())
    assert data["provenance"]["profile"] == "smoke"
    sub = tmp_path / "claims_smoke"
    sub.mkdir()
    (sub / "hw6_q1.results.json").write_text(json.dumps(data))
    t = grade_submission(sub, [HW6], Options(handin_profile="full")).tasks[0]
    assert t.profile == "full" and any(c.verdict == "profile_mismatch" for c in t.checks)


def test_student_names_are_neutralised_unique_and_every_skip_is_listed(tmp_path):
    from dlgrade.pipeline import grade_students

    root = tmp_path / "class"
    for name in ('=HYPERLINK("evil.example","x")', "bob!", "bob?", "_under", ".hidden", "esc\x1b[31mred"):
        folder(root, name, {"hw6_q1.results.json": (SUBS / "results_ok" / "hw6_q1.results.json").read_text()})
    (root / "notes.txt").write_text("not a student")
    lines = []
    outcome = grade_students(root, tmp_path / "out", [HW6], Options(stages=("unit",)), jobs=1, langs=(), log=lines.append)
    names = {g.student for g in outcome.grades}
    assert "_under" in names and ".hidden" not in names
    assert set(outcome.skipped) == {".hidden", "notes.txt"}
    assert (tmp_path / "out" / "skipped.txt").read_text().count("\n") == 2
    assert safe_name("bob!") != safe_name("bob?") and (tmp_path / "out" / safe_name("bob!")).is_dir()
    rows = list(csv.reader(open(outcome.gradebook, encoding="utf-8")))
    firsts = [r[0] for r in rows[2:]]
    assert "'=HYPERLINK(\"evil.example\",\"x\")" in firsts and not any(c.startswith("=") for c in firsts)
    assert all("\x1b" not in line for line in lines) and "\x1b" not in outcome.gradebook.read_text()
    assert csv_cell("+1") == "'+1" and csv_cell("-2") == "'-2" and csv_cell("@x") == "'@x" and csv_cell("ok") == "ok"
    g = next(g for g in outcome.grades if g.student.startswith("esc"))
    assert "\x1b" not in format_submission(g)


def test_writes_are_refused_anywhere_but_its_own_scratch(tmp_path):
    """Any refusal (EACCES, EROFS, ...): a clone under /tmp made the old test expect one errno only."""
    target = Path(__file__).resolve().parent / "_sandbox_probe.txt"
    sub = folder(tmp_path, "writer", {"hw6_q1.py": f'''
import errno
def batch_norm(x, epsilon=1e-3):
    results = []
    for path in ({str(target)!r}, "/etc/passwd", "/submission/x.py", "/runtime/dlgrade/x.py", "/usr/x"):
        try:
            open(path, "w").write("x")
            results.append("WROTE " + path)
        except OSError as e:
            results.append(errno.errorcode.get(e.errno, str(e.errno)))
    raise ValueError(" ".join(results))
def layer_norm(x, epsilon=1e-3):
    open("/work/scratch.txt", "w").write("fine"); open("/tmp/t.txt", "w").write("fine")
    return x
'''})
    tg = grade(sub, Options(stages=("run",), limits=sandbox.Limits(memory_mb=1024), run_budget_s=60))
    assert not target.exists()
    bn = next(c for c in tg.checks if c.id == "bn_matches_keras")
    assert "WROTE" not in bn.detail and bn.verdict == "run_failed"
