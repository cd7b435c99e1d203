"""The instructor's steps on the course hub, in order (``cnn-course hub release | grade``).

Run as root on the hub's machine (a shell on the course server): the exchange steps run as the
instructor's account, exactly as ``nbgrader`` would in the instructor's own terminal; grading runs
as root, so that ``cnn-course autograde`` can put every student's kernel in a sandbox user of
its own (as the instructor, kernels would run as the instructor and could read the course folder).

    cnn-course hub release lecture      nbgrader release_assignment lecture      (as the instructor)
    cnn-course hub grade lecture        nbgrader collect lecture --update        (as the instructor)
                                        cnn-course autograde lecture --jobs N    (root, sandboxed;
                                          what it wrote is then handed back to the instructor)
                                        nbgrader generate_feedback lecture --force (as the instructor)
                                        nbgrader release_feedback lecture        (as the instructor)
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from ..layout import PRIVATE, Course
from . import asuser
from .settings import Hub


def course_of(hub: Hub) -> Course:
    return Course(hub.course_dir(os.path.expanduser(f"~{hub.instructor}")))


def as_instructor(hub: Hub, *args: str, timeout: float = 900) -> float:
    """``nbgrader ARGS`` as the instructor in the course folder; seconds taken. Raises RuntimeError."""
    t0 = time.perf_counter()
    done = asuser.run_as(hub, hub.instructor, ["nbgrader", *args], cwd=course_of(hub).root, timeout=timeout)
    took = time.perf_counter() - t0
    print(f"[{hub.instructor}] nbgrader {' '.join(args)}  ({took:.1f} s)", flush=True)
    if done.returncode != 0:
        raise RuntimeError(f"nbgrader {' '.join(args)} failed ({done.returncode}):\n{(done.stdout + done.stderr)[-3000:]}")
    return took


def hand_back(hub: Hub, course: Course) -> None:
    """Give what grading (root) wrote in the course folder back to the instructor's account."""
    paths = [str(course.root / name) for name in PRIVATE if (course.root / name).exists()]
    subprocess.run(["chown", "-R", f"{hub.instructor}:{hub.instructor}", *paths], check=True)


def release(hub: Hub, assignment: str) -> int:
    as_instructor(hub, "release_assignment", assignment, "--force")
    return 0


def grade(hub: Hub, assignment: str, jobs: int) -> dict[str, float]:
    """Collect, autograde, generate and release feedback (module doc); seconds per step."""
    from ..cli import cmd_autograde

    course = course_of(hub)
    took = {"collect": as_instructor(hub, "collect", assignment, "--update")}
    t0 = time.perf_counter()
    code = cmd_autograde(course, assignment, jobs, None, None)
    took["autograde"] = time.perf_counter() - t0
    hand_back(hub, course)
    if code != 0:
        raise RuntimeError(f"cnn-course autograde {assignment} failed ({code})")
    took["generate_feedback"] = as_instructor(hub, "generate_feedback", assignment, "--force")
    took["release_feedback"] = as_instructor(hub, "release_feedback", assignment)
    return took


def main(action: str, folder: str, assignment: str, jobs: int) -> int:
    if os.geteuid() != 0:
        print("cnn-course hub: run this as root on the hub's machine (the exchange steps run as the "
              "instructor, grading in sandbox users)", file=sys.stderr)
        return 2
    try:
        hub = Hub.load(folder)
        if action == "release":
            return release(hub, assignment)
        took = grade(hub, assignment, jobs)
    except (RuntimeError, FileNotFoundError) as exc:
        print(f"cnn-course hub: {exc}", file=sys.stderr)
        return 1
    print("\n" + ", ".join(f"{k} {v:.1f} s" for k, v in took.items()))
    print(f"feedback released: students press 'Fetch Feedback' in the Assignments tab; "
          f"course folder {Path(course_of(hub).root)}")
    return 0
