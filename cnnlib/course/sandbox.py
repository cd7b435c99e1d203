"""Student kernels in a sandbox: an unprivileged user, resource limits, a private working copy.

nbgrader starts each kernel through ``jupyter_client``; :class:`SandboxKernelManager` is a
drop-in ``KernelManager`` (set with ``c.Execute.kernel_manager_class``) that starts the same
``ipykernel`` (forked from a :class:`Zygote` that imported :data:`PRELOAD` once, see
:mod:`cnnlib.course.zygote`, or launched as a command where that is not possible), but

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
:func:`claimed_users` gives concurrent grading runs different users.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import json
import os
import pwd
import resource
import shutil
import signal
import subprocess
import sys
import threading
import uuid
import warnings
import weakref
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
    forkserver: bool = True  # fork kernels from a zygote that imported PRELOAD (cnnlib.course.zygote)

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
        zygote = None
        if cmd[1:3] == ["-m", "ipykernel_launcher"]:  # import the heavy libraries before the first cell
            cmd[1:3] = ["-c", PRELOAD]
            if settings.forkserver and os.path.realpath(cmd[0]) == os.path.realpath(sys.executable):
                zygote = Zygote.get(settings, kw.get("env") or os.environ)
        if zygote is not None and zygote.font_cache:
            (work / ".matplotlib").mkdir(exist_ok=True)
            for f in Path(zygote.font_cache).glob("fontlist-*.json"):
                shutil.copy(f, work / ".matplotlib" / f.name)
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
        needed = [p for p in needed if p]
        self.sandbox_uid = settings.uid
        if zygote is not None:
            env["JPY_PARENT_PID"] = str(os.getpid())  # what launch_kernel adds
            proc = zygote.spawn(cmd, str(work), env, settings, needed, str(stage))
            if proc is not None:
                prov = self.provisioner
                prov.process, prov.pid, prov.cwd = proc, proc.pid, str(work)
                try:
                    prov.pgid = os.getpgid(proc.pid)
                except OSError:
                    prov.pgid = None
                self._reconcile_connection_info(prov.connection_info)
                self.log.debug("kernel %d forked by the zygote", proc.pid)
                return None
        kw.update(cwd=str(work), env=env, preexec_fn=_drop_privileges(settings, needed, str(stage)))
        return await super()._async_launch_kernel(cmd, **kw)

    async def shutdown_kernel(self, now: bool = False, restart: bool = False) -> None:
        """Shut the kernel down, then kill whatever it left running as the sandbox user.

        The next student graded by this worker runs as the same user: no process of this
        student may outlive the kernel to disturb it.
        """
        await super().shutdown_kernel(now=now, restart=restart)
        if getattr(self, "sandbox_uid", None) is not None:
            kill_user_processes(self.sandbox_uid)
            Zygote.reap_orphans(self.sandbox_uid)


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


class Zygote:
    """The fork server of one grading process (see :mod:`cnnlib.course.zygote`).

    Started on the first kernel launch, with the kernels' scrubbed environment and a home
    folder of its own in the workspace. Kernels it forks are re-parented to this process
    (``PR_SET_CHILD_SUBREAPER``), which waits for them like for any kernel it started. Where
    anything of that fails, :meth:`get` and :meth:`spawn` return None and kernels start the
    usual way.
    """

    _instance: Zygote | None = None
    _failed = False
    _kernels: weakref.WeakSet = weakref.WeakSet()  # running kernels forked by the zygote

    def __init__(self, proc: subprocess.Popen, requests, answers, font_cache: str):
        self.proc, self.requests, self.answers, self.font_cache = proc, requests, answers, font_cache

    @classmethod
    def get(cls, settings: SandboxSettings, kernel_env) -> Zygote | None:
        if cls._instance is not None and cls._instance.proc.poll() is None:
            return cls._instance
        if cls._failed or not sys.platform.startswith("linux"):
            return None
        cls._instance = None
        try:
            cls._instance = cls._start(settings, kernel_env)
        except Exception as exc:
            warnings.warn(f"cnn-course: no kernel fork server ({exc}); kernels start one by one", stacklevel=2)
            cls._failed = True
        return cls._instance

    @classmethod
    def _start(cls, settings: SandboxSettings, kernel_env) -> Zygote:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(36, 1, 0, 0, 0) != 0:  # PR_SET_CHILD_SUBREAPER
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")
        home = Path(settings.workspace) / f".zygote-{uuid.uuid4().hex[:8]}"
        home.mkdir(mode=0o700)
        env = {k: v for k, v in kernel_env.items() if k in KEEP_ENV}
        env.update(
            HOME=str(home), TMPDIR=str(home), MPLCONFIGDIR=str(home / ".matplotlib"),
            IPYTHONDIR=str(home / ".ipython"), OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
            MALLOC_ARENA_MAX="2", PYTHONDONTWRITEBYTECODE="1",
        )
        req_r, req_w = os.pipe()
        ans_r, ans_w = os.pipe()
        try:
            proc = subprocess.Popen(
                [sys.executable, "-c", f"from cnnlib.course.zygote import main; main({req_r}, {ans_w})"],
                env=env, cwd=str(home), stdin=subprocess.DEVNULL, pass_fds=(req_r, ans_w),
            )
        finally:
            os.close(req_r)
            os.close(ans_w)
        requests = os.fdopen(req_w, "w", encoding="utf-8", buffering=1)
        answers = os.fdopen(ans_r, "r", encoding="utf-8")
        line = answers.readline()
        if not line:
            proc.wait()
            raise RuntimeError(f"the fork server exited ({proc.returncode}) before it was ready")
        return cls(proc, requests, answers, json.loads(line).get("ready", ""))

    def spawn(self, argv, cwd: str, env: dict, settings: SandboxSettings, needed: list[str],
              stage: str) -> subprocess.Popen | None:
        """A kernel forked from the zygote, as a Popen of this process; None when that failed."""
        # sys.argv of `python -c CODE ARGS...` is ["-c", ARGS...]
        spec = {"argv": ["-c", *argv[3:]], "cwd": cwd, "env": env, "uid": settings.uid, "gid": settings.gid,
                "limits": settings.limits.pairs(), "needed": needed, "stage": stage, "parent": os.getpid()}
        try:
            self.requests.write(json.dumps(spec) + "\n")
            answer = json.loads(self.answers.readline() or "{}")
        except (OSError, ValueError) as exc:
            answer = {"error": str(exc)}
        if "pid" not in answer:
            warnings.warn(f"cnn-course: the kernel fork server failed ({answer.get('error', 'it exited')}); "
                          "kernels start one by one", stacklevel=2)
            Zygote._failed, Zygote._instance = True, None
            self.proc.kill()
            return None
        proc = _adopt(answer["pid"], argv)
        Zygote._kernels.add(proc)
        return proc

    @classmethod
    def reap_orphans(cls, uid: int) -> None:
        """Wait for dead processes of ``uid`` re-parented to this process (a kernel's children).

        Kernels still tracked by a Popen are left to it, so their exit status is not lost.
        """
        if cls._instance is None:
            return
        mine = {p.pid for p in cls._kernels if p.returncode is None}
        me = os.getpid()
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) in mine:
                continue
            try:
                with open(f"/proc/{entry}/stat", encoding="utf-8") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
                if fields[0] != "Z" or int(fields[1]) != me or os.stat(f"/proc/{entry}").st_uid != uid:
                    continue
                os.waitpid(int(entry), os.WNOHANG)
            except (OSError, IndexError, ValueError):
                continue


def _adopt(pid: int, args) -> subprocess.Popen:
    """A Popen for ``pid``, a child of this process that Popen did not start (poll, wait, signals)."""
    proc = object.__new__(subprocess.Popen)
    proc.args, proc.pid, proc.returncode = list(args), pid, None
    proc.stdin = proc.stdout = proc.stderr = None
    proc.encoding = proc.errors = None
    proc.text_mode, proc.pipesize = False, -1
    proc._sigint_wait_secs, proc._closed_child_pipe_fds = 0.25, False
    proc._communication_started, proc._input = False, None
    proc._waitpid_lock = threading.Lock()
    proc._child_created = True
    return proc
