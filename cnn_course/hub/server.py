"""``cnn-course hub start | stop | status``: the course hub on this machine (what ``make hub`` runs).

``start`` (root; idempotent: a running hub is only reported) lays out the hub folder
(:mod:`.settings`), installs the course configuration of ``hub/`` and the libraries users
import, makes the accounts (:mod:`.accounts`), gives the instructor a course folder with
``release/`` and a gradebook (``nbgrader generate_assignment``, as the instructor), then
starts JupyterHub (its own process group, log in ``state/jupyterhub.log``) and waits until it
answers. ``stop`` stops it, every user's server with it; ``status`` says whether one runs.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from .. import editions
from ..layout import Course
from . import accounts, asuser
from .settings import REPO, Hub, this_python

START_S = 120


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _copy_tree(src: Path, dest: Path) -> None:
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for folder, _dirs, files in os.walk(dest):  # readable by every user, writable by root only
        os.chmod(folder, 0o755)
        for f in files:
            os.chmod(os.path.join(folder, f), 0o644)


def lay_out(hub: Hub) -> None:
    """The hub folder (see :mod:`.settings`): exchange, role configuration, libraries, state."""
    hub.root.mkdir(parents=True, exist_ok=True)
    hub.root.chmod(0o755)
    hub.exchange.mkdir(exist_ok=True)
    hub.exchange.chmod(0o1777)  # nbgrader's docs: everyone writes; sticky: each entry stays its owner's
    (hub.state / "stage").mkdir(parents=True, exist_ok=True)
    hub.state.chmod(0o700)
    for role in ("student", "instructor"):
        _copy_tree(REPO / "hub" / "etc" / role, hub.etc(role))
        shutil.copy(REPO / "hub" / "nbgrader_config.py", hub.etc(role) / "nbgrader_config.py")
        os.chmod(hub.etc(role) / "nbgrader_config.py", 0o644)
    _copy_tree(REPO / "cnnlib", hub.lib("student") / "cnnlib")  # students: the library, nothing else
    _copy_tree(REPO / "cnn_course", hub.lib("course") / "cnn_course")
    os.chmod(hub.root / "etc", 0o755)
    os.chmod(hub.root / "lib", 0o755)


def course_folder(hub: Hub, only: list[str] | None = None) -> Path:
    """The instructor's course folder (made once), owned by the instructor: its ``source/`` is the
    default edition (Traditional Chinese) of this checkout's ``source/``, cut as ``make release``
    cuts it (:mod:`..editions`), with this checkout's nbgrader_config.py; release/ and the
    gradebook come from ``nbgrader generate_assignment``, run as the instructor (every
    assignment, or ``only`` these)."""
    home = os.path.expanduser(f"~{hub.instructor}")
    course = hub.course_dir(home)
    if (course / "gradebook.db").exists():
        return course
    course.mkdir(exist_ok=True)
    shutil.rmtree(course / "source", ignore_errors=True)
    editions.build(REPO, editions.DEFAULT, Course(REPO).assignments(), dest=course / "source")
    shutil.copy(REPO / "nbgrader_config.py", course / "nbgrader_config.py")
    subprocess.run(["chown", "-R", f"{hub.instructor}:{hub.instructor}", str(course)], check=True)
    course.chmod(0o700)
    for assignment in only or Course(course).assignments():
        done = asuser.run_as(hub, hub.instructor, ["nbgrader", "generate_assignment", assignment, "--force"],
                             cwd=course, timeout=600)
        if done.returncode != 0:
            raise RuntimeError(f"nbgrader generate_assignment {assignment} as {hub.instructor} failed:\n"
                               + (done.stdout + done.stderr)[-3000:])
    return course


def proxy_command() -> str:
    """configurable-http-proxy: $CNN_HUB_PROXY, .hub/ of this checkout (make hub), or PATH."""
    for candidate in (os.environ.get("CNN_HUB_PROXY"), REPO / ".hub" / "node_modules" / ".bin" / "configurable-http-proxy",
                      shutil.which("configurable-http-proxy")):
        if candidate and os.access(candidate, os.X_OK):
            return str(candidate)
    raise FileNotFoundError("configurable-http-proxy is not installed: run `make hub` (it installs it with npm "
                            "into .hub/) or `npm install -g configurable-http-proxy`")


def answers(hub: Hub, timeout: float = 5) -> bool:
    """Whether the hub answers at its address (its REST API's version, through the proxy)."""
    try:
        with urllib.request.urlopen(f"{hub.url}/hub/api/", timeout=timeout) as resp:
            return "version" in json.loads(resp.read())
    except (urllib.error.URLError, OSError, ValueError):
        return False


def _pid(hub: Hub) -> int | None:
    path = hub.state / "hub.pid"
    try:
        pid = int(path.read_text())
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError):
        return None


def report(hub: Hub) -> str:
    lines = [f"course hub {hub.url}  (course {hub.course_id}; exchange {hub.exchange}; log {hub.state}/jupyterhub.log)",
             f"instructor's course folder: {hub.course_dir(os.path.expanduser(f'~{hub.instructor}'))}",
             "accounts (user, password; also in " + str(accounts.passwords(hub)) + ", root only):"]
    known = accounts.known_accounts(hub)
    for user in [hub.instructor, *hub.student_names()]:
        lines.append(f"  {user:<24} {known.get(user, '?')}")
    return "\n".join(lines)


def start(folder: str, port: int, students: int, prefix: str = "cnn-", only: list[str] | None = None) -> Hub:
    """Start the course hub (see the module doc); return its settings. Raises RuntimeError."""
    if os.geteuid() != 0:
        raise RuntimeError("the course hub runs as root: it logs users in with PAM and starts each "
                           "user's server as that user (run `sudo make hub`)")
    try:
        old = Hub.load(folder)
        if _pid(old) and answers(old):
            return old
        stop(folder)
    except FileNotFoundError:
        pass
    if not _port_free(port):
        raise RuntimeError(f"port {port} of 127.0.0.1 is taken: choose another (make hub HUB_PORT=...)")
    hub = Hub(dir=str(Path(folder).resolve()), port=port, students=students, prefix=prefix,
              course_id=Course(REPO).course_id(), hub_port=_free_port(), proxy_api_port=_free_port(),
              python=this_python())
    lay_out(hub)
    hub.save()
    accounts.ensure_accounts(hub)
    course_folder(hub, only)
    env = dict(os.environ, CNN_HUB_DIR=hub.dir, CNN_HUB_PROXY=proxy_command(), PYTHONPATH=str(REPO),
               PATH=f"{hub.venv_bin}:{os.environ.get('PATH', '/usr/bin:/bin')}")
    with open(hub.state / "jupyterhub.log", "ab") as log:
        proc = subprocess.Popen([hub.python, "-m", "jupyterhub", "-f", str(REPO / "hub" / "jupyterhub_config.py")],
                                cwd=hub.state, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
    (hub.state / "hub.pid").write_text(str(proc.pid))
    deadline = time.monotonic() + START_S
    while not answers(hub, timeout=2):
        if proc.poll() is not None or time.monotonic() > deadline:
            tail = (hub.state / "jupyterhub.log").read_text(errors="replace")[-4000:]
            stop(hub.dir)
            raise RuntimeError(f"JupyterHub did not come up on {hub.url}; its log:\n{tail}")
        time.sleep(0.5)  # poll interval while the hub starts
    return hub


def stop(folder: str) -> bool:
    """Stop the hub of ``folder`` and every process it started; False when none ran."""
    import psutil

    try:
        hub = Hub.load(folder)
    except FileNotFoundError:
        return False
    pid = _pid(hub)
    if pid is None:
        return False
    family = psutil.Process(pid).children(recursive=True)
    os.kill(pid, signal.SIGTERM)  # JupyterHub stops every user's server and the proxy (cleanup_servers)
    _, alive = psutil.wait_procs([psutil.Process(pid), *family], timeout=60)
    for p in alive:
        try:
            p.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(alive, timeout=10)
    (hub.state / "hub.pid").unlink(missing_ok=True)
    return True


def status(folder: str) -> str:
    try:
        hub = Hub.load(folder)
    except FileNotFoundError as exc:
        return str(exc)
    return report(hub) if _pid(hub) and answers(hub) else f"no course hub runs from {folder}"


def main(action: str, folder: str, port: int, students: int, prefix: str, only: list[str] | None = None) -> int:
    try:
        if action == "start":
            t0 = time.perf_counter()
            hub = start(folder, port, students, prefix, only)
            print(report(hub))
            print(f"(up in {time.perf_counter() - t0:.1f} s; stop it with `make hub-stop`)")
        elif action == "stop":
            print("stopped the course hub" if stop(folder) else f"no course hub ran from {folder}")
        else:
            print(status(folder))
    except (RuntimeError, FileNotFoundError) as exc:
        print(f"cnn-course hub: {exc}", file=sys.stderr)
        return 1
    return 0
