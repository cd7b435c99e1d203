"""Many students fetching and submitting at the same moment, each as their own account.

``python -m cnn_course.hub.load --dir HUBDIR ASSIGNMENT USER...`` (root) forks one process per
student from a parent that has imported nbgrader once; each child becomes its student exactly as
the hub prepares a student's server (:func:`.asuser.preexec`), waits at a common start line, then
runs nbgrader's own ``fetch_assignment`` and ``submit`` (the command line's apps, in-process) in
the student's home, with a file ``handed_in_by.txt`` naming the student added to the hand-in.
Prints one JSON line: seconds from the start line until every student had submitted, and each
student's exit status. The load test (tests/test_hub.py) then collects as the instructor.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from . import asuser
from .settings import Hub


def _nbgrader(*argv: str) -> int:
    """``nbgrader ARGV`` in a child process of this one (nbgrader's apps are singletons)."""
    from nbgrader.apps.nbgraderapp import NbGraderApp

    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            NbGraderApp.launch_instance(argv=list(argv))
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        finally:
            os._exit(code)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


def _student(hub: Hub, user: str, assignment: str, start_line: int) -> int:
    """In the forked child: become ``user``, wait for the start, fetch, mark, submit."""
    asuser.preexec(hub, asuser.drop_to(user))()
    os.environ.clear()
    os.environ.update(asuser.environment(hub, user))
    os.read(start_line, 1)  # every student starts at once
    if _nbgrader("fetch_assignment", assignment) != 0:
        return 3
    Path(assignment, "handed_in_by.txt").write_text(f"{user}\n", encoding="utf-8")
    return 4 if _nbgrader("submit", assignment) != 0 else 0


def run(hub: Hub, assignment: str, users: list[str]) -> dict:
    """Fork a student process per user, start them together, wait for all (module doc)."""
    from nbgrader.apps import fetchassignmentapp, nbgraderapp, submitapp  # noqa: F401 (imported once, here)

    read_end, write_end = os.pipe()
    children = {}
    for user in users:
        pid = os.fork()
        if pid == 0:
            os.close(write_end)
            code = 1
            try:
                code = _student(hub, user, assignment, read_end)
            finally:
                os._exit(code)
        children[pid] = user
    os.close(read_end)
    t0 = time.perf_counter()
    os.write(write_end, b"x" * len(users))
    status = {}
    while children:
        pid, raw = os.wait()
        if pid in children:
            status[children.pop(pid)] = os.waitstatus_to_exitcode(raw)
    return {"students": len(users), "submit_all_s": round(time.perf_counter() - t0, 2), "exit": status}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m cnn_course.hub.load", description=__doc__.split("\n\n")[0])
    p.add_argument("--dir", default="/srv/cnn-course")
    p.add_argument("assignment")
    p.add_argument("users", nargs="+")
    args = p.parse_args(argv)
    result = run(Hub.load(args.dir), args.assignment, args.users)
    print(json.dumps(result))
    return 0 if all(code == 0 for code in result["exit"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
