"""A process as one of the course's users: what the hub's spawner and the instructor's commands share.

Every process the hub starts for a user (a JupyterLab server, ``nbgrader collect`` for the
instructor, a student's ``nbgrader submit`` in the load test) is prepared the same way, in the
child between ``fork`` and ``exec`` (:func:`preexec`, root only):

1. **The Python it needs, and only that** (:func:`cnn_course.grading.mounts.show_only`): the
   virtual environment and its base interpreter often sit where other users cannot enter
   (``/root`` is 0700; CI caches its venv in ``/root/.cache``, pyenv lives in ``/root/.pyenv``).
   In a private mount namespace of this process, each such folder is covered by an empty tmpfs
   that shows just those two folders: ``/root`` keeps its mode, and nothing else in it shows.
2. **The repository's checkout out of sight**: it holds ``source/`` (every answer and hidden
   test); where it is readable by others (a clone in ``/tmp`` or ``/work``), it is covered too,
   keeping only a ``.venv`` inside it. Users import ``cnnlib`` from a copy in ``lib/student``.
3. Then JupyterHub's own privilege drop: groups, gid, uid, home folder.

:func:`environment` is the environment of such a process: the venv's ``bin`` on PATH, the
role's Jupyter configuration (``etc/<role>``) and libraries (``lib/<role>``), nothing of root's.
"""

from __future__ import annotations

import os
import pwd
import subprocess
from collections.abc import Callable
from pathlib import Path

from ..grading import mounts
from .settings import Hub


def role_of(hub: Hub, user: str) -> str:
    return "instructor" if user == hub.instructor else "student"


def private_trees(hub: Hub) -> list[str]:
    """Checkouts of this project that users must not see: the hub's own, and the one the virtual
    environment sits in (or was installed from), when that folder is a course (it has source/)."""
    trees = {os.path.realpath(hub.repo)}
    venv = Path(hub.python).parent.parent
    for folder in (venv.parent, *venv.parents):
        if (folder / "source").is_dir() and (folder / "nbgrader_config.py").exists():
            trees.add(str(folder))
            break
    return sorted(trees)


def needed_folders(hub: Hub) -> list[str]:
    """The folders a user's Python reads: the virtual environment and its base interpreter."""
    venv = Path(hub.python).parent.parent
    base = Path(os.path.realpath(hub.python)).parent.parent  # e.g. /root/.pyenv/versions/3.11.7
    return [str(venv), str(base)]


def environment(hub: Hub, user: str) -> dict[str, str]:
    """The environment of a process of ``user`` on the hub (no variable of the hub's own)."""
    pw = pwd.getpwnam(user)
    role = role_of(hub, user)
    libs = [str(hub.lib("student"))] + ([str(hub.lib("course"))] if role == "instructor" else [])
    env = {
        "PATH": f"{hub.venv_bin}:/usr/local/bin:/usr/bin:/bin",
        "HOME": pw.pw_dir,
        "USER": user,
        "LOGNAME": user,
        "SHELL": pw.pw_shell or "/bin/bash",
        "LANG": os.environ.get("LANG", "C.UTF-8"),
        "PYTHONPATH": os.pathsep.join(libs),
        "JUPYTER_CONFIG_PATH": str(hub.etc(role)),
        "CNN_HUB_EXCHANGE": str(hub.exchange),
        "CNN_HUB_COURSE_ID": hub.course_id,
    }
    if role == "instructor":
        env["CNN_HUB_COURSE_ROOT"] = str(hub.course_dir(pw.pw_dir))
    return env


def preexec(hub: Hub, then: Callable[[], None]) -> Callable[[], None]:
    """A ``preexec_fn``: the mounts of the module doc, then ``then`` (the privilege drop)."""
    needed, hide, stage = needed_folders(hub), private_trees(hub), str(hub.state / "stage")

    def prepare() -> None:
        mounts.show_only(needed, hide, stage)
        then()

    return prepare


def drop_to(user: str) -> Callable[[], None]:
    """Become ``user`` (groups, gid, uid) and go to their home folder: JupyterHub's own function."""
    from jupyterhub.spawner import set_user_setuid

    return set_user_setuid(user)


def run_as(hub: Hub, user: str, args: list[str], cwd: str | Path | None = None,
           timeout: float | None = None) -> subprocess.CompletedProcess:
    """Run ``args`` as ``user`` (root only), prepared as the hub prepares that user's server;
    ``python`` and ``nbgrader`` come from the hub's virtual environment. Output captured (text)."""
    if os.geteuid() != 0:
        raise PermissionError("running a command as a course user needs root")
    env = environment(hub, user)
    if args and args[0] in ("python", "nbgrader", "jupyter"):
        args = [str(hub.venv_bin / args[0]), *args[1:]]

    become = drop_to(user)  # made here: after the mounts, this checkout's modules may be out of sight

    def start_in() -> None:
        become()
        if cwd is not None:
            os.chdir(cwd)

    return subprocess.run(args, env=env, preexec_fn=preexec(hub, start_in), capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)
