"""The sandbox under attack: every hostile case must end with nothing of the sandbox left on the host.

Each test starts its own sandbox(es) through ``open_session``; at teardown the fixture closes them and
checks that no process of the sandbox remains (by its own uid and by its environment token), that its
cgroups and staging folder are gone, and that nothing it wrote is in the host's /tmp or /dev/shm.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from dlgrade.autograde.host import pids_of_uid
from dlgrade.autograde.protocol import Opaque
from dlgrade.autograde.sandbox import (
    Limits,
    SandboxDied,
    Session,
    StudentError,
    _ro_binds,
    ro_bind_args,
    protections,
)

REPO = Path(__file__).resolve().parents[2]
MARKER = f"dlgrade-hostile-{os.getpid()}"
FAST = dict(memory_mb=1024, processes=128, cpus=1.0, cpu_s=60, tmp_mb=64, file_mb=128, timeout_s=30.0)

HOSTILE = textwrap.dedent(f'''
    import ctypes, errno, importlib, os, signal, socket, struct, subprocess, sys, time
    import numpy as np

    MARKER = {MARKER!r}
    TMP = os.environ["TMPDIR"]

    def add(a, b):
        return a + b

    def fd_out():
        args = open("/proc/self/cmdline", "rb").read().split(b"\\0")
        return int(args[args.index(b"--fd-out") + 1])

    def spawn_leftovers():
        """A setsid daemon, a double-forked daemon writing files, a plain forked child: all still running."""
        subprocess.Popen(["setsid", "sleep", "1000"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        pid = os.fork()
        if pid == 0:
            os.setsid()
            if os.fork() == 0:
                while True:
                    with open(os.path.join(TMP, MARKER + "-daemon"), "a") as f:
                        f.write("x")
                    time.sleep(0.1)
            os._exit(0)
        os.waitpid(pid, 0)
        if os.fork() == 0:
            time.sleep(1000)
            os._exit(0)
        with open("/dev/shm/" + MARKER + "-shm", "wb") as f:
            f.write(b"x" * 100_000)
        time.sleep(0.5)
        return os.path.exists(os.path.join(TMP, MARKER + "-daemon"))

    def fork_bomb(seconds):
        ok = failed = 0
        end = time.time() + seconds
        while time.time() < end:
            try:
                pid = os.fork()
            except OSError:
                failed += 1
                time.sleep(0.002)
                continue
            if pid == 0:
                while True:
                    try:
                        os.fork()
                    except OSError:
                        time.sleep(0.05)
            ok += 1
        return ok, failed

    def memory_grandchildren(n, mb_each):
        for _ in range(n):
            if os.fork() == 0:
                if os.fork() == 0:
                    block = b"x" * (mb_each << 20)
                    time.sleep(1000)
                time.sleep(1000)
        time.sleep(20)
        return "all grandchildren survived"

    def fill(path, mb):
        written = 0
        try:
            with open(path, "wb") as f:
                for _ in range(mb):
                    f.write(b"x" * (1 << 20))
                    f.flush()
                    written += 1
        except OSError as e:
            return written, e.errno
        return written, None

    def busy():
        while True:
            pass

    def spin(seconds):
        end = time.monotonic() + seconds
        start = time.process_time()
        while time.monotonic() < end:
            pass
        return time.process_time() - start

    def sleepy():
        while True:
            time.sleep(0.1)

    def leave():
        os._exit(3)

    def exit_politely():
        sys.exit(4)

    def segfault():
        ctypes.string_at(0)

    def connect():
        socket.create_connection(("1.1.1.1", 53), timeout=2)

    def connect_without_hook():
        code = "import socket\\ntry:\\n socket.create_connection(('1.1.1.1', 53), timeout=2)\\n print('connected')\\nexcept OSError as e:\\n print(e.errno)"
        return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=20).stdout.strip()

    def look(paths):
        out = {{}}
        for p in paths:
            try:
                out[p] = sorted(os.listdir(p)) if os.path.isdir(p) else open(p, "rb").read(50).decode("latin-1")
            except OSError as e:
                out[p] = e.errno
        return out

    def write(paths):
        out = {{}}
        for p in paths:
            try:
                with open(p, "w") as f:
                    f.write("x")
                out[p] = "written"
            except OSError as e:
                out[p] = e.errno
        return out

    def processes():
        out = {{}}
        for p in os.listdir("/proc"):
            if p.isdigit():
                try:
                    out[p] = open(f"/proc/{{p}}/cmdline", "rb").read().replace(b"\\0", b" ").decode()[:300]
                except OSError:
                    out[p] = "?"
        return out

    def imports(names):
        out = {{}}
        for n in names:
            try:
                out[n] = getattr(importlib.import_module(n), "__file__", None) or "namespace"
            except ImportError as e:
                out[n] = "ImportError: " + str(e)
        return out

    def huge():
        return np.zeros(200_000_000 // 8) + 1

    def deep():
        x = []
        for _ in range(10**6):
            x = [x]
        return x

    def forge_garbage():
        os.write(fd_out(), b"NOT A FRAME " * 10)
        time.sleep(1)
        return 1

    def forge_other_id(value):
        from dlgrade.autograde.protocol import frame_bytes
        os.write(fd_out(), frame_bytes({{"type": "result", "id": "forged", "value": 666}}))
        os.write(fd_out(), frame_bytes({{"type": "progress", "id": "forged", "text": "x"}}))
        return value

    def forge_huge_claim():
        os.write(fd_out(), b"DLG1" + struct.pack("<I", 2) + b"{{}}" + struct.pack("<I", 1) + struct.pack("<Q", 2**40))
        time.sleep(30)
        return 1

    def values():
        return {{"nan": float("nan"), "tuple": (1, (2.5, "x")), "np": np.float32(1.5), "gen": (i for i in range(2)),
                "fn": add, "arr": np.arange(6).reshape(2, 3)}}

    def raise_long():
        raise ValueError("\\x1b[2J\\x1b]0;pwned\\x07" + "A" * 200_000)

    def noisy():
        print("\\x1b[31m" + "y" * 100_000)
        sys.stdout.flush()
        os.write(1, b"z" * 200_000)
        os.write(2, b"\\x1b]0;title\\x07 done")
        return "ok"

    def where_am_i():
        return {{"uid": os.getuid(), "tmp": sorted(os.listdir(TMP)), "work": sorted(os.listdir(os.environ["HOME"]))}}

    def make_file(name):
        open(os.path.join(os.environ["HOME"], name), "w").write("secret")
        open(os.path.join(TMP, name), "w").write("secret")
        return True

    def read_inbox():
        folder = os.path.dirname(os.path.dirname(__file__)) + "/inbox"
        return {{n: open(os.path.join(folder, n), "rb").read() for n in sorted(os.listdir(folder))}}
''')

HARNESS = b'''
from dlgrade.autograde.runtime.server import progress


def train(student, epochs):
    out = []
    for e in range(epochs):
        progress(f"epoch {e} \\x1b[31mred\\x1b[0m")
        out.append(student.add(e, 1))
    return out


def named(student, progress):
    progress("from the parameter")
    return student.__name__
'''


# ---------------------------------------------------------------------------------------- fixtures

def _all_pids_with(token: str) -> list[int]:
    needle = f"DLGRADE_SANDBOX_TOKEN={token}".encode()
    out = []
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                if needle in open(f"/proc/{p}/environ", "rb").read():
                    out.append(int(p))
            except OSError:
                pass
    return out


def leftovers(res: dict) -> list[str]:
    problems = []
    if res.get("uid") is not None and pids_of_uid(res["uid"]):
        problems.append(f"processes of uid {res['uid']}: {pids_of_uid(res['uid'])}")
    if _all_pids_with(res["token"]):
        problems.append(f"processes with the sandbox token: {_all_pids_with(res['token'])}")
    problems += [f"cgroup {c} remains" for c in res["cgroups"] if os.path.exists(c)]
    if os.path.exists(res["staging"]):
        problems.append(f"staging folder {res['staging']} remains")
    # Without a private tmpfs or an own uid (plain mode, not root), what the sandbox writes to the host's
    # /tmp and /dev/shm cannot be told from the grader's own files: protections() says so, and it stays.
    if PROT.tmpfs_size or res.get("uid") is not None:
        for d in ("/tmp", "/dev/shm"):
            for entry in os.scandir(d):
                if MARKER in entry.name:
                    problems.append(f"{entry.path} remains")
                elif res.get("uid") is not None and entry.stat(follow_symlinks=False).st_uid == res["uid"]:
                    problems.append(f"{entry.path} (owned by the sandbox uid) remains")
    return problems


def remove_markers() -> None:
    for d in ("/tmp", "/dev/shm"):
        for entry in os.scandir(d):
            if MARKER in entry.name and not entry.is_dir(follow_symlinks=False):
                os.unlink(entry.path)


class TrackedSession(Session):
    """Remembers what every sandbox it started held on the host, to check it is all gone after close."""

    def _start(self, avoid=None):
        super()._start(avoid)
        self.history = getattr(self, "history", []) + [self.resources()]


@pytest.fixture
def open_session():
    sessions = []

    def make(src: str = HOSTILE, load: bool = True, runtime_files=None, inbox=None, **limits) -> TrackedSession:
        s = TrackedSession(runtime_files=runtime_files, submission={"hostile.py": src.encode()}, inbox=inbox,
                           limits=Limits(**{**FAST, **limits}))
        sessions.append(s)
        if load:
            s.load("hostile.py")
        return s

    yield make
    problems = []
    for s in sessions:
        s.close()
        for res in s.history:
            problems += leftovers(res)
    remove_markers()  # so that one failure does not cascade
    assert not problems, "\n".join(problems)


PROT = protections()
needs_bwrap = pytest.mark.skipif(PROT.mode == "plain", reason=f"no bubblewrap sandbox here:\n{PROT.describe()}")
needs_cgroup_memory = pytest.mark.skipif("memory" not in PROT.cgroup_controllers,
                                         reason="no memory cgroup here (only the RSS watchdog)")
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (own uid per sandbox, setpriv)")


# ------------------------------------------------------------------------------------ protections

def test_protections_are_probed_and_described_honestly():
    d = PROT.to_dict()
    lines = PROT.describe().splitlines()
    assert len(lines) == len(d["protections"]) >= 15
    assert all(" active: " in line or " NOT available: " in line for line in lines)
    by_name = {p["name"]: p for p in d["protections"]}
    assert by_name["own uid per sandbox"]["active"] == PROT.own_uid
    assert by_name["network audit hook"]["active"]
    if os.geteuid() == 0 and shutil.which("bwrap"):
        assert PROT.mode == "bwrap-root" and PROT.own_uid and PROT.own_proc and PROT.tmpfs_size
        assert set(PROT.namespaces) >= {"pid", "mnt", "net", "ipc", "uts"}
    assert protections() is PROT  # cached


# -------------------------------------------------------------------------------------- honest use

def test_values_round_trip_nan_tuples_opaque(open_session):
    s = open_session()
    assert s.module["functions"][:3] == ["add", "busy", "connect"]
    out = s.call("values")
    assert np.isnan(out["nan"]) and out["tuple"] == (1, (2.5, "x")) and out["np"] == 1.5
    assert out["gen"] == Opaque("generator", out["gen"].repr) and out["fn"].type == "function"
    assert out["arr"].tolist() == [[0, 1, 2], [3, 4, 5]]
    x = np.random.default_rng(0).normal(size=(500, 500))
    np.testing.assert_array_equal(s.call("add", (x,), {"b": x}), 2 * x)
    assert s.ping()["uid"] == (s.uid if s.uid is not None else os.getuid())


def test_student_error_names_the_students_line_and_is_cut_and_clean(open_session):
    s = open_session()
    with pytest.raises(StudentError) as info:
        s.call("raise_long")
    e = info.value
    line = next(i for i, text in enumerate(HOSTILE.splitlines(), 1) if "raise ValueError" in text)
    assert e.type == "ValueError" and e.where == f"hostile.py:{line}"
    assert e.frames[-1] == {"file": "hostile.py", "line": line, "function": "raise_long"}
    assert len(e.message) < 2200 and "\x1b" not in e.message and "\x07" not in e.message
    assert s.call("add", (1, 2)) == 3  # the sandbox lives on after a student error


def test_import_errors_say_where(open_session):
    s = open_session(src="import sys\n\n\nsys.exit(5)\n", load=False)
    with pytest.raises(StudentError) as info:
        s.load("hostile.py")
    assert info.value.type == "SystemExit" and "sys.exit(5)" in info.value.message
    assert info.value.where == "hostile.py:4" and info.value.phase == "load"
    s2 = open_session(src="def f(:\n    pass\n", load=False)
    with pytest.raises(StudentError) as info:
        s2.load("hostile.py")
    assert info.value.type == "SyntaxError" and info.value.where == "hostile.py:1"


def test_harness_run_sends_clean_progress_lines(open_session):
    s = open_session(runtime_files={"harness/demo.py": HARNESS})
    lines = []
    assert s.run("harness.demo:train", {"epochs": 3}, on_progress=lines.append) == [1, 2, 3]
    assert lines == ["epoch 0 red", "epoch 1 red", "epoch 2 red"]
    lines.clear()
    assert s.run("harness.demo:named", on_progress=lines.append) == "hostile"
    assert lines == ["from the parameter"]
    with pytest.raises(ValueError, match="not in the runtime bundle"):
        s.run("dlgrade.questions.hw6_q1.checks:run")


def test_inbox_is_readable_inside(open_session, tmp_path):
    big = tmp_path / "x.npy"
    np.save(big, np.arange(5))
    big.chmod(0o644)
    secret = tmp_path / "private.bin"
    secret.write_bytes(b"root only")
    secret.chmod(0o600)
    s = open_session(inbox={"a.bin": b"hello", "x.npy": big, "private.bin": secret})
    got = s.call("read_inbox")
    assert got["a.bin"] == b"hello" and got["private.bin"] == b"root only"
    assert got["x.npy"] == big.read_bytes()


def test_student_output_never_corrupts_the_protocol_and_is_kept_short_and_clean(open_session):
    s = open_session()
    assert s.call("noisy") == "ok"
    deadline = time.monotonic() + 10
    while "done" not in s.tail(limit=10**6) and time.monotonic() < deadline:
        time.sleep(0.05)  # the drain thread may lag behind the reply under load
    tail = s.tail(limit=10**6)
    assert "\x1b" not in tail and "\x07" not in tail and "done" in tail
    assert len(tail) <= 2 * 65536 + 100


# ------------------------------------------------------------------------------------ hostile code

def test_daemons_and_children_are_killed_and_their_files_removed(open_session):
    s = open_session()
    assert s.call("spawn_leftovers") is True
    res = s.resources()
    if res["uid"] is not None:
        assert len(pids_of_uid(res["uid"])) >= 4  # server, setsid sleep, daemon, child: all alive now
    assert any("processes" in p for p in leftovers(res))  # the check sees them while the sandbox runs
    s.close()
    assert not leftovers(res)


def test_fork_bomb_hits_the_pids_limit(open_session):
    s = open_session(processes=48, cpus=0.5)
    ok, failed = s.call("fork_bomb", (1.5,))
    assert failed > 0 and ok < 48, (ok, failed)


@pytest.mark.slow
def test_memory_of_grandchildren_counts_together(open_session):
    """The cgroup counts them together (or, without one, the RSS watchdog sums them)."""
    s = open_session(memory_mb=1024)
    with pytest.raises(SandboxDied) as info:
        s.call("memory_grandchildren", (4, 512))  # 2 GB in four grandchildren of 512 MB each
    assert info.value.cause == "memory" and "1024 MB" in info.value.detail
    assert ("RSS watchdog" in info.value.detail) == PROT.rss_watchdog


@needs_bwrap
def test_tmpfs_is_capped_and_gone_afterwards(open_session):
    s = open_session(tmp_mb=64, file_mb=512)
    for path in ("/dev/shm/" + MARKER, "/tmp/" + MARKER, "/work/" + MARKER):
        written, err = s.call("fill", (path, 300))
        assert 60 <= written <= 64 and err == errno.ENOSPC, (path, written, err)


@needs_bwrap
@needs_cgroup_memory
def test_tmpfs_pages_count_as_memory(open_session):
    s = open_session(memory_mb=256, tmp_mb=1024, file_mb=1024)
    try:
        written, err = s.call("fill", ("/dev/shm/" + MARKER, 600))
    except SandboxDied as e:
        assert e.cause == "memory"
    else:
        assert written < 256 and err is not None, (written, err)


def test_cpu_time_limit(open_session):
    s = open_session(cpu_s=2)
    with pytest.raises(SandboxDied) as info:
        s.call("busy", timeout=30)
    assert info.value.cause == "cpu"


@pytest.mark.skipif("cpu" not in PROT.cgroup_controllers, reason="no cpu cgroup controller here")
def test_cpu_quota_limits_the_share_of_a_core(open_session):
    s = open_session(cpus=0.1)
    used = s.call("spin", (2.0,))
    assert used < 0.4, f"{used:.2f} CPU seconds in 2 s at a quota of 0.1 core"


def test_file_size_limit(open_session):
    s = open_session(file_mb=1)
    written, err = s.call("fill", (MARKER + "-big", 3))  # relative to the sandbox's working folder
    assert written == 1 and err == errno.EFBIG


def test_timeout_kills_and_restart_gives_a_fresh_sandbox(open_session):
    s = open_session()
    assert s.call("make_file", (MARKER,)) is True
    first_uid = s.uid
    t = time.monotonic()
    with pytest.raises(SandboxDied) as info:
        s.call("sleepy", timeout=1)
    assert info.value.cause == "timeout" and time.monotonic() - t < 10
    with pytest.raises(SandboxDied, match="call restart"):
        s.call("add", (1, 2))
    s.restart()
    assert s.call("add", (1, 2)) == 3  # module reloaded
    fresh = s.call("where_am_i")
    assert MARKER not in fresh["tmp"] and MARKER not in fresh["work"]
    if first_uid is not None:
        assert s.uid != first_uid and fresh["uid"] == s.uid


@pytest.mark.parametrize("function, cause, words", [
    ("leave", "exit", "status 3"),
    ("segfault", "crash", "SIGSEGV"),
])
def test_exits_and_crashes_are_classified(open_session, function, cause, words):
    s = open_session()
    with pytest.raises(SandboxDied) as info:
        s.call(function)
    assert info.value.cause == cause and words in info.value.detail


def test_sys_exit_in_a_call_is_a_student_error(open_session):
    s = open_session()
    with pytest.raises(StudentError) as info:
        s.call("exit_politely")
    assert info.value.type == "SystemExit" and "sys.exit(4)" in info.value.message
    assert s.call("add", (2, 2)) == 4


def test_network_is_refused_with_a_clear_message(open_session):
    s = open_session()
    with pytest.raises(StudentError) as info:
        s.call("connect")
    assert info.value.type.endswith("NetworkRefused") and "network access is not allowed" in info.value.message
    if "net" in PROT.namespaces:  # a fresh interpreter has no audit hook: the namespace stops it
        assert s.call("connect_without_hook") == str(errno.ENETUNREACH)


@needs_bwrap
def test_host_files_and_other_sandboxes_are_invisible(open_session, tmp_path):
    host_marker = Path("/tmp") / (MARKER + "-host")
    host_marker.write_text("host secret")
    try:
        other = open_session()
        assert other.call("make_file", (MARKER + "-other",)) is True
        s = open_session()
        assert s.uid != other.uid or s.uid is None
        staging = other.resources()["staging"]
        paths = [str(REPO / "pyproject.toml"), str(REPO / "dlgrade"), str(REPO / ".git"), "/root",
                 str(host_marker), staging, staging + "/submission/hostile.py", "/work", "/tmp", "/etc/shadow",
                 "/usr/share/datasets", "/home", "/run", "/sys"]
        seen = s.call("look", (paths,))
        for p in paths[:3] + [str(host_marker), staging, staging + "/submission/hostile.py", "/home", "/run", "/sys"]:
            assert seen[p] == errno.ENOENT, (p, seen[p])
        assert seen["/root"] == [".pyenv"] or not str(sys.base_prefix).startswith("/root")
        assert MARKER + "-other" not in seen["/work"] and MARKER + "-other" not in seen["/tmp"]
        assert seen["/etc/shadow"] == errno.EACCES or PROT.mode != "bwrap-root"
        assert seen["/usr/share/datasets"] in ([], errno.ENOENT)
    finally:
        host_marker.unlink()


@needs_bwrap
def test_writing_outside_work_and_tmp_is_refused(open_session):
    s = open_session()
    refused = ["/usr/x", "/etc/x", "/x", "/root/x", "/runtime/x", "/submission/x", "/submission/hostile.py",
               "/inbox/x", "/runtime/dlgrade/autograde/protocol.py", f"{sys.prefix}/x", f"{sys.base_prefix}/x",
               "/proc/x", "/dev/x"]
    result = s.call("write", (refused + ["/work/ok", "/tmp/ok", "/dev/shm/ok"],))
    for p in refused:
        assert isinstance(result[p], int), (p, result[p])  # any refusal errno (EROFS, EACCES, ENOENT, ...)
    assert result["/work/ok"] == result["/tmp/ok"] == result["/dev/shm/ok"] == "written"


@needs_bwrap
def test_proc_shows_only_the_sandbox(open_session):
    s = open_session()
    procs = s.call("processes")
    assert len(procs) <= 3, procs
    assert all("bwrap" in c or "dlgrade.autograde.runtime.server" in c for c in procs.values()), procs
    assert not any("pytest" in c for c in procs.values())


@pytest.mark.skipif(not any(p.name == "dlgrade package hidden" and p.active for p in PROT.items),
                    reason="this machine's sandbox cannot hide the grader's files (see protections)")
def test_reference_code_is_not_importable(open_session):
    s = open_session()
    names = ["dlgrade", "dlgrade.questions", "dlgrade.grader", "dlgrade.grader.hidden", "dlgrade.tasks",
             "dlgrade.cli", "dlgrade.rubrics", "dlgrade.data", "dlgrade.autograde.sandbox"]
    got = s.call("imports", (names,))
    assert got["dlgrade"].endswith("/runtime/dlgrade/__init__.py")
    for n in names[1:]:
        assert got[n].startswith("ImportError"), (n, got[n])


def test_oversized_and_deep_return_values_are_protocol_errors(open_session):
    s = open_session()
    with pytest.raises(SandboxDied) as info:
        s.call("huge")
    assert info.value.cause == "protocol" and "per array" in info.value.detail
    s.restart()
    with pytest.raises(SandboxDied) as info:
        s.call("deep")
    assert info.value.cause == "protocol" and "nested deeper" in info.value.detail


def test_forged_frames_are_refused_or_ignored_and_noted(open_session):
    s = open_session()
    assert s.call("forge_other_id", (7,)) == 7
    assert any("does not answer this request" in n for n in s.notes)
    with pytest.raises(SandboxDied) as info:
        s.call("forge_garbage")
    assert info.value.cause == "protocol" and "bad frame start" in info.value.detail
    s.restart()
    t = time.monotonic()
    with pytest.raises(SandboxDied) as info:
        s.call("forge_huge_claim")
    assert info.value.cause == "protocol" and "over the limit" in info.value.detail
    assert time.monotonic() - t < 10  # refused at once, not after the 30 s sleep


def test_file_names_are_checked():
    for bad in ("../x.py", "/etc/passwd", "a/../../b", "", "a\\b"):
        with pytest.raises(ValueError):
            Session(submission={bad: b""})
    with pytest.raises(ValueError, match="core runtime"):
        Session(runtime_files={"dlgrade/autograde/protocol.py": b"evil"})


# ------------------------------------------------------------------------------------ TensorFlow

TF_SRC = '''
import os
import numpy as np


def fit():
    import keras
    m = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)])
    m.compile("adam", "mse")
    x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
    h = m.fit(x, x.sum(1), epochs=2, verbose=0)
    return {"loss": h.history["loss"], "pred": m.predict(x[:2], verbose=0), "model": m}


def tune():
    import keras
    import keras_tuner as kt

    def build(hp):
        m = keras.Sequential([keras.Input((4,)), keras.layers.Dense(hp.Int("units", 4, 8, step=4)), keras.layers.Dense(1)])
        m.compile("adam", "mse")
        return m

    x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
    folder = os.path.join(os.environ["HOME"], "kt")
    tuner = kt.RandomSearch(build, objective="val_loss", max_trials=1, directory=folder, project_name="p")
    tuner.search(x, x.sum(1), validation_split=0.25, epochs=1, verbose=0)
    return {"best": tuner.get_best_hyperparameters(1)[0].values, "files": sorted(os.listdir(os.path.join(folder, "p")))}
'''


@pytest.mark.slow
def test_tensorflow_keras_fit_and_keras_tuner_inside(open_session):
    s = open_session(src=TF_SRC, memory_mb=3072, timeout_s=180)
    out = s.call("fit")
    assert len(out["loss"]) == 2 and all(np.isfinite(out["loss"])) and out["pred"].shape == (2, 1)
    assert isinstance(out["model"], Opaque) and out["model"].type.endswith("Sequential")
    tuned = s.call("tune")
    assert tuned["best"]["units"] in (4, 8) and "oracle.json" in tuned["files"]
    warnings = [line for line in s.tail(20000).splitlines() if "/sys" in line or "/proc" in line]
    assert not warnings, warnings


# ------------------------------------------------------------------------------------ fallbacks

FALLBACK_SCRIPT = textwrap.dedent('''
    import json, os, sys, time
    from dlgrade.autograde.sandbox import Limits, SandboxDied, Session, StudentError, protections
    p = protections()
    out = {"protections": p.to_dict(), "describe": p.describe()}
    src = b"import os, subprocess, time\\ndef add(a, b):\\n    return a + b\\n" \\
          b"def daemon():\\n    subprocess.Popen(['setsid', 'sleep', '1000'])\\n    time.sleep(0.3)\\n    return 1\\n" \\
          b"def hog():\\n    x = b'x' * (900 << 20)\\n    time.sleep(30)\\n"
    with Session(submission={"m.py": src}, limits=Limits(memory_mb=400, timeout_s=60)) as s:
        s.load("m.py")
        out["add"] = s.call("add", (1, 2))
        out["daemon"] = s.call("daemon")
        token = s.resources()["token"]
        try:
            s.call("hog")
            out["hog"] = "survived"
        except SandboxDied as e:
            out["hog"] = e.cause
        except StudentError as e:  # RLIMIT_DATA without a memory cgroup
            out["hog"] = e.type
    time.sleep(0.2)
    mine = []
    for pid in os.listdir("/proc"):
        try:
            if pid.isdigit() and token.encode() in open(f"/proc/{pid}/environ", "rb").read():
                mine.append(pid)
        except OSError:
            pass
    out["left"] = mine
    print("RESULT " + json.dumps(out))
''')


def _run_fallback(as_nobody: bool, bwrap: bool) -> dict:
    """Runs FALLBACK_SCRIPT in a world where Python and the repository are readable by everyone
    (bubblewrap as root: a tmpfs root with read-only binds), as uid 65534 or as root."""
    env = {"PATH": "/usr/bin:/bin", "HOME": "/tmp", "LANG": "C.UTF-8", "PYTHONPATH": str(REPO)}
    if not bwrap:
        env["DLGRADE_BWRAP"] = ""
    cgroups = "--ro-bind" if as_nobody else "--bind"  # root may create cgroups; uid 65534 may not
    # The host's /proc and pid namespace (not new ones): a kernel lets a user namespace mount proc only
    # where a fully visible proc is already mounted, as on a real host.
    argv = ["bwrap", "--die-with-parent", "--bind", "/proc", "/proc", "--dev", "/dev",
            "--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc", "--perms", "01777", "--tmpfs", "/tmp",
            "--tmpfs", "/run", "--perms", "0755", "--dir", "/sys", "--perms", "0755", "--dir", "/sys/fs", cgroups, "/sys/fs/cgroup", "/sys/fs/cgroup"]
    for name in ("bin", "sbin", "lib", "lib64"):
        if os.path.islink(f"/{name}"):
            argv += ["--symlink", os.readlink(f"/{name}"), f"/{name}"]
    argv += ro_bind_args(_ro_binds() + [str(REPO)], {"/", "/tmp", "/usr", "/etc", "/sys"})
    argv.append("--")
    if as_nobody:
        argv += ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all",
                 "--bounding-set=-all", "--"]
    argv += [sys.executable, "-c", FALLBACK_SCRIPT]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=240, env=env)
    lines = [line for line in r.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, f"rc={r.returncode}\nstdout={r.stdout[-3000:]}\nstderr={r.stderr[-3000:]}"
    return json.loads(lines[-1][len("RESULT "):])


def _userns_works() -> bool:
    """Whether uid 65534 can start bubblewrap in a user namespace on this host."""
    r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "bwrap", "--unshare-user",
                        "--unshare-pid", "--unshare-net", "--ro-bind", "/", "/", "--proc", "/proc", "true"],
                       capture_output=True, timeout=30)
    return r.returncode == 0


@pytest.mark.slow
@needs_root
@pytest.mark.parametrize("as_nobody, bwrap", [(True, True), (True, False), (False, False)],
                         ids=["nobody-bwrap", "nobody-plain", "root-plain"])
def test_fallbacks_work_and_say_what_is_missing(as_nobody, bwrap):
    out = _run_fallback(as_nobody, bwrap)
    prot, text = out["protections"], out["describe"]
    assert out["add"] == 3 and out["daemon"] == 1
    assert out["left"] == [], "a process of the sandbox survived close()"
    assert out["hog"] == ("memory" if "memory" in prot["cgroup_controllers"] else "MemoryError"), out
    if as_nobody:
        assert not prot["root"] and not prot["own_uid"]
        assert "own uid per sandbox" in text and "NOT available: not root" in text
        assert "memory limit  NOT available" in text or "memory limit NOT available" in " ".join(text.split())
        assert prot["rss_watchdog"] and "RSS watchdog" in text
    if not bwrap:
        assert prot["mode"] == "plain" and "disabled by DLGRADE_BWRAP" in text
        assert prot["namespaces"] == [] and not prot["tmpfs_size"]
        assert "network audit hook" in text
    else:
        assert prot["mode"] == ("bwrap-userns" if _userns_works() else "plain"), text
        if prot["mode"] == "bwrap-userns":
            assert {"pid", "mnt", "net", "ipc", "uts"} <= set(prot["namespaces"]) and prot["tmpfs_size"]
            assert "dlgrade package hidden" in text and "hidden  NOT" not in text
    if not as_nobody:
        assert prot["own_uid"] and prot["cgroup_version"] == PROT.cgroup_version


@needs_root
@pytest.mark.skipif(os.access(sys.executable, os.X_OK, effective_ids=False) and
                    all(os.stat(p).st_mode & 0o005 == 0o005 for p in Path(sys.executable).resolve().parents),
                    reason="Python is usable by other users here")
def test_as_root_without_bubblewrap_or_a_usable_uid_no_student_code_runs():
    code = ("from dlgrade.autograde.sandbox import *\np = protections()\nprint(p.mode)\n"
            "try:\n    Session()\nexcept SandboxUnavailable as e:\n    print('REFUSED', e)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                       env={**os.environ, "DLGRADE_BWRAP": "", "PYTHONPATH": str(REPO)})
    assert r.stdout.startswith("none\nREFUSED no safe way"), r.stdout + r.stderr
    assert "NO SANDBOX CAN RUN" in r.stdout


# ------------------------------------------------------------------------------------ host resources

@needs_root
def test_a_uid_held_by_another_process_is_never_handed_out():
    from dlgrade.autograde.host import UidLease

    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent("""
        import sys, time
        from dlgrade.autograde.host import UidLease
        lease = UidLease.acquire()
        print(lease.uid, flush=True)
        time.sleep(30)
    """)], stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        uid = int(holder.stdout.readline())
        assert UidLease.try_claim(uid) is None  # flock held by the other process
        mine = UidLease.acquire()
        try:
            assert mine.uid != uid
        finally:
            mine.release()
    finally:
        holder.kill()
        holder.wait()
    lease = UidLease.try_claim(uid)  # free again once its holder is gone
    assert lease is not None
    lease.release()


@needs_root
@pytest.mark.skipif(not PROT.cgroup_version, reason="no writable cgroups here")
def test_cgroups_left_by_a_dead_grader_are_swept():
    from dlgrade.autograde.host import UID_BASE, Cgroup, UidLease, sweep_stale_cgroups

    lease = UidLease.acquire()
    uid = lease.uid
    parents = dict(PROT.cgroup_dirs)
    cg = Cgroup(PROT.cgroup_version, parents, f"dlgrade-sandbox-{uid}", 64, 8, 0.1)
    orphan = subprocess.Popen(["sleep", "300"])
    for procs in cg.procs_files:
        Path(procs.decode()).write_text(str(orphan.pid))
    lease.release()  # the grader "died": its lease is gone, the cgroup and its process are not
    assert UID_BASE <= uid and all(os.path.isdir(d) for d in cg.unique_dirs)
    removed = sweep_stale_cgroups(parents)
    assert set(cg.unique_dirs) <= set(removed)
    assert orphan.wait(timeout=5) == -9
    assert not any(os.path.exists(d) for d in cg.unique_dirs)


def test_cgroup_v2_files_are_written_as_the_kernel_expects(tmp_path):
    """No cgroup v2 controllers on the development machine (v1 holds them): check what would be written."""
    from dlgrade.autograde.host import Cgroup

    cg = Cgroup(2, {"memory": str(tmp_path), "pids": str(tmp_path), "cpu": str(tmp_path)}, "dlgrade-sandbox-x",
                512, 40, 0.5)
    d = tmp_path / "dlgrade-sandbox-x"
    assert cg.unique_dirs == [str(d)] and cg.procs_files == [str(d / "cgroup.procs").encode()]
    assert (d / "memory.max").read_text() == str(512 << 20)
    assert (d / "pids.max").read_text() == "40" and (d / "cpu.max").read_text() == "50000 100000"
    (d / "memory.events").write_text("low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n")
    (d / "cpu.stat").write_text("usage_usec 2500000\nuser_usec 2000000\n")
    assert cg.oom_kills() == 1 and cg.cpu_seconds() == 2.5
