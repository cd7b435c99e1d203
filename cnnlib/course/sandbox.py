"""Student kernels in a sandbox: an unprivileged user, resource limits, a private working copy.

nbgrader starts each kernel through ``jupyter_client``; :class:`SandboxKernelManager` is a
drop-in ``KernelManager`` (set with ``c.Execute.kernel_manager_class``) that starts the same
``ipykernel`` command, but

* as an unprivileged user (``cnn-sandbox-N``, created when missing), so the kernel cannot
  signal the grader, write the gradebook or read ``source/``, ``submitted/`` or other
  students' folders (those are kept ``0700``/``0600`` by :func:`protect_course`);
* with ``setrlimit`` limits on memory (``RLIMIT_DATA``), CPU time, processes, file size
  and core dumps (:class:`Limits`);
* in a working copy of the hand-in folder that the user owns (``0700``), with a small,
  scrubbed environment (no tokens or database URLs of the grader).

The settings travel from :mod:`cnnlib.course.autograde` to the nbgrader process in the
``CNN_COURSE_SANDBOX`` environment variable (JSON). Where users cannot be created (not
root), kernels run as the grader's user with the limits only, and a warning says so.
"""

from __future__ import annotations

import json
import os
import pwd
import resource
import shutil
import signal
import subprocess
import sys
import uuid
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager

from . import mounts

ENV_VAR = "CNN_COURSE_SANDBOX"
USER_PREFIX = "cnn-sandbox-"
# environment variables a kernel keeps; everything else of the grader's is dropped
# The kernel imports these while it starts (not counted in a cell's time limit, which
# then measures the student's code and not a slow import on a busy machine), then runs
# exactly what `python -m ipykernel_launcher` runs.
PRELOAD = "import numpy, torch, matplotlib; from ipykernel import kernelapp; kernelapp.launch_new_instance()"
KEEP_ENV = ("PATH", "PYTHONPATH", "LANG", "LC_ALL", "MPLBACKEND", "NBGRADER_EXECUTION", "CNNLIB_DATA_DIR",
            "CNNLIB_HW2_TEST")
# variables naming a file the kernel reads (HW2's test set): the sandbox user may not be
# able to read the grader's copy, so the kernel gets its own in the working copy
FILE_ENV = ("CNNLIB_HW2_TEST",)


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

    def apply(self) -> None:
        """Set these limits on the calling process (soft = hard, so they cannot be raised)."""
        for res, value in (
            (resource.RLIMIT_DATA, self.memory),
            (resource.RLIMIT_CPU, self.cpu_seconds),
            (resource.RLIMIT_NPROC, self.processes),
            (resource.RLIMIT_FSIZE, self.file_size),
            (resource.RLIMIT_NOFILE, self.open_files),
            (resource.RLIMIT_CORE, 0),
        ):
            resource.setrlimit(res, (value, value))


@dataclass(frozen=True)
class SandboxSettings:
    """What a grading process needs to start sandboxed kernels."""

    workspace: str  # folder (mode 0711) that holds the kernels' working copies
    uid: int | None = None  # None: run kernels as the grader's own user
    gid: int | None = None
    limits: Limits = field(default_factory=Limits)

    def to_env(self) -> str:
        return json.dumps({**asdict(self), "limits": asdict(self.limits)})

    @classmethod
    def from_env(cls, text: str | None = None) -> SandboxSettings:
        text = text if text is not None else os.environ.get(ENV_VAR)
        if not text:
            raise RuntimeError(f"{ENV_VAR} is not set: SandboxKernelManager runs under `cnn-course autograde`")
        data = json.loads(text)
        return cls(data["workspace"], data["uid"], data["gid"], Limits(**data["limits"]))


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


def protect_course(course: Path) -> list[str]:
    """Remove group/other access to source/, submitted/, autograded/, feedback/ and gradebook.db.

    Returns the paths whose mode changed. Student kernels run as other users, so this is
    what keeps hidden tests, hand-ins and grades out of their reach.
    """
    changed = []
    for name in ("source", "submitted", "autograded", "feedback", "gradebook.db"):
        p = course / name
        if p.exists():
            mode = p.stat().st_mode & 0o777
            if mode & 0o077:
                p.chmod(mode & 0o700)
                changed.append(str(p))
    return changed


class SandboxKernelManager(AsyncKernelManager):
    """A kernel manager that starts the kernel as the sandbox user, limited, in a working copy."""

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw):
        settings = SandboxSettings.from_env()
        src = Path(kw.get("cwd") or os.getcwd())
        work = Path(settings.workspace) / uuid.uuid4().hex
        shutil.copytree(src, work, ignore=shutil.ignore_patterns("*.ipynb", "timestamp.txt"))
        (work / "tmp").mkdir(exist_ok=True)
        files = {}
        for var in FILE_ENV:
            path = (kw.get("env") or os.environ).get(var, "")
            if path and os.path.isfile(path):
                files[var] = str(work / f".{var.lower()}{Path(path).suffix}")
                shutil.copyfile(path, files[var])
        conn = work / ".kernel-connection.json"
        shutil.copy(self.connection_file, conn)
        cmd = [str(conn) if a == self.connection_file else a for a in kernel_cmd]
        if cmd[1:3] == ["-m", "ipykernel_launcher"]:  # import the heavy libraries before the first cell
            cmd[1:3] = ["-c", PRELOAD]
        if settings.uid is not None:
            for dirpath, dirnames, filenames in os.walk(work):
                for name in [dirpath, *(os.path.join(dirpath, n) for n in dirnames + filenames)]:
                    os.lchown(name, settings.uid, settings.gid)
        work.chmod(0o700)
        env = {k: v for k, v in (kw.get("env") or os.environ).items() if k in KEEP_ENV or k.startswith("JPY_")}
        env.update(files)
        env.update(
            HOME=str(work), TMPDIR=str(work / "tmp"), MPLCONFIGDIR=str(work / ".matplotlib"),
            IPYTHONDIR=str(work / ".ipython"), OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
            MALLOC_ARENA_MAX="2", PYTHONDONTWRITEBYTECODE="1",
        )
        needed = [sys.base_prefix, sys.prefix, *env.get("PYTHONPATH", "").split(os.pathsep)]
        stage = work / ".stage"
        stage.mkdir()
        kw.update(cwd=str(work), env=env, preexec_fn=_drop_privileges(settings, [p for p in needed if p], str(stage)))
        self.sandbox_uid = settings.uid
        return await super()._async_launch_kernel(cmd, **kw)

    async def shutdown_kernel(self, now: bool = False, restart: bool = False) -> None:
        """Shut the kernel down, then kill whatever it left running as the sandbox user.

        The next student graded by this worker runs as the same user: no process of this
        student may outlive the kernel to disturb it.
        """
        await super().shutdown_kernel(now=now, restart=restart)
        if getattr(self, "sandbox_uid", None) is not None:
            kill_user_processes(self.sandbox_uid)


def _drop_privileges(settings: SandboxSettings, needed: list[str], stage: str):
    def preexec() -> None:  # runs in the forked child, before exec
        if settings.uid is not None:
            mounts.expose(needed, stage)
        settings.limits.apply()
        os.umask(0o077)
        if settings.uid is not None:
            os.setgroups([])
            os.setgid(settings.gid)
            os.setuid(settings.uid)

    return preexec
