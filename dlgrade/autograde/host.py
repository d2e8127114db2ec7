"""Host resources of one sandbox: its own uid, its cgroup, and finding and killing its processes.

Root only (or a delegated cgroup): an exclusive uid per sandbox (:class:`UidLease`, an ``flock`` on a
per-uid lock file held for the sandbox's life) and a cgroup per sandbox (:class:`Cgroup`, v1 or v2,
created under the grader's own cgroup) that counts the memory of every process and tmpfs page, caps
processes and CPU, detects OOM kills, and kills everything in it (freeze, SIGKILL, thaw).
"""

from __future__ import annotations

import fcntl
import os
import secrets
import signal
import time
from pathlib import Path

UID_BASE = int(os.environ.get("DLGRADE_SANDBOX_UID_BASE", "1900000000"))
UID_COUNT = 65536
UID_LOCK_DIR = Path(os.environ.get("DLGRADE_SANDBOX_LOCK_DIR", "/run/dlgrade-sandbox-uids"))
CGROUP_PREFIX = "dlgrade-sandbox-"


class HostError(RuntimeError):
    """A host resource (uid, cgroup) could not be claimed."""


def pids_of_uid(uid: int) -> list[int]:
    """Live (not zombie) processes with ``uid`` as real, effective, saved or filesystem uid."""
    pids = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/status", "rb") as f:
                for line in f:
                    if line.startswith(b"State:") and line.split()[1] in (b"Z", b"X"):
                        break
                    if line.startswith(b"Uid:"):
                        if uid in (int(x) for x in line.split()[1:]):
                            pids.append(int(name))
                        break
        except (OSError, ValueError, IndexError):
            continue
    return pids


def tasks_of_uid(uid: int) -> int:
    """Processes and threads whose real uid is ``uid`` (what ``RLIMIT_NPROC`` counts)."""
    total = 0
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/status", "rb") as f:
                ruid = threads = None
                for line in f:
                    if line.startswith(b"Uid:"):
                        ruid = int(line.split()[1])
                    elif line.startswith(b"Threads:"):
                        threads = int(line.split()[1])
                if ruid == uid:
                    total += threads or 1
        except (OSError, ValueError, IndexError):
            continue
    return total


def process_table() -> dict[int, tuple[int, int]]:
    """pid -> (ppid, rss bytes) of every live (not zombie) process."""
    page = os.sysconf("SC_PAGE_SIZE")
    table = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read()
            fields = stat[stat.rindex(b")") + 2:].split()
            if fields[0] in (b"Z", b"X"):  # zombies hold nothing and can do nothing
                continue
            table[int(name)] = (int(fields[1]), int(fields[21]) * page)
        except (OSError, ValueError, IndexError):
            continue
    return table


def memory_bytes(pid: int, rss: int) -> int:
    """The process's proportional share of memory (PSS: shared pages divided among their users, so
    forked children are not counted many times over), or ``rss`` where PSS cannot be read."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as f:
            for line in f:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return rss


def descendants(root: int, table: dict) -> list[int]:
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        for c in children.get(pid, ()):
            out.append(c)
            todo.append(c)
    return out


def pids_with_token(token: bytes) -> list[int]:
    uid = os.getuid()
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            if os.stat(f"/proc/{name}").st_uid != uid:
                continue
            with open(f"/proc/{name}/environ", "rb") as f:
                if token in f.read():
                    out.append(int(name))
        except OSError:
            continue
    return out


def kill_all(pids) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def _read(path: Path | str) -> str:
    with open(path) as f:
        return f.read()


def _write(path: Path | str, text: str) -> None:
    with open(path, "w") as f:
        f.write(text)


# ------------------------------------------------------------------------------------------ uids

class UidLease:
    """An exclusive claim on one sandbox uid: an ``flock`` held on a per-uid lock file for the
    sandbox's life, so no two sandboxes (in any process on the machine) share a uid."""

    def __init__(self, uid: int, fd: int):
        self.uid, self._fd = uid, fd

    @staticmethod
    def _lock_dir() -> Path:
        UID_LOCK_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = os.lstat(UID_LOCK_DIR)
        if not os.path.isdir(UID_LOCK_DIR) or os.path.islink(UID_LOCK_DIR) or st.st_uid != 0 or st.st_mode & 0o022:
            raise HostError(f"{UID_LOCK_DIR} must be a root-owned folder not writable by others")
        return UID_LOCK_DIR

    @classmethod
    def try_claim(cls, uid: int) -> "UidLease | None":
        """The lease of ``uid``, or None when another sandbox holds it or a process still runs as it."""
        fd = os.open(cls._lock_dir() / str(uid), os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        lease = cls(uid, fd)
        if pids_of_uid(uid):  # a leftover of a grader that died: never reuse a live uid
            lease.release()
            return None
        return lease

    @classmethod
    def acquire(cls, avoid: set | None = None) -> "UidLease":
        """Claims a free uid from ``UID_BASE``..``UID_BASE + UID_COUNT - 1`` (not one in ``avoid``)."""
        start = secrets.randbelow(UID_COUNT)
        for i in range(UID_COUNT):
            uid = UID_BASE + (start + i) % UID_COUNT
            if avoid and uid in avoid:
                continue
            lease = cls.try_claim(uid)
            if lease is not None:
                return lease
        raise HostError(f"all {UID_COUNT} sandbox uids from {UID_BASE} are in use")

    def release(self) -> None:
        if self._fd is not None:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            finally:
                os.close(self._fd)
                self._fd = None


# ---------------------------------------------------------------------------------------- cgroups

_V1_CONTROLLERS = ("memory", "pids", "cpu", "cpuacct", "freezer")
_V2_CONTROLLERS = ("memory", "pids", "cpu")


def detect_cgroups() -> tuple[int | None, dict[str, str], str]:
    """(version, controller -> parent folder to create sandbox cgroups in, reason when unusable).

    The parent is the grader's own cgroup in each hierarchy, so sandboxes stay inside whatever
    limits the grader itself runs under."""
    try:
        own = {}
        for line in _read("/proc/self/cgroup").splitlines():
            hid, ctrls, path = line.split(":", 2)
            for c in (ctrls.split(",") if ctrls else [""]):
                own[c] = path
        mounts = []
        for line in _read("/proc/self/mountinfo").splitlines():
            left, _, right = line.partition(" - ")
            lf, rf = left.split(), right.split()
            if len(rf) >= 3 and rf[0] in ("cgroup", "cgroup2"):
                mounts.append((rf[0], lf[3], lf[4], set(rf[2].split(","))))
    except OSError as e:
        return None, {}, f"cannot read the cgroup layout ({e})"

    def folder(mount_root: str, mount_point: str, path: str) -> str | None:
        if mount_root == "/":
            rel = path
        elif path == mount_root or path.startswith(mount_root.rstrip("/") + "/"):
            rel = path[len(mount_root):]
        else:
            return None
        return os.path.normpath(mount_point + "/" + rel)

    v1: dict[str, str] = {}
    hidden_v1 = []
    for fstype, root, point, opts in mounts:
        if fstype != "cgroup":
            continue
        for c in _V1_CONTROLLERS:
            if c in opts and c in own and c not in v1:
                d = folder(root, point, own[c])
                if d and os.path.isdir(d):
                    v1[c] = d
                elif d:
                    hidden_v1.append(d)
    if "memory" in v1 or "pids" in v1:
        unwritable = [c for c, d in v1.items() if not os.access(d, os.W_OK)]
        if unwritable:
            return None, {}, (f"cgroup v1 folders {', '.join(v1[c] for c in unwritable)} are not writable by uid "
                              f"{os.geteuid()} (needs root or a delegated cgroup)")
        return 1, v1, ""
    for fstype, root, point, _ in mounts:
        if fstype != "cgroup2" or "" not in own:
            continue
        d = folder(root, point, own[""])
        if not d or not os.path.isdir(d):
            continue
        try:
            available = set(_read(os.path.join(d, "cgroup.controllers")).split())
        except OSError:
            continue
        wanted = [c for c in _V2_CONTROLLERS if c in available]
        if "memory" not in wanted:
            continue
        if not os.access(d, os.W_OK):
            return None, {}, f"cgroup v2 folder {d} is not writable by uid {os.geteuid()} (needs root or delegation)"
        enabled = set(_read(os.path.join(d, "cgroup.subtree_control")).split())
        for c in wanted:
            if c not in enabled:
                try:
                    _write(os.path.join(d, "cgroup.subtree_control"), f"+{c}")
                except OSError as e:
                    return None, {}, (f"cannot enable the {c} controller under {d} ({e.strerror}; the grader's own "
                                      "cgroup holds processes: run it in a delegated cgroup, e.g. systemd-run "
                                      "--scope -p Delegate=yes)")
        return 2, {c: d for c in wanted}, ""
    if hidden_v1:
        return None, {}, (f"cgroup v1 is mounted but the grader's own cgroup folders ({', '.join(hidden_v1[:2])}...) "
                          f"are not accessible to uid {os.geteuid()} (needs root or a delegated cgroup)")
    return None, {}, "no cgroup hierarchy with a memory or pids controller is mounted"


class Cgroup:
    """One sandbox's cgroup (a folder per v1 hierarchy, or one v2 folder) with its limits.

    Args:
        version: 1 or 2 (from :func:`detect_cgroups`).
        parents: controller -> folder to create it in.
        name: the cgroup's folder name (a leftover of that name is emptied and replaced).
        memory_mb, processes, cpus: the limits.
    """

    def __init__(self, version: int, parents: dict[str, str], name: str, memory_mb: int, processes: int, cpus: float):
        self.version = version
        self.dirs: dict[str, str] = {c: os.path.join(p, name) for c, p in parents.items()}
        self.unique_dirs = sorted(set(self.dirs.values()))
        for d in self.unique_dirs:
            if os.path.isdir(d):  # a leftover of a grader that died with this uid: clear it
                self._kill_dir(d)
                self._rmdir(d)
            os.mkdir(d, 0o755)
        mem = memory_mb << 20
        quota = max(int(cpus * 100_000), 1000)
        if version == 1:
            if "memory" in self.dirs:
                _write(self._f("memory", "memory.limit_in_bytes"), str(mem))
                if os.path.exists(self._f("memory", "memory.memsw.limit_in_bytes")):
                    _write(self._f("memory", "memory.memsw.limit_in_bytes"), str(mem))
            if "pids" in self.dirs:
                _write(self._f("pids", "pids.max"), str(processes))
            if "cpu" in self.dirs:
                _write(self._f("cpu", "cpu.cfs_period_us"), "100000")
                _write(self._f("cpu", "cpu.cfs_quota_us"), str(quota))
        else:
            if "memory" in self.dirs:
                _write(self._f("memory", "memory.max"), str(mem))
                for name, value in (("memory.swap.max", "0"), ("memory.oom.group", "1")):
                    if os.path.exists(self._f("memory", name)):
                        _write(self._f("memory", name), value)
            if "pids" in self.dirs:
                _write(self._f("pids", "pids.max"), str(processes))
            if "cpu" in self.dirs:
                _write(self._f("cpu", "cpu.max"), f"{quota} 100000")

    def _f(self, controller: str, name: str) -> str:
        return os.path.join(self.dirs[controller], name)

    @property
    def procs_files(self) -> list[bytes]:
        return [os.path.join(d, "cgroup.procs").encode() for d in self.unique_dirs]

    def pids(self) -> set[int]:
        out = set()
        for d in self.unique_dirs:
            try:
                out.update(int(x) for x in _read(os.path.join(d, "cgroup.procs")).split())
            except OSError:
                pass
        return out

    def oom_kills(self) -> int:
        if "memory" not in self.dirs:
            return 0
        name = "memory.oom_control" if self.version == 1 else "memory.events"
        try:
            for line in _read(self._f("memory", name)).splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill":
                    return int(value)
        except (OSError, ValueError):
            pass
        return 0

    def cpu_seconds(self) -> float | None:
        try:
            if self.version == 1 and "cpuacct" in self.dirs:
                return int(_read(self._f("cpuacct", "cpuacct.usage"))) / 1e9
            if self.version == 2 and "cpu" in self.dirs:
                for line in _read(self._f("cpu", "cpu.stat")).splitlines():
                    if line.startswith("usage_usec "):
                        return int(line.split()[1]) / 1e6
        except (OSError, ValueError):
            pass
        return None

    def kill_all(self, spare: int | None = None, timeout: float = 10.0) -> bool:
        """Freezes, SIGKILLs everything, thaws; repeats until empty. True when empty.

        ``spare``: a pid left alive (bubblewrap's outer process, so that it reaps its child itself
        instead of leaving a zombie to the host's init)."""
        deadline = time.monotonic() + timeout
        while True:
            pids = self.pids() - {spare}
            if not pids:
                return True
            if time.monotonic() > deadline:
                return False
            kill_file = os.path.join(self.unique_dirs[0], "cgroup.kill")
            if self.version == 2 and spare is None and os.path.exists(kill_file):
                try:
                    _write(kill_file, "1")
                except OSError:
                    kill_all(pids)
            else:
                frozen = self._freeze(True)
                kill_all(self.pids() - {spare})
                if frozen:
                    self._freeze(False)
            time.sleep(0.02)

    def _freeze(self, on: bool) -> bool:
        try:
            if self.version == 1 and "freezer" in self.dirs:
                _write(self._f("freezer", "freezer.state"), "FROZEN" if on else "THAWED")
                if on:
                    end = time.monotonic() + 1.0
                    while _read(self._f("freezer", "freezer.state")).strip() != "FROZEN" and time.monotonic() < end:
                        time.sleep(0.005)
                return True
            if self.version == 2:
                _write(os.path.join(self.unique_dirs[0], "cgroup.freeze"), "1" if on else "0")
                return True
        except OSError:
            pass
        return False

    @staticmethod
    def _kill_dir(d: str) -> None:
        for _ in range(100):
            try:
                pids = [int(x) for x in _read(os.path.join(d, "cgroup.procs")).split()]
            except OSError:
                return
            if not pids:
                return
            kill_all(pids)
            time.sleep(0.02)

    @staticmethod
    def _rmdir(d: str, timeout: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout
        while True:
            try:
                os.rmdir(d)
                return True
            except FileNotFoundError:
                return True
            except OSError:
                if time.monotonic() > deadline:
                    return False
                time.sleep(0.02)

    def remove(self) -> bool:
        ok = self.kill_all()
        for d in self.unique_dirs:
            ok = self._rmdir(d) and ok
        return ok


def sweep_stale_cgroups(parents: dict[str, str]) -> list[str]:
    """Removes sandbox cgroups that a grader which died left behind: those named after a uid whose
    lease nobody holds (killing what is in them). Returns the folders removed."""
    removed = []
    for parent in sorted(set(parents.values())):
        try:
            names = [n for n in os.listdir(parent) if n.startswith(CGROUP_PREFIX)]
        except OSError:
            continue
        for name in names:
            uid = name[len(CGROUP_PREFIX):]
            if not uid.isdigit() or not UID_BASE <= int(uid) < UID_BASE + UID_COUNT:
                continue
            lease = UidLease.try_claim(int(uid))
            if lease is None:
                continue
            try:
                d = os.path.join(parent, name)
                Cgroup._kill_dir(d)
                if Cgroup._rmdir(d, timeout=1.0):
                    removed.append(d)
            finally:
                lease.release()
    return removed
