"""Shared fixtures: the repository paths, a throw-away copy of the course, a notebook runner."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "source"
RELEASE = ROOT / "release"

# Kernels started by the tests import cnnlib from this checkout and plot off-screen.
os.environ["PYTHONPATH"] = str(ROOT) + (os.pathsep + os.environ["PYTHONPATH"] if os.environ.get("PYTHONPATH") else "")
os.environ["MPLBACKEND"] = "Agg"
# HW2 in the tests: generated data and seconds of training (see source/hw2's setup cell)
os.environ["CNNLIB_HW2_QUICK"] = "1"


def source_notebooks() -> list[Path]:
    return sorted(SOURCE.glob("*/*.ipynb"))


def release_notebooks() -> list[Path]:
    return sorted(RELEASE.glob("*/*.ipynb"))


def nb_id(path: Path) -> str:
    return f"{path.parent.name}/{path.stem}"


def grade_meta(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def execute(path: Path, allow_errors: bool = False, timeout: int = 120, cwd: Path | None = None):
    """Run a notebook top to bottom in a fresh kernel, in its own folder (or ``cwd``); return it executed."""
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, timeout=timeout, kernel_name="python3", allow_errors=allow_errors,
        resources={"metadata": {"path": str(cwd or path.parent)}},
    )
    client.execute()
    return nb


def copy_course(dest: Path, with_release: bool = True) -> Path:
    """A course directory like the repo's, without grading output: source/, config, release/."""
    shutil.copytree(SOURCE, dest / "source")
    if with_release:
        shutil.copytree(RELEASE, dest / "release")
    shutil.copy(ROOT / "nbgrader_config.py", dest / "nbgrader_config.py")
    return dest


@pytest.fixture
def course(tmp_path: Path) -> Path:
    return copy_course(tmp_path / "course")


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item (`item.rep_call.failed`), for fixtures that
    save evidence of a failure (the browser tests' screenshots)."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report
