"""Student kernels started in the sandbox: a drop-in kernel manager for nbgrader.

nbgrader starts each kernel through ``jupyter_client``; :class:`SandboxKernelManager` (set
with ``c.Execute.kernel_manager_class``) starts the same ``ipykernel``, but in a ``0700``
working copy of the hand-in folder that the sandbox user owns, with a scrubbed environment,
``setrlimit`` limits and that user (:mod:`~cnn_course.grading.confine`). The kernel is forked
from the grading process's :class:`Zygote` (:mod:`~cnn_course.grading.zygote`: NumPy, torch
and matplotlib imported once), or launched as a command where that is not possible.
"""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import stat
import subprocess
import sys
import threading
import uuid
import warnings
import weakref
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager

from . import confine
from .sandbox import SandboxSettings, kill_user_processes

# The kernel imports these while it starts (not counted in a cell's time limit, which
# then measures the student's code and not a slow import on a busy machine), then runs
# exactly what `python -m ipykernel_launcher` runs.
PRELOAD = "import numpy, torch, matplotlib; from ipykernel import kernelapp; kernelapp.launch_new_instance()"


class SandboxKernelManager(AsyncKernelManager):
    """A kernel manager that starts the kernel as the sandbox user, limited, in a working copy."""

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw):
        settings = SandboxSettings.from_env()
        parent_env = kw.get("env") or os.environ
        self.sandbox_home = Path(kw.get("cwd") or os.getcwd())  # where stock nbgrader runs the notebook
        work = self.sandbox_work = _working_copy(self.sandbox_home, settings)
        conn = work / ".kernel-connection.json"
        shutil.copy(self.connection_file, conn)
        cmd = [str(conn) if a == self.connection_file else a for a in kernel_cmd]
        zygote = None
        if cmd[1:3] == ["-m", "ipykernel_launcher"]:  # import the heavy libraries before the first cell
            cmd[1:3] = ["-c", PRELOAD]
            if settings.forkserver and os.path.realpath(cmd[0]) == os.path.realpath(sys.executable):
                zygote = Zygote.get(settings, parent_env)
        if zygote is not None and zygote.font_cache:
            (work / ".matplotlib").mkdir(exist_ok=True)
            for f in Path(zygote.font_cache).glob("fontlist-*.json"):
                shutil.copy(f, work / ".matplotlib" / f.name)
        if settings.uid is not None:
            _chown_tree(work, settings.uid, settings.gid)
        work.chmod(0o700)
        env = confine.kernel_env(parent_env, str(work), str(work / "tmp"), ("JPY_",))
        needed = [p for p in (sys.base_prefix, sys.prefix, *env.get("PYTHONPATH", "").split(os.pathsep)) if p]
        stage = work / ".stage"
        stage.mkdir()
        self.sandbox_uid = settings.uid
        if zygote is not None:
            env["JPY_PARENT_PID"] = str(os.getpid())  # what launch_kernel adds
            proc = zygote.spawn(cmd, str(work), env, settings, needed, str(stage))
            if proc is not None:
                self._adopt_process(proc, work)
                return None
        limits = settings.limits.pairs()
        kw.update(cwd=str(work), env=env,
                  preexec_fn=lambda: confine.confine(settings.uid, settings.gid, limits, needed, str(stage)))
        return await super()._async_launch_kernel(cmd, **kw)

    def _adopt_process(self, proc: subprocess.Popen, work: Path) -> None:
        """Make the provisioner track a kernel that the zygote forked."""
        prov = self.provisioner
        prov.process, prov.pid, prov.cwd = proc, proc.pid, str(work)
        try:
            prov.pgid = os.getpgid(proc.pid)
        except OSError:
            prov.pgid = None
        self._reconcile_connection_info(prov.connection_info)
        self.log.debug("kernel %d forked by the zygote", proc.pid)

    async def shutdown_kernel(self, now: bool = False, restart: bool = False) -> None:
        """Shut the kernel down, then kill whatever it left running as the sandbox user.

        The next student graded by this worker runs as the same user: no process of this
        student may outlive the kernel to disturb it.
        """
        await super().shutdown_kernel(now=now, restart=restart)
        if getattr(self, "sandbox_uid", None) is not None:
            kill_user_processes(self.sandbox_uid)
            Zygote.reap_orphans(self.sandbox_uid)
        if getattr(self, "sandbox_work", None) is not None and not restart:
            copy_back(self.sandbox_work, self.sandbox_home)


def _working_copy(src: Path, settings: SandboxSettings) -> Path:
    """A copy of the hand-in folder (files the notebook reads, not the notebooks) in the workspace."""
    work = Path(settings.workspace) / uuid.uuid4().hex
    shutil.copytree(src, work, ignore=shutil.ignore_patterns("*.ipynb", "timestamp.txt"))
    (work / "tmp").mkdir(exist_ok=True)
    return work


# what the sandbox itself puts into a working copy (not the notebook's own files)
SANDBOX_ENTRIES = {".kernel-connection.json", "tmp", ".stage", ".matplotlib", ".ipython", ".cache", ".config"}
COPY_BACK_BYTES = 256 * 2**20  # at most this much of what a notebook wrote comes back


def copy_back(work: Path, home: Path, limit: int = COPY_BACK_BYTES) -> list[str]:
    """Copy the files a notebook wrote in its working copy to ``home``, as stock nbgrader would leave them.

    Only regular files with one link that are new or changed (size or time) come back, and
    at most ``limit`` bytes; symbolic links and the sandbox's own entries never do. Runs after
    every process of the sandbox user is gone, so nothing changes while it reads. Returns the
    relative paths copied.
    """
    copied, budget = [], limit
    for dirpath, dirnames, filenames in os.walk(work):
        rel_dir = Path(dirpath).relative_to(work)
        if rel_dir == Path("."):
            dirnames[:] = [d for d in dirnames if d not in SANDBOX_ENTRIES]
            filenames = [f for f in filenames if f not in SANDBOX_ENTRIES]
        for name in filenames:
            src, rel = Path(dirpath) / name, rel_dir / name
            st = os.lstat(src)
            if not stat.S_ISREG(st.st_mode) or st.st_nlink != 1 or st.st_size > budget:
                continue
            dest = home / rel
            try:
                old = os.lstat(dest)
                if old.st_size == st.st_size and int(old.st_mtime) == int(st.st_mtime):
                    continue
            except FileNotFoundError:
                pass
            dest.parent.mkdir(parents=True, exist_ok=True)
            if dest.is_symlink() or dest.is_dir():
                continue
            shutil.copyfile(src, dest, follow_symlinks=False)
            budget -= st.st_size
            copied.append(str(rel))
    return copied


def _chown_tree(root: Path, uid: int, gid: int) -> None:
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [dirpath, *(os.path.join(dirpath, n) for n in dirnames + filenames)]:
            os.lchown(name, uid, gid)


class Zygote:
    """The fork server of one grading process (see :mod:`cnn_course.grading.zygote`).

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
        env = confine.kernel_env(kernel_env, str(home), str(home))
        req_r, req_w = os.pipe()
        ans_r, ans_w = os.pipe()
        try:
            proc = subprocess.Popen(
                [sys.executable, "-c", f"from cnn_course.grading.zygote import main; main({req_r}, {ans_w})"],
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
