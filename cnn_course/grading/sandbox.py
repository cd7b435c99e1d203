"""The sandbox's settings and users: who a student kernel runs as, and with what limits.

* :class:`Limits`: ``setrlimit`` limits on memory (``RLIMIT_DATA``), CPU time, processes,
  file size, open files and core dumps;
* :class:`SandboxSettings`: what a grading process needs to start sandboxed kernels; it
  travels from :mod:`~cnn_course.grading.autograde` to the nbgrader process in the
  ``CNN_COURSE_SANDBOX`` environment variable (JSON);
* unprivileged users ``cnn-sandbox-N`` (:func:`ensure_user`, created when missing), claimed
  per grading run with a lock (:func:`claimed_users`), and whatever they leave running killed
  (:func:`kill_user_processes`);
* :func:`protect_course`: ``source/``, ``submitted/``, ``autograded/``, ``feedback/`` and the
  gradebook made ``0700``/``0600``, so kernels running as those users cannot read hidden
  tests or other students' work, write grades or signal the grader.

Where users cannot be created (not root), kernels run as the grader's user with the limits
only, and a warning says so. The kernels themselves start in :mod:`~cnn_course.grading.kernels`;
what is done to each kernel process is :mod:`~cnn_course.grading.confine`.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import pwd
import resource
import shutil
import signal
import subprocess
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..layout import PRIVATE

ENV_VAR = "CNN_COURSE_SANDBOX"
USER_PREFIX = "cnn-sandbox-"


@dataclass(frozen=True)
class Limits:
    """Per-kernel resource limits (``setrlimit``): bytes, CPU seconds, process count."""

    memory: int = 1536 * 2**20  # RLIMIT_DATA: heap and anonymous mappings
    cpu_seconds: int = 600  # RLIMIT_CPU: SIGXCPU, then SIGKILL
    processes: int = 256  # RLIMIT_NPROC, per sandbox user (threads count)
    file_size: int = 64 * 2**20  # RLIMIT_FSIZE: a larger write fails with EFBIG
    open_files: int = 1024  # RLIMIT_NOFILE

    def __post_init__(self):
        for name, value in asdict(self).items():
            if not isinstance(value, int) or value <= 0:
                raise ValueError(f"Limits.{name}: expected a positive integer, got {value!r}")

    def pairs(self) -> list[tuple[str, int]]:
        """(``resource`` constant name, value) of every limit, core dumps (0) included."""
        return [("RLIMIT_DATA", self.memory), ("RLIMIT_CPU", self.cpu_seconds),
                ("RLIMIT_NPROC", self.processes), ("RLIMIT_FSIZE", self.file_size),
                ("RLIMIT_NOFILE", self.open_files), ("RLIMIT_CORE", 0)]

    def apply(self) -> None:
        """Set these limits on the calling process (soft = hard, so they cannot be raised)."""
        for name, value in self.pairs():
            resource.setrlimit(getattr(resource, name), (value, value))


@dataclass(frozen=True)
class SandboxSettings:
    """What a grading process needs to start sandboxed kernels."""

    workspace: str  # folder (mode 0711) that holds the kernels' working copies
    uid: int | None = None  # None: run kernels as the grader's own user
    gid: int | None = None
    limits: Limits = field(default_factory=Limits)
    forkserver: bool = True  # fork kernels from a zygote that imported PRELOAD (grading.zygote)

    def to_env(self) -> str:
        return json.dumps({**asdict(self), "limits": asdict(self.limits)})

    @classmethod
    def from_env(cls, text: str | None = None) -> SandboxSettings:
        text = text if text is not None else os.environ.get(ENV_VAR)
        if not text:
            raise RuntimeError(f"{ENV_VAR} is not set: SandboxKernelManager runs under `cnn-course autograde`")
        data = json.loads(text)
        return cls(data["workspace"], data["uid"], data["gid"], Limits(**data["limits"]),
                   data.get("forkserver", True))


def ensure_user(slot: int) -> tuple[int, int] | None:
    """(uid, gid) of the sandbox user ``cnn-sandbox-<slot>``, created when missing.

    Returns None, with a warning, where that is impossible (not root, no ``useradd``).
    """
    name = f"{USER_PREFIX}{slot}"
    try:
        pw = pwd.getpwnam(name)
        return pw.pw_uid, pw.pw_gid
    except KeyError:
        pass
    if os.geteuid() != 0 or not shutil.which("useradd"):
        warnings.warn(
            f"cnn-course: cannot create the sandbox user {name} (not root or no useradd): student "
            f"kernels run as {pwd.getpwuid(os.geteuid()).pw_name} with resource limits only; they can "
            f"read what that user reads. Run autograde as root, or create {name} yourself.",
            stacklevel=2,
        )
        return None
    subprocess.run(
        ["useradd", "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent",
         "--shell", "/usr/sbin/nologin", name],
        check=False, capture_output=True,
    )
    try:
        pw = pwd.getpwnam(name)
    except KeyError:
        warnings.warn(f"cnn-course: useradd {name} failed; kernels run without a separate user", stacklevel=2)
        return None
    return pw.pw_uid, pw.pw_gid


@contextlib.contextmanager
def claimed_users(count: int):
    """``count`` sandbox users (as :func:`ensure_user` gives them) that no other grading run uses.

    Each slot ``cnn-sandbox-N`` is claimed with an ``flock`` on ``/run/lock/cnn-sandbox-N.lock``
    for as long as the ``with`` block runs; slots claimed by a concurrent ``cnn-course
    autograde`` are skipped. Runs that shared a user would kill each other's kernels
    (:func:`kill_user_processes` after every kernel). Without root there are no users to claim.
    """
    if os.geteuid() != 0:
        yield [ensure_user(i + 1) for i in range(count)]
        return
    lock_dir = Path("/run/lock") if os.path.isdir("/run/lock") else Path("/tmp")
    held, users, slot = [], [], 0
    try:
        while len(users) < count:
            slot += 1
            fd = os.open(lock_dir / f"{USER_PREFIX}{slot}.lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            held.append(fd)
            users.append(ensure_user(slot))
        yield users
    finally:
        for fd in held:
            os.close(fd)


def kill_user_processes(uid: int) -> None:
    """SIGKILL every process of ``uid`` (left-over children of a student's kernel)."""
    if uid == os.geteuid() or uid == 0:
        return
    pid = os.fork()
    if pid == 0:  # child: become the user, kill(-1) reaches exactly that user's processes
        try:
            os.setgroups([])
            os.setuid(uid)
            os.kill(-1, signal.SIGKILL)
        except OSError:
            pass
        os._exit(0)
    os.waitpid(pid, 0)


def tool_checkout() -> Path | None:
    """The course directory these tools run from (a clone with source/ and nbgrader_config.py), if any.

    Grading another course folder (a copy, the hub's) leaves the clone's own answers on the same
    machine: they need the same protection.
    """
    root = Path(__file__).resolve().parents[2]
    return root if (root / "source").is_dir() and (root / "nbgrader_config.py").is_file() else None


def protect_course(course: Path) -> list[str]:
    """Remove group/other access to source/, submitted/, autograded/, feedback/ and gradebook.db.

    Returns the paths whose mode changed. Student kernels run as other users, so this is
    what keeps hidden tests, hand-ins and grades out of their reach.
    """
    changed = []
    for name in PRIVATE:
        p = course / name
        if p.exists():
            mode = p.stat().st_mode & 0o777
            if mode & 0o077:
                p.chmod(mode & 0o700)
                changed.append(str(p))
    return changed


