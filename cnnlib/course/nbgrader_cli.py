"""Run the stock nbgrader command line inside a course directory.

Every instructor step goes through the real ``nbgrader`` CLI (not private APIs), so
what the demo and the tests do is exactly what an instructor types.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path


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
    # cnnlib must import from this checkout in student kernels too.
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def nbgrader(course: Path, *args: str, timeout: float | None = None) -> Result:
    """Run ``nbgrader ARGS`` with ``course`` as the working directory (its nbgrader_config.py)."""
    cmd = (sys.executable, "-m", "nbgrader", *args)
    proc = subprocess.run(
        cmd,
        cwd=course,
        env=course_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
    )
    return Result(tuple(args), proc.returncode, proc.stdout)


def assignments(course: Path) -> list[str]:
    """Assignment names: the folders under ``source/`` that hold notebooks."""
    src = course / "source"
    return sorted(p.name for p in src.iterdir() if p.is_dir() and any(p.glob("*.ipynb")))
