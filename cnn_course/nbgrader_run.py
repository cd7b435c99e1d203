"""Run the stock nbgrader command line inside a course directory.

Every instructor step goes through the real ``nbgrader`` CLI (not private APIs), so what
the demo and the tests do is exactly what an instructor types. Private grading runs start
nbgrader through :mod:`cnn_course.grading.nbgrader_main` (the same ``__main__``, a second
sooner).
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

# stock nbgrader's command line, without one slow import that nothing uses (see nbgrader_main)
NBGRADER = (sys.executable, "-m", "cnn_course.grading.nbgrader_main")


@dataclass(frozen=True)
class Result:
    args: tuple[str, ...]
    returncode: int
    output: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def course_env() -> dict[str, str]:
    """The environment for nbgrader and its kernels.

    nbgrader calls helper programs (``alembic``) by name, so the folder of the running
    Python's scripts goes first on PATH; plots render off-screen.
    """
    env = dict(os.environ)
    bindir = str(Path(sys.executable).parent)
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    env.setdefault("MPLBACKEND", "Agg")
    env.setdefault("PYTHONWARNINGS", "ignore::DeprecationWarning")
    return env


def nbgrader(course: Path, *args: str, timeout: float | None = None, env: dict | None = None) -> Result:
    """Run ``nbgrader ARGS`` with ``course`` as the working directory (its nbgrader_config.py)."""
    proc = subprocess.run(
        (*NBGRADER, *args), cwd=course, env=env or course_env(), stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, timeout=timeout,
    )
    return Result(tuple(args), proc.returncode, proc.stdout)
