"""HW2 (source/hw2/hw2_cifar10.ipynb): trains, saves and grades a checkpoint.

The source notebook runs once, in a folder of its own, on generated data (the tests set
``CNNLIB_HW2_QUICK=1``: seconds of training on a CPU); its ``hw2_model.pt`` then goes
through what grading does: nbgrader's ``NBGRADER_EXECUTION`` (training skipped, the file
loaded), ``nbgrader validate``, a missing or broken file, and ``cnn-course autograde`` with
the test set in a file only the grader can read.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import numpy as np
import pytest
from conftest import RELEASE, SOURCE, copy_course, execute, grade_meta

from cnnlib.course import demo_class, report
from cnnlib.course.nbgrader_cli import nbgrader
from cnnlib.data import HW2_TEST_ENV, synthetic_cifar

pytestmark = pytest.mark.slow

NB = SOURCE / "hw2" / "hw2_cifar10.ipynb"
TIERS = {f"hw2_accuracy_{t}" for t in (50, 60, 70, 80)}


def cells(nb) -> dict[str, dict]:
    """grade_id -> {text (stdout), errors [(ename, evalue)], stderr, graded} of every code cell with an id."""
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


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The source notebook run top to bottom in a temporary folder: (folder, cells, seconds)."""
    folder = tmp_path_factory.mktemp("hw2-trained")
    shutil.copy(NB, folder / NB.name)
    t0 = time.perf_counter()
    nb = execute(folder / NB.name, timeout=300)
    return folder, cells(nb), time.perf_counter() - t0


def grade_like_nbgrader(folder: Path, monkeypatch, checkpoint: bytes | None):
    """The source notebook run as nbgrader runs it (NBGRADER_EXECUTION) beside ``checkpoint``."""
    shutil.copy(NB, folder / NB.name)
    if checkpoint is not None:
        (folder / "hw2_model.pt").write_bytes(checkpoint)
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    monkeypatch.setenv(HW2_TEST_ENV, "synthetic")
    return cells(execute(folder / NB.name, allow_errors=True))


def test_source_notebook_trains_saves_and_passes_every_test(trained):
    folder, out, seconds = trained
    for gid, cell in out.items():
        assert not cell["errors"], f"{gid}: {cell['errors']}"
        assert not cell["stderr"], f"{gid} wrote to stderr: {cell['stderr']}"
    assert "GENERATED" in out["hw2_load_data"]["text"]  # says plainly that it is not CIFAR-10
    assert "device: cpu" in out["hw2_setup"]["text"]
    assert "training Net" in out["hw2_train"]["text"] and "saved hw2_model.pt" in out["hw2_train"]["text"]
    assert (folder / "hw2_model.pt").stat().st_size > 10_000
    assert "test accuracy 8" in out["hw2_evaluate"]["text"] or "test accuracy 9" in out["hw2_evaluate"]["text"]
    assert seconds < 120, f"the quick run took {seconds:.0f} s"


def test_grading_skips_training_and_grades_the_saved_checkpoint(trained, tmp_path, monkeypatch):
    saved = (trained[0] / "hw2_model.pt").read_bytes()
    t0 = time.perf_counter()
    out = grade_like_nbgrader(tmp_path, monkeypatch, saved)
    seconds = time.perf_counter() - t0
    assert "training skipped" in out["hw2_train"]["text"]
    assert (tmp_path / "hw2_model.pt").read_bytes() == saved  # loaded, not trained again
    for gid, cell in out.items():
        assert not cell["errors"], f"{gid}: {cell['errors']}"
        assert not cell["stderr"], f"{gid}: {cell['stderr']}"
    assert "GENERATED" in out["hw2_test_data"]["text"]
    assert seconds < 30, f"grading one hand-in took {seconds:.0f} s"


@pytest.mark.parametrize("kind, message", [
    ("missing", "no test accuracy: no checkpoint at hw2_model.pt"),
    ("cut-off", "is not a readable PyTorch checkpoint"),
    ("other-network", "do not fit Net"),
])
def test_unusable_checkpoint_zeroes_only_the_accuracy_cells(trained, tmp_path, monkeypatch, kind, message):
    saved = (trained[0] / "hw2_model.pt").read_bytes()
    if kind == "missing":
        checkpoint = None
    elif kind == "cut-off":
        checkpoint = saved[: len(saved) // 2]
    else:
        from cnnlib.models import TutorialNet
        from cnnlib.train import save_checkpoint

        save_checkpoint(tmp_path / "other.pt", TutorialNet())
        checkpoint = (tmp_path / "other.pt").read_bytes()
    out = grade_like_nbgrader(tmp_path, monkeypatch, checkpoint)
    assert "NO USABLE CHECKPOINT" in out["hw2_evaluate"]["text"]
    failed = {gid for gid, c in out.items() if c["errors"]}
    assert failed == TIERS
    for gid in TIERS:
        (ename, evalue), = out[gid]["errors"]
        assert ename == "AssertionError" and message in evalue, (gid, evalue)
    for gid, cell in out.items():
        assert not cell["stderr"], f"{gid}: {cell['stderr']}"


def test_nbgrader_validate_passes_with_the_trained_checkpoint(trained, tmp_path, monkeypatch):
    shutil.copy(NB, tmp_path / NB.name)
    shutil.copy(trained[0] / "hw2_model.pt", tmp_path / "hw2_model.pt")
    monkeypatch.setenv(HW2_TEST_ENV, "synthetic")
    res = nbgrader(tmp_path, "validate", str(tmp_path / NB.name))
    assert res.ok, res.output[-3000:]
    assert "Success! Your notebook passes all the tests." in res.output


def test_cnn_course_autograde_gives_sandboxed_kernels_the_test_set(trained, tmp_path):
    """The test set named by $CNNLIB_HW2_TEST sits in a folder only the grader can enter."""
    course = copy_course(tmp_path / "course")
    for folder in ("source", "release"):
        for assignment in (course / folder).iterdir():
            if assignment.name != "hw2":
                shutil.rmtree(assignment)
    private = tmp_path / "instructor-only"
    private.mkdir(mode=0o700)
    test = synthetic_cifar(1000, seed=1)
    np.savez(private / "hw2_test.npz", x=test.x, y=test.y)
    release = nbformat.read(RELEASE / "hw2" / NB.name, as_version=4)
    answers = demo_class.fill_answers(release, nbformat.read(NB, as_version=4))
    for sid, with_checkpoint in (("with_model", True), ("without_model", False)):
        folder = course / "submitted" / sid / "hw2"
        folder.mkdir(parents=True)
        nbformat.write(answers, folder / NB.name)
        if with_checkpoint:
            shutil.copy(trained[0] / "hw2_model.pt", folder / "hw2_model.pt")
    env = {k: v for k, v in os.environ.items() if k != "CNNLIB_HW2_QUICK"}
    env[HW2_TEST_ENV] = str(private / "hw2_test.npz")
    proc = subprocess.run([sys.executable, "-m", "cnnlib.course", "autograde", "hw2", "--course", str(course)],
                          capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    rows = {r.student_id: r for r in report.assignment_report(course, "hw2")}
    assert rows["with_model"].score == 50, rows["with_model"]
    assert rows["without_model"].score == 30, rows["without_model"]
    graded = cells(nbformat.read(course / "autograded" / "with_model" / "hw2" / NB.name, as_version=4))
    assert "hw2_test.npz" in graded["hw2_test_data"]["text"]  # the grader's file, not the generated set


def test_release_refuses_a_checkpoint_left_in_source(tmp_path):
    """*.pt is not ignored (hand-ins keep theirs), so one in source/ would reach every student."""
    course = copy_course(tmp_path / "course")
    (course / "source" / "hw2" / "hw2_model.pt").write_bytes(b"instructor's weights")
    proc = subprocess.run([sys.executable, "-m", "cnnlib.course", "release", "--course", str(course)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert "model files in source/" in proc.stderr and "source/hw2/hw2_model.pt" in proc.stderr
    assert not (course / "release" / "hw2" / "hw2_model.pt").exists()
