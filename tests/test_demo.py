"""`cnn-course demo` end to end on a copy of the course: exact scores, hints, feedback, grades."""

from __future__ import annotations

import csv
import subprocess
import sys

import nbformat
import pytest
from conftest import grade_meta

from cnnlib.course import demo_class, report

pytestmark = pytest.mark.slow

# Exact expected scores of the demo class, per student: notebook stem -> points.
EXPECTED = {
    "ada_perfect": {"01_images_as_tensors": 20, "02_convolution_by_hand": 15, "03_stride_padding_channels": 20},
    "ben_untouched": {"01_images_as_tensors": 0, "02_convolution_by_hand": 0, "03_stride_padding_channels": 0},
    "cai_mistakes": {
        "01_images_as_tensors": 12,  # reshape (-4), channel mean for gray (-4)
        "02_convolution_by_hand": 6,  # the slide's typo copied (-3), kernel flipped (-6)
        "03_stride_padding_channels": 14,  # output size off by one (-3), padding forgotten (-3)
    },
    "dee_raises": {  # to_float raises AttributeError (-3)
        "01_images_as_tensors": 17, "02_convolution_by_hand": 15, "03_stride_padding_channels": 20,
    },
    "eve_broken": {"01_images_as_tensors": 0, "02_convolution_by_hand": 0, "03_stride_padding_channels": 0},
}
MAX_SCORE = sum(EXPECTED["ada_perfect"].values())

# What cai_mistakes is told, per failed test cell of notebooks 02 and 03: the hint names the mistake.
CAI_HINTS = {
    "02_convolution_by_hand": {
        "nb02_feature_map": "first wrong value at index (3, 2): expected 2, got 1 (1 of 16 values differ, "
                            "largest difference 1). Hint: copied the slide? Its feature map has a typo.",
        "nb02_conv2d_single": "conv2d_single(image, kernel) flips the kernel: you computed a true convolution "
                              "(kernel flipped by 180 degrees, as in signal processing); CNNs and PyTorch compute "
                              "cross-correlation: multiply each window by the kernel as it is, no flip",
    },
    "03_stride_padding_channels": {
        "nb03_output_size": "output_size(6, 3): first wrong value: expected 4, got 3 (1 of 1 values differ). "
                            "Hint: output size is (n + 2p - k) / s + 1, rounded down; off by one? The + 1 counts "
                            "the window's first position",
        "nb03_conv2d_padding": "conv2d(x1, w1, stride=2, padding=1): expected shape (1, 3, 3), got (1, 2, 2): "
                               "did you forget the padding (補零)?",
    },
}


@pytest.fixture(scope="module")
def graded_course(tmp_path_factory):
    from conftest import copy_course

    course = copy_course(tmp_path_factory.mktemp("demo") / "course")
    proc = subprocess.run(
        [sys.executable, "-m", "cnnlib.course", "demo", "--course", str(course)],
        capture_output=True, text=True, timeout=900,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return course, proc.stdout


def test_demo_scores_are_exact(graded_course):
    course, _ = graded_course
    rows = {r.student_id: r for r in report.assignment_report(course, "lecture")}
    assert set(rows) == set(EXPECTED)
    for sid, expected in EXPECTED.items():
        assert rows[sid].notebooks == pytest.approx(expected), sid
        assert rows[sid].score == sum(expected.values())
        assert rows[sid].max_score == MAX_SCORE


def test_broken_hand_in_gets_a_row_and_does_not_stop_the_others(graded_course):
    course, stdout = graded_course
    rows = {r.student_id: r for r in report.assignment_report(course, "lecture")}
    assert rows["eve_broken"].status == "invalid"
    assert "is not valid JSON" in rows["eve_broken"].reason
    assert all(rows[s].status == "graded" for s in EXPECTED if s != "eve_broken")
    assert "eve_broken" in stdout and "invalid" in stdout


def test_mistakes_get_hints_that_name_them(graded_course):
    course, _ = graded_course
    nb = nbformat.read(course / "autograded/cai_mistakes/lecture/01_images_as_tensors.ipynb", as_version=4)
    failed = {
        grade_meta(c)["grade_id"]: o.evalue
        for c in nb.cells if c.cell_type == "code" and grade_meta(c).get("grade")
        for o in c.outputs if o.output_type == "error"
    }
    assert set(failed) == {"nb01_to_chw", "nb01_grayscale"}
    assert "permute moves axes" in failed["nb01_to_chw"]
    assert "you averaged R, G and B equally" in failed["nb01_grayscale"]


@pytest.mark.parametrize("notebook", sorted(CAI_HINTS))
def test_lecture_02_03_mistakes_get_hints_that_name_them(graded_course, notebook):
    course, _ = graded_course
    nb = nbformat.read(course / f"autograded/cai_mistakes/lecture/{notebook}.ipynb", as_version=4)
    failed = {
        grade_meta(c)["grade_id"]: o.evalue
        for c in nb.cells if c.cell_type == "code" and grade_meta(c).get("grade")
        for o in c.outputs if o.output_type == "error"
    }
    assert set(failed) == set(CAI_HINTS[notebook])
    for gid, hint in CAI_HINTS[notebook].items():
        assert hint in failed[gid], (gid, failed[gid])


def test_raising_code_costs_only_the_cells_it_breaks(graded_course):
    course, _ = graded_course
    nb = nbformat.read(course / "autograded/dee_raises/lecture/01_images_as_tensors.ipynb", as_version=4)
    errors = {
        grade_meta(c)["grade_id"]: o.ename
        for c in nb.cells if c.cell_type == "code"
        for o in c.outputs if o.output_type == "error"
    }
    assert errors == {"nb01_to_float": "AttributeError", "nb01_fc_params_impl": "TypeError"}


def test_feedback_and_grades_csv_are_written(graded_course):
    course, stdout = graded_course
    for sid in EXPECTED:
        html = course / "feedback" / sid / "lecture" / "01_images_as_tensors.html"
        assert html.exists() == (sid != "eve_broken"), sid
    with open(course / "grades.csv", newline="") as fh:
        grades = {r["student_id"]: float(r["score"]) for r in csv.DictReader(fh) if r["assignment"] == "lecture"}
    for sid in ("ada_perfect", "ben_untouched", "cai_mistakes", "dee_raises"):
        assert grades[sid] == sum(EXPECTED[sid].values())
    assert "grades.csv" in stdout and "feedback" in stdout


def test_report_command_prints_and_writes_csv(graded_course, tmp_path):
    course, _ = graded_course
    out_csv = tmp_path / "lecture.csv"
    proc = subprocess.run(
        [sys.executable, "-m", "cnnlib.course", "report", "lecture", "--course", str(course), "--csv", str(out_csv)],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "ada_perfect" in proc.stdout and "invalid" in proc.stdout
    with open(out_csv, newline="") as fh:
        rows = {r["student_id"]: r for r in csv.DictReader(fh)}
    assert float(rows["cai_mistakes"]["score"]) == sum(EXPECTED["cai_mistakes"].values())
    assert rows["eve_broken"]["status"] == "invalid"


def test_report_rejects_unknown_assignment(graded_course):
    course, _ = graded_course
    proc = subprocess.run(
        [sys.executable, "-m", "cnnlib.course", "report", "hw9", "--course", str(course)],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2
    assert "unknown assignment 'hw9'; expected one of lecture, quiz" in proc.stderr


def test_cli_rejects_a_folder_that_is_not_a_course(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "cnnlib.course", "demo", "--course", str(tmp_path)],
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode != 0
    assert "expected nbgrader_config.py there" in proc.stderr


def test_perfect_hand_in_has_the_solutions_without_markers(tmp_path):
    from conftest import RELEASE, SOURCE

    rel = RELEASE / "lecture" / "01_images_as_tensors.ipynb"
    nb = demo_class.fill_answers(nbformat.read(rel, as_version=4),
                                 nbformat.read(SOURCE / "lecture" / rel.name, as_version=4))
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "BEGIN SOLUTION" not in code and "NotImplementedError" not in code
    assert "permute(2, 0, 1)" in code


def test_demo_grades_the_quiz_class_and_prints_its_item_analysis(graded_course):
    from cnnlib.course import quiz_class

    course, stdout = graded_course
    rows = {r.student_id: r for r in report.assignment_report(course, "quiz")}
    assert set(rows) == {s.student_id for s in quiz_class.QUIZ_STUDENTS}  # the lecture's five take no quiz
    assert rows["fay_full"].score == 20 and rows["gus_blank"].score == 0
    assert "Item analysis of 'quiz': 12 students graded, 20 points" in stdout
    with open(course / "grades.csv", newline="") as fh:
        quiz_grades = {r["student_id"]: float(r["score"]) for r in csv.DictReader(fh) if r["assignment"] == "quiz"}
    assert quiz_grades["fay_full"] == 20 and quiz_grades["hal_malformed"] == 8
    assert (course / "autograded" / "quiz_items.csv").exists() and (course / "autograded" / "quiz_items.png").exists()
