"""`cnn-course autograde --db postgresql+psycopg2://...` against a real PostgreSQL server.

The test starts Debian's PostgreSQL (installing the ``postgresql`` package first when its
binaries are missing and it runs as root, as in CI) on 127.0.0.1 and a socket in a
temporary folder, grades the demo class into it, compares every grade with what the SQLite
gradebook gets, reads it back with ``cnn-course report`` (rows and ``--items``), and stops
the server.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest
from conftest import cnn_course
from test_autograde import grades_by_cell, make_course

from cnn_course.demo import lecture as demo_class
from cnn_course.layout import Course
from cnn_course.reports import items, report

pytestmark = [pytest.mark.slow, pytest.mark.requires_root]


def pg_bindir() -> Path:
    """Folder of initdb/pg_ctl; installs Debian's postgresql when missing (root only)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found and os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], env=env, check=False, capture_output=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "postgresql"], env=env, check=True, capture_output=True)
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        pytest.fail("PostgreSQL binaries are missing: install Debian's `postgresql` package (see .ci/run)")
    return Path(found[-1]).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def postgres():
    bindir = pg_bindir()
    base = Path(tempfile.mkdtemp(prefix="cnn-pg-"))  # outside pytest's 0700 folders: the server's user enters it
    data, sock = base / "data", base / "sock"
    sock.mkdir()
    os.chmod(base, 0o755)
    user = "postgres" if os.geteuid() == 0 else None  # initdb refuses to run as root
    for p in (base, sock):
        if user:
            shutil.chown(p, user)
    port = free_port()

    def run(*cmd):
        return subprocess.run(cmd, user=user, capture_output=True, text=True, check=True, timeout=120)

    run(str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync")
    run(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(base / "server.log"), "-w", "start", "-o",
        f"-p {port} -k {sock} -c listen_addresses=127.0.0.1 -c fsync=off")
    try:
        run(str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "gradebook")
        yield f"postgresql+psycopg2://postgres@127.0.0.1:{port}/gradebook"
    finally:
        run(str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(base, ignore_errors=True)


def pg_grades(url: str) -> dict:
    from nbgrader.api import Gradebook

    out = {}
    with Gradebook(url) as gb:
        for sub in gb.assignment_submissions("lecture"):
            for nb in sub.notebooks:
                for g in nb.grades:
                    out[(sub.student_id, g.name)] = g.score
    return out


# Per-cell grades of the demo class: what stock nbgrader and `cnn-course autograde` with SQLite
# give (tests/test_autograde.py::test_scores_equal_stock_nbgrader_serial_and_parallel checks that).
POINTS = {"nb01_shapes": 2, "nb01_to_chw": 4, "nb01_to_float": 3, "nb01_grayscale": 4, "nb01_cifar_batch": 2}
FAILED = {"ada_perfect": set(), "ben_untouched": set(POINTS), "cai_mistakes": {"nb01_to_chw", "nb01_grayscale"},
          "dee_raises": {"nb01_to_float"}, "eve_broken": set(POINTS)}
SQLITE_GRADES = {(sid, cell): 0.0 if cell in failed else float(pts)
                 for sid, failed in FAILED.items() for cell, pts in POINTS.items()}


def test_postgres_gradebook_gets_the_same_grades_as_sqlite(postgres, tmp_path):
    course = make_course(tmp_path / "course")
    demo_class.create_demo_class(course, "lecture", students=demo_class.DEMO_STUDENTS[:5])  # ada ... eve
    proc = cnn_course("autograde", "lecture", "--course", str(course), "--jobs", "2", "--db", postgres)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert pg_grades(postgres) == SQLITE_GRADES
    assert grades_by_cell(f"sqlite:///{course / 'gradebook.db'}") == {}  # nothing went to the course's SQLite
    # the report reads the gradebook the last autograde used: PostgreSQL here
    proc = cnn_course("report", "lecture", "--course", str(course), timeout=120)
    assert proc.returncode == 0, proc.stderr
    rows = [(r.student_id, r.score, r.status) for r in report.assignment_report(Course(course), "lecture")]
    assert rows == [("ada_perfect", 15.0, "graded"), ("ben_untouched", 0.0, "graded"),
                    ("cai_mistakes", 7.0, "graded"), ("dee_raises", 12.0, "graded"),
                    ("eve_broken", 0.0, "invalid")]
    # --items reads the same gradebook (it used to open an empty SQLite file instead)
    proc = cnn_course("report", "lecture", "--items", "--course", str(course), timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "Item analysis of 'lecture': 4 students graded, 15 points" in proc.stdout
    found = {it.grade_id: (it.right, it.wrong) for it in items.item_analysis(Course(course), "lecture")[0]}
    assert found["nb01_to_chw"] == (2, 2)  # ada and dee right; ben and cai wrong (eve: not graded)
    assert found["nb01_shapes"] == (3, 1)
