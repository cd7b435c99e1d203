"""Shared fixtures: the repository paths, a throw-away copy of the course, the graded demo course.

The demo course (``graded_demo``) is graded once per test session: ``cnn-course demo`` on a
copy of the course regenerates ``release/``, hands in the demo classes (lecture, HW2, quiz)
and grades them with ``cnn-course autograde``. The demo, notebook and quiz tests all read that
one run: every notebook runs once per suite. Tests that use it carry the ``demo`` xdist group,
so that under ``pytest -n`` one worker grades it and runs them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
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


def cell_outputs(nb) -> dict[str, dict]:
    """grade_id -> {text (stdout), stderr, errors [(ename, evalue)], graded} of every code cell with an id."""
    out = {}
    for c in nb.cells:
        meta = grade_meta(c)
        if c.cell_type != "code" or not meta:
            continue
        out[meta["grade_id"]] = {
            "text": "".join(o.text for o in c.outputs if o.output_type == "stream" and o.name == "stdout"),
            "stderr": [o.text for o in c.outputs if o.output_type == "stream" and o.name == "stderr"],
            "errors": [(o.ename, o.evalue) for o in c.outputs if o.output_type == "error"],
            "graded": bool(meta.get("grade")),
        }
    return out


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


def copy_course(dest: Path, with_release: bool = True, assignments: tuple[str, ...] | None = None) -> Path:
    """A course directory like the repo's, without grading output: source/, config, release/."""
    keep = None if assignments is None else shutil.ignore_patterns(
        *[p.name for p in SOURCE.iterdir() if p.name not in assignments])
    shutil.copytree(SOURCE, dest / "source", ignore=keep)
    if with_release:
        shutil.copytree(RELEASE, dest / "release", ignore=keep)
        shutil.copytree(ROOT / "release-en", dest / "release-en", ignore=keep)
    shutil.copy(ROOT / "nbgrader_config.py", dest / "nbgrader_config.py")
    return dest


def cnn_course(*args: str, timeout: int = 900, env: dict | None = None) -> subprocess.CompletedProcess:
    """``cnn-course ARGS`` as an instructor types it (``python -m cnn_course``)."""
    return subprocess.run([sys.executable, "-m", "cnn_course", *args], capture_output=True, text=True,
                          timeout=timeout, env=env)


@pytest.fixture
def course(tmp_path: Path) -> Path:
    return copy_course(tmp_path / "course")


@dataclass(frozen=True)
class Demo:
    """The graded demo course: its folder, ``Course`` and what ``cnn-course demo`` printed."""

    root: Path
    stdout: str

    @property
    def course(self):
        from cnn_course.layout import Course

        return Course(self.root)

    def graded(self, student: str, assignment: str, notebook: str):
        return nbformat.read(self.root / "autograded" / student / assignment / f"{notebook}.ipynb", as_version=4)


DEMO_TIMEOUT_S = 20  # per-cell limit of the graded demo course (the course's own config says 60 s)


def _graded_once(tmp_path_factory, what: str) -> None:
    """Fail if another xdist worker already built ``what``: its tests must share one xdist group."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker is None:
        return
    shared = tmp_path_factory.getbasetemp().parent
    others = [p.name for p in shared.glob(f"{what}-built-by-*") if p.name != f"{what}-built-by-{worker}"]
    assert not others, (f"{what} was built by two workers ({others}, {worker}): its tests must carry "
                        f"xdist_group({what!r}) and run with --dist loadgroup (pytest<9 with xdist 3.8)")
    (shared / f"{what}-built-by-{worker}").touch()


@pytest.fixture(scope="session")
def graded_demo(tmp_path_factory) -> Demo:
    _graded_once(tmp_path_factory, "demo")
    root = copy_course(tmp_path_factory.mktemp("demo") / "course")
    with open(root / "nbgrader_config.py", "a", encoding="utf-8") as fh:  # tia_loops waits this long, not 60 s
        fh.write(f"\nc.Execute.timeout = {DEMO_TIMEOUT_S}\n")
    proc = cnn_course("demo", "--course", str(root), timeout=1200)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return Demo(root, proc.stdout)


def pytest_collection_modifyitems(config, items):
    """Tests marked ``requires_root`` are skipped, saying so, when the suite does not run as root."""
    if os.geteuid() == 0:
        return
    skip = pytest.mark.skip(reason="needs root (sandbox users, a PostgreSQL server's own user)")
    for item in items:
        if "requires_root" in item.keywords:
            item.add_marker(skip)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item (`item.rep_call.failed`), for fixtures that
    save evidence of a failure (the browser tests' screenshots)."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report
