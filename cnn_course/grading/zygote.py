"""A fork server for student kernels: import torch once per grading process, not once per notebook.

Every kernel of the lecture imports NumPy, torch and matplotlib before its first cell
(:data:`~cnn_course.grading.kernels.PRELOAD`); on a small machine that is about half of the time
a hand-in takes to grade. The zygote is one Python process per ``nbgrader autograde`` run,
started by :class:`~cnn_course.grading.kernels.SandboxKernelManager` with the kernels' scrubbed
environment, that imports exactly what ``PRELOAD`` imports and then only forks. A kernel is
a fresh fork of it that does, in order, what ``Popen`` and the sandbox's ``preexec_fn`` do
for a launched kernel: new session, stdin from ``/dev/null``, working copy as cwd, the
kernel's own environment, then :func:`~cnn_course.grading.confine.confine` (the same function
the ``preexec_fn`` calls: mount namespace, limits, umask, user); then it runs ``ipykernel``
as ``python -c PRELOAD -f CONNECTION`` would.

The zygote holds nothing of the grader (no gradebook, no source notebooks, no hand-ins):
it is started from this module alone and reads only kernel requests. Kernels are forked
through a short-lived middle process, so that they are re-parented to the grading process
(a child subreaper): it waits for them, reads their exit status and signals them as it
would a kernel it had started itself.

Protocol (one JSON object per line): the grader writes ``{"argv", "cwd", "env", "uid",
"gid", "limits", "needed", "stage", "parent"}`` to the request pipe, the zygote answers
``{"pid": N}`` or ``{"error": "..."}``; it says ``{"ready": CACHE_DIR}`` once after the
imports. It exits when the request pipe closes.
"""

from __future__ import annotations

import json
import os
import sys
import time

from cnn_course.grading.confine import confine


def _build_font_cache() -> None:
    """matplotlib's font list, built once in a throw-away child (kernels get a copy of the file)."""
    pid = os.fork()
    if pid == 0:
        try:
            import matplotlib.font_manager  # noqa: F401  (writes fontlist-*.json to MPLCONFIGDIR)
        finally:
            os._exit(0)
    os.waitpid(pid, 0)


def _reset_after_fork() -> None:
    """Per-process state that a fresh interpreter would have set up differently."""
    import tempfile

    tempfile.tempdir = None
    try:  # NumPy's global RandomState was seeded once, in the zygote
        import numpy.random

        numpy.random.seed()
    except Exception:
        pass
    try:  # matplotlib memoised the zygote's config folder when it was imported
        import matplotlib

        f = matplotlib.get_configdir
        cells = dict(zip(f.__code__.co_freevars, f.__closure__ or (), strict=False))
        if "called" in cells and "ret" in cells:
            cells["called"].cell_contents = False
            cells["ret"].cell_contents = None
    except Exception:
        pass


def _become_kernel(spec: dict, close: list[int], report: int) -> None:
    """In the forked kernel: sandbox this process, then run ipykernel. Never returns."""
    code = 70
    try:
        for fd in close:
            os.close(fd)
        os.setsid()
        os.write(report, f"{os.getpid()}\n".encode())
        os.close(report)
        deadline = time.monotonic() + 10
        while os.getppid() != spec["parent"]:  # the middle process exits: re-parented to the grader
            if time.monotonic() > deadline:
                os._exit(code)
            time.sleep(0.001)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        os.chdir(spec["cwd"])
        os.environ.clear()
        os.environ.update(spec["env"])
        confine(spec["uid"], spec["gid"], [tuple(p) for p in spec["limits"]], spec["needed"], spec["stage"])
        _reset_after_fork()
        sys.argv = list(spec["argv"])
    except BaseException:
        import traceback

        traceback.print_exc()
        os._exit(code)
    code = 0
    try:
        from ipykernel import kernelapp

        kernelapp.launch_new_instance()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:
        import traceback

        traceback.print_exc()
        code = 1
    finally:
        try:
            import atexit

            atexit._run_exitfuncs()
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def _spawn(spec: dict, req_fd: int, resp_fd: int) -> int:
    r, w = os.pipe()
    middle = os.fork()
    if middle == 0:  # the middle process: fork the kernel and exit at once
        try:
            if os.fork() == 0:
                _become_kernel(spec, [req_fd, resp_fd, r], w)
        finally:
            os._exit(0)
    os.close(w)
    with os.fdopen(r, "rb") as fh:
        line = fh.readline()
    os.waitpid(middle, 0)
    if not line.strip():
        raise RuntimeError("the kernel process did not start")
    return int(line)


def main(req_fd: int, resp_fd: int) -> None:
    import numpy, torch, matplotlib  # noqa: E401, F401, I001  (exactly kernels.PRELOAD's imports, in its order)
    from ipykernel import kernelapp  # noqa: F401

    _build_font_cache()
    requests = os.fdopen(req_fd, "r", encoding="utf-8")
    answers = os.fdopen(resp_fd, "w", encoding="utf-8", buffering=1)
    answers.write(json.dumps({"ready": os.environ.get("MPLCONFIGDIR", "")}) + "\n")
    for line in requests:
        try:
            answer = {"pid": _spawn(json.loads(line), req_fd, resp_fd)}
        except Exception as exc:
            answer = {"error": f"{type(exc).__name__}: {exc}"}
        answers.write(json.dumps(answer) + "\n")
