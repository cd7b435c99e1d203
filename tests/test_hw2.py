"""HW2 (source/hw2/hw2_cifar10.ipynb): trains, saves and grades a checkpoint.

The source notebook runs once, in a folder of its own, on generated data (the tests set
``CNNLIB_HW2_QUICK=1``: seconds of training on a CPU); its ``hw2_model.pt`` then goes
through grading: one ``cnn-course autograde`` run with the test set in a file only the
grader can read, for a hand-in with that checkpoint, one without, one with a cut-off file and
one with another network's weights; and ``nbgrader validate`` (NBGRADER_EXECUTION=validate).
"""

from __future__ import annotations

import os
import shutil

import nbformat
import numpy as np
import pytest
from conftest import RELEASE, SOURCE, cell_outputs, cnn_course, copy_course, execute

from cnn_course.demo import lecture as demo_class
from cnn_course.layout import Course
from cnn_course.nbgrader_run import nbgrader
from cnn_course.reports import report
from cnnlib.data import HW2_TEST_ENV, synthetic_cifar

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("hw2")]  # one worker trains and grades once

NB = SOURCE / "hw2" / "hw2_cifar10.ipynb"
TIERS = {f"hw2_accuracy_{t}" for t in (50, 60, 70, 80)}
UNUSABLE = {  # student -> what the four accuracy cells say: release/ is the Chinese edition (cnnlib's messages too)
    "without_model": "沒有 test accuracy：找不到 checkpoint hw2_model.pt",  # "no checkpoint at hw2_model.pt"
    "cut_off": "不是可以讀取的 PyTorch checkpoint",  # "is not a readable PyTorch checkpoint"
    "other_network": "裡的權重和 Net 對不上",  # "the weights in ... do not fit Net"
}


def write_test_set(path) -> None:
    """The grader's HW2 test set of these tests (generated images; labels only the grader reads)."""
    test = synthetic_cifar(1000, seed=1)
    np.savez(path, x=test.x, y=test.y)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The source notebook run top to bottom in a temporary folder: (folder, cells)."""
    folder = tmp_path_factory.mktemp("hw2-trained")
    shutil.copy(NB, folder / NB.name)
    nb = execute(folder / NB.name, timeout=300)
    return folder, cell_outputs(nb)


@pytest.fixture(scope="module")
def graded(trained, tmp_path_factory):
    """`cnn-course autograde hw2` of four hand-ins, with the test set in a folder only the grader enters."""
    tmp = tmp_path_factory.mktemp("hw2-graded")
    course = copy_course(tmp / "course", assignments=("hw2",))
    private = tmp / "instructor-only"
    private.mkdir(mode=0o700)
    write_test_set(private / "hw2_test.npz")
    release = nbformat.read(RELEASE / "hw2" / NB.name, as_version=4)
    answers = demo_class.fill_answers(release, nbformat.read(NB, as_version=4))
    saved = (trained[0] / "hw2_model.pt").read_bytes()
    from cnnlib.models import TutorialNet
    from cnnlib.train import save_checkpoint

    save_checkpoint(tmp / "other.pt", TutorialNet())
    checkpoints = {"with_model": saved, "without_model": None, "cut_off": saved[: len(saved) // 2],
                   "other_network": (tmp / "other.pt").read_bytes()}
    for sid, checkpoint in checkpoints.items():
        folder = course / "submitted" / sid / "hw2"
        folder.mkdir(parents=True)
        nbformat.write(answers, folder / NB.name)
        if checkpoint is not None:
            (folder / "hw2_model.pt").write_bytes(checkpoint)
    env = {k: v for k, v in os.environ.items() if k != "CNNLIB_HW2_QUICK"}
    env[HW2_TEST_ENV] = str(private / "hw2_test.npz")
    proc = cnn_course("autograde", "hw2", "--course", str(course), "--jobs", "2", env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    rows = {r.student_id: r for r in report.assignment_report(Course(course), "hw2")}
    outputs = {sid: cell_outputs(nbformat.read(course / "autograded" / sid / "hw2" / NB.name, as_version=4))
               for sid in checkpoints}
    return course, rows, outputs, saved


def test_source_notebook_trains_saves_and_passes_every_test(trained):
    folder, out = trained
    for gid, cell in out.items():
        assert not cell["errors"], f"{gid}: {cell['errors']}"
        assert not cell["stderr"], f"{gid} wrote to stderr: {cell['stderr']}"
    assert "GENERATED" in out["hw2_load_data"]["text"]  # says plainly that it is not CIFAR-10
    assert "device: cpu" in out["hw2_device_use"]["text"]  # the student's choose_device, on this machine
    assert "training Net" in out["hw2_train"]["text"] and "saved hw2_model.pt" in out["hw2_train"]["text"]
    assert "at most 15 minutes" in out["hw2_train"]["text"]  # TIME_BUDGET_MIN on a CPU
    assert (folder / "hw2_model.pt").stat().st_size > 10_000
    assert "test accuracy 8" in out["hw2_evaluate"]["text"] or "test accuracy 9" in out["hw2_evaluate"]["text"]


def test_grading_skips_training_and_grades_the_saved_checkpoint(graded):
    course, rows, outputs, saved = graded
    assert rows["with_model"].score == 60 and rows["with_model"].status == "graded", rows["with_model"]
    out = outputs["with_model"]
    assert "跳過訓練" in out["hw2_train"]["text"]  # "training skipped" in the Chinese edition (release/)
    assert (course / "autograded" / "with_model" / "hw2" / "hw2_model.pt").read_bytes() == saved  # not trained again
    for gid, cell in out.items():
        assert not cell["errors"], f"{gid}: {cell['errors']}"
        assert not cell["stderr"], f"{gid}: {cell['stderr']}"
    assert "評分程式在助教的 test set 上評估" in out["hw2_test_data"]["text"]  # the kernel loads no test set
    assert "test accuracy" in out["hw2_accuracy_80"]["text"]


@pytest.mark.parametrize("sid", sorted(UNUSABLE))
def test_unusable_checkpoint_zeroes_only_the_accuracy_cells(graded, sid):
    _, rows, outputs, _ = graded
    assert rows[sid].score == 40, rows[sid]
    out = outputs[sid]
    assert {gid for gid, c in out.items() if c["errors"]} == TIERS
    for gid in TIERS:
        (ename, evalue), = out[gid]["errors"]
        assert ename == "AssertionError" and UNUSABLE[sid] in evalue, (gid, evalue)
    for gid, cell in out.items():
        assert not cell["stderr"], f"{gid}: {cell['stderr']}"


def test_stock_nbgrader_gives_the_honest_hand_in_the_same_grades(graded, tmp_path):
    """The same hand-in and test set under plain `nbgrader autograde` (the course's config): same per-cell grades."""
    from test_autograde import grades_by_cell

    from cnn_course.nbgrader_run import course_env

    course = graded[0]
    stock = copy_course(tmp_path / "stock", assignments=("hw2",))
    shutil.copytree(course / "submitted" / "with_model", stock / "submitted" / "with_model")
    write_test_set(tmp_path / "hw2_test.npz")  # the graded run's test set
    env = {k: v for k, v in course_env().items() if k != "CNNLIB_HW2_QUICK"}
    env[HW2_TEST_ENV] = str(tmp_path / "hw2_test.npz")
    assert nbgrader(stock, "generate_assignment", "hw2", "--force", env=env).ok
    res = nbgrader(stock, "autograde", "hw2", "--force", env=env)
    assert res.ok, res.output[-3000:]
    want = grades_by_cell(Course(course).gradebook_url("hw2"), "hw2")
    got = grades_by_cell(f"sqlite:///{stock / 'gradebook.db'}", "hw2")
    assert got == {k: v for k, v in want.items() if k[0] == "with_model"} and sum(got.values()) == 60


def test_nbgrader_validate_passes_with_the_trained_checkpoint(trained, tmp_path, monkeypatch):
    shutil.copy(NB, tmp_path / NB.name)
    shutil.copy(trained[0] / "hw2_model.pt", tmp_path / "hw2_model.pt")
    monkeypatch.setenv(HW2_TEST_ENV, "synthetic")
    res = nbgrader(tmp_path, "validate", str(tmp_path / NB.name))
    assert res.ok, res.output[-3000:]
    assert "Success! Your notebook passes all the tests." in res.output


def test_release_refuses_a_checkpoint_left_in_source(tmp_path):
    """*.pt is not ignored (hand-ins keep theirs), so one in source/ would reach every student."""
    course = copy_course(tmp_path / "course")
    (course / "source" / "hw2" / "hw2_model.pt").write_bytes(b"instructor's weights")
    proc = cnn_course("release", "--course", str(course), timeout=120)
    assert proc.returncode == 1
    assert "model files in source/" in proc.stderr and "source/hw2/hw2_model.pt" in proc.stderr
    assert not (course / "release" / "hw2" / "hw2_model.pt").exists()
