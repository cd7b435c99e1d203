"""The sandbox applied to one process: its environment and its privileges, written once.

Both ways a student kernel starts use these two functions: launched as a command
(:class:`~cnn_course.grading.kernels.SandboxKernelManager`'s ``preexec_fn``) and forked from
the fork server (:mod:`cnn_course.grading.zygote`). Neither imports anything heavy, so the
forked child can call them before it becomes a kernel.
"""

from __future__ import annotations

import os
import resource
from collections.abc import Mapping

# environment variables a kernel keeps; everything else of the grader's is dropped (HW2's test
# set, $CNNLIB_HW2_TEST and $CNNLIB_DATA_DIR, stays with the grader: its labels never enter the sandbox)
KEEP_ENV = ("PATH", "PYTHONPATH", "LANG", "LC_ALL", "MPLBACKEND", "NBGRADER_EXECUTION", "CNNLIB_LANG")


def kernel_env(base: Mapping[str, str], home: str, tmp: str, keep_prefixes: tuple[str, ...] = ()) -> dict[str, str]:
    """The scrubbed environment of a sandboxed process whose home folder is ``home``.

    Keeps :data:`KEEP_ENV` (and names starting with ``keep_prefixes``) of ``base``; no tokens,
    database URLs or settings of the grader. Caches and temporary files go under ``home``;
    one thread per library, so parallel kernels do not fight over the cores.
    """
    env = {k: v for k, v in base.items() if k in KEEP_ENV or k.startswith(keep_prefixes)}
    env.update(
        HOME=home, TMPDIR=tmp, MPLCONFIGDIR=os.path.join(home, ".matplotlib"),
        IPYTHONDIR=os.path.join(home, ".ipython"), OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
        MALLOC_ARENA_MAX="2", PYTHONDONTWRITEBYTECODE="1",
    )
    return env


def confine(uid: int | None, gid: int | None, limits: list[tuple[str, int]], needed: list[str], stage: str) -> None:
    """Sandbox the calling process (a kernel that has not yet run student code).

    In this order: where ``uid`` is given, a private mount namespace that shows the sandbox
    user only the ``needed`` folders of private trees (:func:`mounts.expose`, root only); the
    ``setrlimit`` limits (soft = hard, so they cannot be raised again); umask 077; then the
    unprivileged user and group, with no supplementary groups. Raises OSError when a step fails.
    """
    if uid is not None:
        from . import mounts

        mounts.expose(needed, stage)
    for name, value in limits:
        resource.setrlimit(getattr(resource, name), (value, value))
    os.umask(0o077)
    if uid is not None:
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)
